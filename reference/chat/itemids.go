package chat

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/smpkit/smpkit/reference/db"
)

// Item ids are never reused. The item tables were made with a plain
// INTEGER PRIMARY KEY, whose next id is the largest present plus one: once
// the newest item is deleted (an expired disappearing message, a local
// deletion), the next item got its id, and anything still naming the old
// one (a task setting the agent message id of a sent item, an application
// holding the id of an ItemExpired event) hit the new item. AUTOINCREMENT
// keeps the largest id ever used (sqlite_sequence). SQLite cannot add it to
// a table, so the migration makes each table again.
var itemIDsMigration = db.Migration{
	Name: "item ids never reused",
	Func: func(tx *db.Tx) error {
		for _, t := range []string{"chat_items", "chat_group_items"} {
			if err := recreateAutoincrement(tx, t); err != nil {
				return fmt.Errorf("%s: %w", t, err)
			}
		}
		return nil
	},
}

var idPrimaryKey = regexp.MustCompile(`(?i)\bid\s+INTEGER\s+PRIMARY\s+KEY\b`)

// recreateAutoincrement makes table again with its id column
// AUTOINCREMENT, keeping its columns (those added by ALTER TABLE
// included, as sqlite_master has them), rows, indexes and the rows of the
// tables that refer to it.
//
// Migrations run in one transaction with foreign keys on, and inside a
// transaction they cannot be turned off: dropping the old table deletes
// (or nulls) the referring rows by their ON DELETE actions. So those rows
// are kept aside first and put back once the new table has the old one's
// name. A referring table that is itself referred to is refused, as
// putting its rows back could not restore its own referrers.
func recreateAutoincrement(tx *db.Tx, table string) error {
	var create string
	if err := tx.QueryRow(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&create); err != nil {
		return err
	}
	if strings.Contains(strings.ToUpper(create), "AUTOINCREMENT") {
		return nil
	}
	loc := idPrimaryKey.FindStringIndex(create)
	prefix := "CREATE TABLE " + table
	if loc == nil || !strings.HasPrefix(create, prefix) {
		return fmt.Errorf("unexpected table definition %q", create)
	}
	tmp := table + "_new"
	create = "CREATE TABLE " + tmp + create[len(prefix):loc[1]] + " AUTOINCREMENT" + create[loc[1]:]
	extras, err := column[string](tx, `SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY rowid`, table)
	if err != nil {
		return err
	}
	cols, err := column[string](tx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return err
	}
	children, err := column[string](tx, `SELECT DISTINCT m.name FROM sqlite_master m, pragma_foreign_key_list(m.name) f
		WHERE m.type = 'table' AND f."table" = ? AND m.name != ?`, table, table)
	if err != nil {
		return err
	}
	for _, ch := range children {
		var n int
		if err := tx.QueryRow(`SELECT count(*) FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table' AND f."table" = ?`, ch).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%s refers to %s and is referred to: cannot keep its rows", ch, table)
		}
	}
	list := `"` + strings.Join(cols, `", "`) + `"`
	stmts := []string{create, fmt.Sprintf(`INSERT INTO %q (%s) SELECT %s FROM %q`, tmp, list, list, table)}
	for _, ch := range children {
		stmts = append(stmts, fmt.Sprintf(`CREATE TABLE %q AS SELECT * FROM %q`, ch+"_keep", ch))
	}
	stmts = append(stmts, fmt.Sprintf(`DROP TABLE %q`, table), fmt.Sprintf(`ALTER TABLE %q RENAME TO %q`, tmp, table))
	stmts = append(stmts, extras...)
	for _, ch := range children {
		stmts = append(stmts,
			fmt.Sprintf(`DELETE FROM %q`, ch), // rows an ON DELETE SET NULL kept
			fmt.Sprintf(`INSERT INTO %q SELECT * FROM %q`, ch, ch+"_keep"),
			fmt.Sprintf(`DROP TABLE %q`, ch+"_keep"))
	}
	for _, s := range stmts {
		if _, err := tx.Exec(s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/chatarchive"
	"github.com/smpkit/smpkit/reference/db"
)

// Moving a profile to another device (spec/chat.md §12). The archive holds
// the user's agent database, table by table, and the user's rows of the
// chat database: the rows reachable from its chat_users row through
// foreign keys. On import the agent rows are copied as they are (the agent
// database is the user's alone), and the chat rows get fresh ids, with
// every foreign key, and the id references listed in idRefs, moved along.

// idRefs are the columns that hold ids of another chat table without a
// foreign key: import moves them with the rows they name (0, which these
// columns use for "none" or "ours", stays 0). A table without a foreign
// key path to chat_users moves only if it has a conn_id column (its rows
// of the user's connections) and no foreign key (whose ids would need
// moving): otherwise it is not moved.
var idRefs = map[string]map[string]string{
	"chat_items":           {"quote_id": "chat_items"},
	"chat_group_items":     {"moderated_by": "chat_members"},
	"chat_group_reactions": {"member": "chat_members"},
}

type fkey struct{ col, parent, to string }

// schemaInfo is what export and import read of a database's tables.
type schemaInfo struct {
	tables []string          // user tables, in creation order
	fks    map[string][]fkey // foreign keys by table
	pk     map[string]string // the INTEGER PRIMARY KEY column, if any
}

func readSchema(tx *db.Tx) (schemaInfo, error) {
	s := schemaInfo{fks: map[string][]fkey{}, pk: map[string]string{}}
	names, err := column[string](tx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'db_migrations'
		AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY rowid`)
	if err != nil {
		return s, err
	}
	s.tables = names
	for _, t := range names {
		rows, err := tx.Query(`SELECT "table", "from", coalesce("to", '') FROM pragma_foreign_key_list(?)`, t)
		if err != nil {
			return s, err
		}
		for rows.Next() {
			var k fkey
			if err := rows.Scan(&k.parent, &k.col, &k.to); err != nil {
				rows.Close()
				return s, err
			}
			if k.parent != t {
				s.fks[t] = append(s.fks[t], k)
			}
		}
		rows.Close()
		var pks []string
		var typ string
		rows, err = tx.Query(`SELECT name, upper(type) FROM pragma_table_info(?) WHERE pk > 0`, t)
		if err != nil {
			return s, err
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n, &typ); err != nil {
				rows.Close()
				return s, err
			}
			pks = append(pks, n)
		}
		rows.Close()
		if len(pks) == 1 && typ == "INTEGER" {
			s.pk[t] = pks[0]
		}
	}
	return s, nil
}

// userTables orders the tables whose rows belong to a user (reachable
// from chat_users through foreign keys), parents first, with the SQL
// condition that selects the user's rows of each.
func (s schemaInfo) userTables(userID int64) ([]string, map[string]string) {
	cond := map[string]string{"chat_users": fmt.Sprintf(`"id" = %d`, userID)}
	order := []string{"chat_users"}
	for changed := true; changed; {
		changed = false
		for _, t := range s.tables {
			if _, done := cond[t]; done {
				continue
			}
			var ors []string
			ready := true
			for _, k := range s.fks[t] {
				if !s.reaches(k.parent) {
					continue
				}
				pc, ok := cond[k.parent]
				if !ok {
					ready = false
					break
				}
				to := k.to
				if to == "" {
					to = s.pk[k.parent]
				}
				ors = append(ors, fmt.Sprintf(`%q IN (SELECT %q FROM %q WHERE %s)`, k.col, to, k.parent, pc))
			}
			if ready && len(ors) > 0 {
				cond[t] = "(" + strings.Join(ors, " OR ") + ")"
				order = append(order, t)
				changed = true
			}
		}
	}
	return order, cond
}

// reaches reports whether t is chat_users or has a foreign key path to it.
func (s schemaInfo) reaches(t string) bool {
	seen := map[string]bool{}
	var walk func(string) bool
	walk = func(t string) bool {
		if t == "chat_users" {
			return true
		}
		if seen[t] {
			return false
		}
		seen[t] = true
		for _, k := range s.fks[t] {
			if walk(k.parent) {
				return true
			}
		}
		return false
	}
	return walk(t)
}

func dumpTable(tx *db.Tx, dbName, name, where, pk string) (chatarchive.Table, error) {
	t := chatarchive.Table{DB: dbName, Name: name}
	q := fmt.Sprintf(`SELECT * FROM %q`, name)
	if where != "" {
		q += " WHERE " + where
	}
	if pk != "" {
		q += fmt.Sprintf(` ORDER BY %q`, pk)
	}
	rows, err := tx.Query(q)
	if err != nil {
		return t, fmt.Errorf("chat: archive: %s: %w", name, err)
	}
	defer rows.Close()
	if t.Columns, err = rows.Columns(); err != nil {
		return t, err
	}
	for rows.Next() {
		vals := make([]any, len(t.Columns))
		ptrs := make([]any, len(t.Columns))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return t, err
		}
		for i, v := range vals {
			// The driver's conveniences back to SQLite's storage classes.
			switch x := v.(type) {
			case bool:
				vals[i] = map[bool]int64{false: 0, true: 1}[x]
			case time.Time:
				vals[i] = x.Format(time.RFC3339Nano)
			}
		}
		t.Rows = append(t.Rows, vals)
	}
	return t, rows.Err()
}

// connIDs calls fn with each row's conn_id value (a string), if the table
// has that column.
func connIDs(t chatarchive.Table, fn func(row int, id string)) {
	for c, name := range t.Columns {
		if name != "conn_id" {
			continue
		}
		for i, row := range t.Rows {
			if id, ok := row[c].(string); ok {
				fn(i, id)
			}
		}
	}
}

// ExportProfile moves a user to another device: it writes to w one archive
// with the user's profile, contacts, groups, history and agent state,
// encrypted under a fresh random key, and returns the migration link
// (smpkit-migrate:?v=1&key=...) that carries the key, to show as a QR code
// (CH-DEV-1, CH-DEV-4). The archive and the link go to the other device
// separately; ImportProfile there continues the user's conversations.
//
// From the moment it is called the user is moved here: its agent is
// stopped and never started again, and calls for it fail with
// ErrUserMoved (CH-DEV-2), because its ratchets and queues now belong to
// the other device. If it was active, the first visible user becomes
// active, if there is one. Only DeleteUser works on it; that leaves its
// connections alone. If writing the archive fails, the user is restored
// and runs again.
func (c *Client) ExportProfile(ctx context.Context, userID int64, w io.Writer) (link string, err error) {
	var u userRow
	if err := c.db.View(ctx, func(tx *db.Tx) error {
		var err error
		u, err = loadUser(tx, userID)
		return err
	}); err != nil {
		return "", err
	}
	if u.Moved {
		return "", fmt.Errorf("chat: user %d: %w", userID, ErrUserMoved)
	}
	if !u.unlocked("") {
		return "", fmt.Errorf("chat: user %d: %w", userID, ErrUserUnknown)
	}
	key := make([]byte, chatarchive.KeySize)
	if _, err := io.ReadFull(c.cfg.Rand, key); err != nil {
		return "", err
	}
	ua, err := c.user(userID)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	delete(c.users, userID)
	c.moved[userID] = true
	c.mu.Unlock()
	if err := ua.close(); err != nil {
		c.cfg.Log.Debug("chat: export: stop agent", "user", userID, "err", err)
	}
	// Calls that took the user before it was moved finish before the dump
	// or wait until it is written (then their agent is closed).
	ua.mu.Lock()
	defer ua.mu.Unlock()
	if err := c.db.Update(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(`UPDATE chat_users SET moved_at = ?, active = 0 WHERE id = ?`, time.Now().Unix(), userID); err != nil {
			return err
		}
		if !u.Active {
			return nil
		}
		// Another visible user, if any, becomes active in its place.
		_, err := tx.Exec(`UPDATE chat_users SET active = 1 WHERE id = (SELECT min(id) FROM chat_users
			WHERE view_pwd_hash IS NULL AND moved_at IS NULL)`)
		return err
	}); err != nil {
		return "", c.unmove(ctx, u, err)
	}
	if err := c.writeArchive(ctx, u, key, w); err != nil {
		return "", c.unmove(ctx, u, err)
	}
	return chatarchive.Link(key), nil
}

// TakeBackProfile runs an exported user here again, for an archive that
// was lost or never imported (an export cut short by a crash leaves the
// user moved). Only the user can know that: once another device has run
// the profile, this copy's ratchets are stale and its subscriptions race
// the other device's, so running both breaks the conversations (CH-DEV-2).
func (c *Client) TakeBackProfile(ctx context.Context, userID int64) error {
	var u userRow
	if err := c.db.View(ctx, func(tx *db.Tx) error {
		var err error
		u, err = loadUser(tx, userID)
		return err
	}); err != nil {
		return err
	}
	if !u.Moved {
		return fmt.Errorf("chat: user %d was not moved", userID)
	}
	u.Active = false
	if err := c.unmove(ctx, u, nil); err != nil {
		return fmt.Errorf("chat: take back user %d: %w", userID, err)
	}
	return nil
}

// unmove restores a user whose export failed (cause) or that the user
// takes back (no cause).
func (c *Client) unmove(ctx context.Context, u userRow, cause error) error {
	ctx = context.WithoutCancel(ctx)
	err := c.db.Update(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(`UPDATE chat_users SET moved_at = NULL WHERE id = ?`, u.ID); err != nil {
			return err
		}
		if !u.Active {
			return nil
		}
		_, err := tx.Exec(`UPDATE chat_users SET active = (id = ?)`, u.ID)
		return err
	})
	c.mu.Lock()
	delete(c.moved, u.ID)
	c.mu.Unlock()
	if err == nil {
		err = c.startUser(ctx, u.ID)
	}
	if cause == nil {
		return err
	}
	return errors.Join(fmt.Errorf("chat: export: %w", cause), err)
}

func (c *Client) writeArchive(ctx context.Context, u userRow, key []byte, w io.Writer) error {
	path := filepath.Join(c.agentDir(u.ID), "agent.db")
	if _, err := os.Stat(path); err != nil {
		return err // never an empty agent in its place
	}
	ad, err := db.Open(ctx, path, c.cfg.Passphrase, c.cfg.DBOptions)
	if err != nil {
		return err
	}
	defer ad.Close()
	var tables []chatarchive.Table
	schema := map[string]int{}
	if schema["agent"], err = ad.Version(ctx, "agent"); err != nil {
		return err
	}
	if schema["chat"], err = c.db.Version(ctx, "chat"); err != nil {
		return err
	}
	err = ad.View(ctx, func(tx *db.Tx) error {
		s, err := readSchema(tx)
		if err != nil {
			return err
		}
		if n, _ := column[string](tx, `SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'`); len(n) > 0 {
			s.tables = append(s.tables, "sqlite_sequence")
		}
		for _, name := range s.tables {
			t, err := dumpTable(tx, "agent", name, "", s.pk[name])
			if err != nil {
				return err
			}
			tables = append(tables, t)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = c.db.View(ctx, func(tx *db.Tx) error {
		s, err := readSchema(tx)
		if err != nil {
			return err
		}
		order, cond := s.userTables(u.ID)
		conns := map[string]bool{} // the user's agent connections
		for _, name := range order {
			t, err := dumpTable(tx, "chat", name, cond[name], s.pk[name])
			if err != nil {
				return err
			}
			tables = append(tables, t)
			connIDs(t, func(i int, id string) { conns[id] = true })
		}
		// A table without a foreign key path but with a conn_id column is
		// the user's where the connection is.
		for _, name := range s.tables {
			if _, done := cond[name]; done {
				continue
			}
			t, err := dumpTable(tx, "chat", name, "", s.pk[name])
			if err != nil {
				return err
			}
			var rows [][]any
			connIDs(t, func(i int, id string) {
				if conns[id] {
					rows = append(rows, t.Rows[i])
				}
			})
			if t.Rows = rows; len(rows) > 0 && len(s.fks[name]) == 0 {
				tables = append(tables, t)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return chatarchive.Write(w, key, c.cfg.Rand, &chatarchive.Archive{Name: u.Profile.DisplayName, Schema: schema, Tables: tables})
}

// ImportProfile adds the user of an archive made by ExportProfile, given
// its migration link, and starts it: its conversations continue from
// this client. The user keeps its profile, contacts, groups, history and
// agent state; it is active if no other user is. An archive that does not
// authenticate under the link's key is ErrArchive; one from a program
// with another schema is refused too. Nothing is kept of a failed import.
func (c *Client) ImportProfile(ctx context.Context, archive io.Reader, link string) (User, error) {
	key, err := chatarchive.ParseLink(link)
	if err != nil {
		return User{}, err
	}
	arch, err := chatarchive.Read(archive, key)
	if err != nil {
		return User{}, err
	}
	if n := len(arch.Tables); n == 0 || arch.Tables[n-1].DB != "chat" {
		return User{}, fmt.Errorf("%w: no chat rows", ErrArchive)
	}
	head, tables := arch, arch.Tables
	chatV, err := c.db.Version(ctx, "chat")
	if err != nil {
		return User{}, err
	}
	if head.Schema["chat"] != chatV {
		return User{}, fmt.Errorf("chat: import: archive of chat schema %d, this program has %d", head.Schema["chat"], chatV)
	}
	tmp, err := os.MkdirTemp(c.cfg.Dir, "import-")
	if err != nil {
		return User{}, fmt.Errorf("chat: import: %w", err)
	}
	defer os.RemoveAll(tmp) // renamed away on success
	if err := c.importAgent(ctx, tmp, head, tables); err != nil {
		return User{}, fmt.Errorf("chat: import: agent: %w", err)
	}
	var u User
	err = c.db.Update(ctx, func(tx *db.Tx) error {
		var err error
		if u, err = insertChatRows(tx, tables); err != nil {
			return err
		}
		// The agent directory takes its name from the new id; the rename
		// is undone below if the commit fails.
		return os.Rename(tmp, c.agentDir(u.ID))
	})
	if err != nil {
		if u.ID != 0 {
			os.RemoveAll(c.agentDir(u.ID))
		}
		return User{}, fmt.Errorf("chat: import: %w", err)
	}
	if err := c.startUser(ctx, u.ID); err != nil {
		return User{}, err
	}
	return u, nil
}

// importAgent makes the user's agent database in dir under this client's
// passphrase and fills it with the archive's agent rows.
func (c *Client) importAgent(ctx context.Context, dir string, head *chatarchive.Archive, tables []chatarchive.Table) error {
	a, err := agent.New(ctx, agent.Config{Dir: dir, Passphrase: c.cfg.Passphrase, DBOptions: c.cfg.DBOptions, Relay: c.cfg.Relay, Client: c.cfg.Client, Rand: c.cfg.Rand})
	if err != nil {
		return err
	}
	if err := a.Close(); err != nil {
		return err
	}
	ad, err := db.Open(ctx, filepath.Join(dir, "agent.db"), c.cfg.Passphrase, c.cfg.DBOptions)
	if err != nil {
		return err
	}
	defer ad.Close()
	v, err := ad.Version(ctx, "agent")
	if err != nil {
		return err
	}
	if head.Schema["agent"] != v {
		return fmt.Errorf("archive of agent schema %d, this program has %d", head.Schema["agent"], v)
	}
	return ad.Update(ctx, func(tx *db.Tx) error {
		for _, t := range tables {
			if t.DB != "agent" {
				continue
			}
			if _, err := tx.Exec(fmt.Sprintf(`DELETE FROM %q`, t.Name)); err != nil {
				return fmt.Errorf("%s: %w", t.Name, err)
			}
			if err := insertRows(tx, t, nil); err != nil {
				return err
			}
		}
		return nil
	})
}

func insertRows(tx *db.Tx, t chatarchive.Table, fix func(row []any) error) error {
	cols := make([]string, len(t.Columns))
	marks := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i], marks[i] = strconv.Quote(c), "?"
	}
	q := fmt.Sprintf(`INSERT INTO %q (%s) VALUES (%s)`, t.Name, strings.Join(cols, ", "), strings.Join(marks, ", "))
	for _, row := range t.Rows {
		if fix != nil {
			if err := fix(row); err != nil {
				return fmt.Errorf("%s: %w", t.Name, err)
			}
		}
		if _, err := tx.Exec(q, row...); err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
	}
	return nil
}

// insertChatRows adds the archive's chat rows with fresh ids: each
// table's ids move by the table's current largest id, and so do the
// columns that refer to them.
func insertChatRows(tx *db.Tx, tables []chatarchive.Table) (User, error) {
	s, err := readSchema(tx)
	if err != nil {
		return User{}, err
	}
	known := map[string]bool{}
	for _, t := range s.tables {
		known[t] = true
	}
	off := map[string]int64{}
	for t, pk := range s.pk {
		var m int64
		if err := tx.QueryRow(fmt.Sprintf(`SELECT coalesce(max(%q), 0) FROM %q`, pk, t)).Scan(&m); err != nil {
			return User{}, err
		}
		// An AUTOINCREMENT table never reuses an id, deleted rows'
		// included: the moved ids start above the largest ever used.
		var seq int64
		if err := tx.QueryRow(`SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?), 0)`, t).Scan(&seq); err != nil {
			return User{}, err
		}
		off[t] = max(m, seq)
	}
	var noActive bool
	if err := tx.QueryRow(`SELECT count(*) = 0 FROM chat_users WHERE active = 1`).Scan(&noActive); err != nil {
		return User{}, err
	}
	shift := func(v any, t string) (any, error) {
		if v == nil {
			return nil, nil
		}
		n, ok := v.(int64)
		if !ok {
			return nil, fmt.Errorf("id of %s is %T", t, v)
		}
		if n == 0 {
			return n, nil
		}
		return n + off[t], nil
	}
	var userID int64
	for _, t := range tables {
		if t.DB != "chat" {
			continue
		}
		if !known[t.Name] {
			return User{}, fmt.Errorf("table %s unknown here", t.Name)
		}
		refs := map[int]string{} // column index: the table its ids name
		for i, col := range t.Columns {
			if col == s.pk[t.Name] {
				refs[i] = t.Name
			}
			for _, k := range s.fks[t.Name] {
				if k.col == col && (k.to == "" || k.to == s.pk[k.parent]) {
					refs[i] = k.parent
				}
			}
			if p, ok := idRefs[t.Name][col]; ok {
				refs[i] = p
			}
		}
		err := insertRows(tx, t, func(row []any) error {
			for i, p := range refs {
				v, err := shift(row[i], p)
				if err != nil {
					return err
				}
				row[i] = v
			}
			for i, col := range t.Columns {
				switch {
				case t.Name == "chat_users" && col == "active":
					row[i] = noActive
				case t.Name == "chat_users" && col == "moved_at":
					row[i] = nil
				case t.Name == "chat_users" && col == "id":
					userID = row[i].(int64)
				case t.Name == "chat_users" && col == "name":
					name, _ := row[i].(string)
					if err := nameFree(tx, name, 0); err != nil {
						return err
					}
				case t.Name == "chat_tasks" && col == "task":
					b, err := shiftTask(row[i], off)
					if err != nil {
						return err
					}
					row[i] = b
				}
			}
			return nil
		})
		if err != nil {
			return User{}, err
		}
	}
	if userID == 0 {
		return User{}, fmt.Errorf("%w: no user row", ErrArchive)
	}
	u, err := loadUser(tx, userID)
	return u.User, err
}

// shiftTask moves the ids a task names (tasks.go) with their rows.
func shiftTask(v any, off map[string]int64) ([]byte, error) {
	b, ok := v.([]byte)
	if !ok {
		if s, isStr := v.(string); isStr {
			b = []byte(s)
		} else {
			return nil, fmt.Errorf("task of type %T", v)
		}
	}
	var t task
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, err
	}
	move := func(id *int64, table string) {
		if *id != 0 {
			*id += off[table]
		}
	}
	move(&t.Item, "chat_items")
	move(&t.DelContact, "chat_contacts")
	move(&t.DelMember, "chat_members")
	move(&t.Member, "chat_members")
	move(&t.Group, "chat_groups")
	return json.Marshal(t)
}

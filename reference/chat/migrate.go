package chat

import (
	"bufio"
	"bytes"
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
	"github.com/smpkit/smpkit/reference/db"
)

// Moving a profile to another device (spec/chat.md §12). The archive holds
// the user's agent database, table by table, and the user's rows of the
// chat database: the rows reachable from its chat_users row through
// foreign keys. On import the agent rows are copied as they are (the agent
// database is the user's alone), and the chat rows get fresh ids, with
// every foreign key, and the id references listed in idRefs, moved along.

// archiveFormat is the plaintext's format version (the header record's
// "format").
const archiveFormat = 1

// idRefs are the columns that hold ids of another chat table without a
// foreign key: import moves them with the rows they name.
var idRefs = map[string]map[string]string{
	"chat_items": {"quote_id": "chat_items"},
}

// record is one line of the archive's plaintext (CH-DEV-3).
type record struct {
	Type    string            `json:"type"` // header, table, row, end
	Format  int               `json:"format,omitempty"`
	Name    string            `json:"name,omitempty"`   // header: the user's display name; table: the table
	Schema  map[string]int    `json:"schema,omitempty"` // header: schema versions of packages agent and chat
	DB      string            `json:"db,omitempty"`     // table: agent or chat
	Columns []string          `json:"columns,omitempty"`
	Values  []json.RawMessage `json:"values,omitempty"`
	Rows    int               `json:"rows,omitempty"` // end: the number of row records
}

// cellJSON writes a column value: null, {"i":n}, {"f":x}, {"s":"text"} or
// {"b":"base64"}, so that SQLite's storage class survives (CH-DEV-3).
func cellJSON(v any) (json.RawMessage, error) {
	var m map[string]any
	switch x := v.(type) {
	case nil:
		return json.RawMessage("null"), nil
	case int64:
		m = map[string]any{"i": x}
	case float64:
		m = map[string]any{"f": x}
	case string:
		m = map[string]any{"s": x}
	case []byte:
		if x == nil {
			x = []byte{}
		}
		m = map[string]any{"b": x}
	case bool:
		m = map[string]any{"i": map[bool]int{false: 0, true: 1}[x]}
	case time.Time:
		m = map[string]any{"s": x.Format(time.RFC3339Nano)}
	default:
		return nil, fmt.Errorf("chat: archive: value of type %T", v)
	}
	return json.Marshal(m)
}

func cellValue(raw json.RawMessage) (any, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	var c struct {
		I *json.Number `json:"i"`
		F *float64     `json:"f"`
		S *string      `json:"s"`
		B *[]byte      `json:"b"`
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return nil, err
	}
	switch {
	case c.I != nil:
		return strconv.ParseInt(string(*c.I), 10, 64)
	case c.F != nil:
		return *c.F, nil
	case c.S != nil:
		return *c.S, nil
	case c.B != nil:
		return *c.B, nil
	}
	return nil, fmt.Errorf("value %s", raw)
}

// table is one table's rows in an archive.
type table struct {
	db, name string
	cols     []string
	rows     [][]any
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

func dumpTable(tx *db.Tx, dbName, name, where, pk string) (table, error) {
	t := table{db: dbName, name: name}
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
	if t.cols, err = rows.Columns(); err != nil {
		return t, err
	}
	for rows.Next() {
		vals := make([]any, len(t.cols))
		ptrs := make([]any, len(t.cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return t, err
		}
		t.rows = append(t.rows, vals)
	}
	return t, rows.Err()
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
// the other device. Only DeleteUser works on it; that leaves its
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
	key := make([]byte, archiveKeyLen)
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
	if err := c.db.Update(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(`UPDATE chat_users SET moved_at = ?, active = 0 WHERE id = ?`, time.Now().Unix(), userID)
		return err
	}); err != nil {
		return "", c.unmove(ctx, u, err)
	}
	if err := c.writeArchive(ctx, u, key, w); err != nil {
		return "", c.unmove(ctx, u, err)
	}
	return migrationLink(key), nil
}

// unmove restores a user whose export failed.
func (c *Client) unmove(ctx context.Context, u userRow, cause error) error {
	ctx = context.WithoutCancel(ctx)
	err := c.db.Update(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(`UPDATE chat_users SET moved_at = NULL, active = ? WHERE id = ?`, u.Active, u.ID)
		return err
	})
	c.mu.Lock()
	delete(c.moved, u.ID)
	c.mu.Unlock()
	if err == nil {
		err = c.startUser(ctx, u.ID)
	}
	return errors.Join(fmt.Errorf("chat: export: %w", cause), err)
}

func (c *Client) writeArchive(ctx context.Context, u userRow, key []byte, w io.Writer) error {
	ad, err := db.Open(ctx, filepath.Join(c.agentDir(u.ID), "agent.db"), c.cfg.Passphrase, c.cfg.DBOptions)
	if err != nil {
		return err
	}
	defer ad.Close()
	var tables []table
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
		for _, name := range order {
			t, err := dumpTable(tx, "chat", name, cond[name], s.pk[name])
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
	sw, err := newSealWriter(w, key, c.cfg.Rand)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(sw)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(record{Type: "header", Format: archiveFormat, Name: u.Profile.DisplayName, Schema: schema}); err != nil {
		return err
	}
	n := 0
	for _, t := range tables {
		if err := enc.Encode(record{Type: "table", DB: t.db, Name: t.name, Columns: t.cols}); err != nil {
			return err
		}
		for _, row := range t.rows {
			vals := make([]json.RawMessage, len(row))
			for i, v := range row {
				if vals[i], err = cellJSON(v); err != nil {
					return err
				}
			}
			if err := enc.Encode(record{Type: "row", Values: vals}); err != nil {
				return err
			}
			n++
		}
	}
	if err := enc.Encode(record{Type: "end", Rows: n}); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return sw.Close()
}

// readArchive decrypts and parses an archive.
func readArchive(r io.Reader, key []byte) (record, []table, error) {
	pt, err := openArchive(r, key)
	if err != nil {
		return record{}, nil, err
	}
	bad := func(line int, err error) error {
		return fmt.Errorf("%w: line %d: %v", ErrArchive, line, err)
	}
	var head record
	var tables []table
	lines := bytes.Split(pt, []byte("\n"))
	if len(lines) < 3 || len(lines[len(lines)-1]) != 0 {
		return record{}, nil, fmt.Errorf("%w: no end record", ErrArchive)
	}
	rows := 0
	for i, line := range lines[:len(lines)-1] {
		var rec record
		if err := json.Unmarshal(line, &rec); err != nil {
			return record{}, nil, bad(i+1, err)
		}
		switch {
		case i == 0:
			if rec.Type != "header" || rec.Format != archiveFormat {
				return record{}, nil, bad(1, fmt.Errorf("header of format %d, want %d", rec.Format, archiveFormat))
			}
			head = rec
		case i == len(lines)-2:
			if rec.Type != "end" || rec.Rows != rows {
				return record{}, nil, bad(i+1, fmt.Errorf("end record with %d rows, %d read", rec.Rows, rows))
			}
		case rec.Type == "table":
			if rec.DB != "agent" && rec.DB != "chat" || rec.Name == "" || len(rec.Columns) == 0 {
				return record{}, nil, bad(i+1, errors.New("bad table record"))
			}
			tables = append(tables, table{db: rec.DB, name: rec.Name, cols: rec.Columns})
		case rec.Type == "row":
			if len(tables) == 0 || len(rec.Values) != len(tables[len(tables)-1].cols) {
				return record{}, nil, bad(i+1, errors.New("row without its table or of another width"))
			}
			vals := make([]any, len(rec.Values))
			for j, raw := range rec.Values {
				if vals[j], err = cellValue(raw); err != nil {
					return record{}, nil, bad(i+1, err)
				}
			}
			t := &tables[len(tables)-1]
			t.rows = append(t.rows, vals)
			rows++
		default:
			return record{}, nil, bad(i+1, fmt.Errorf("record of type %q", rec.Type))
		}
	}
	if len(tables) == 0 || tables[len(tables)-1].db != "chat" {
		return record{}, nil, fmt.Errorf("%w: no chat rows", ErrArchive)
	}
	return head, tables, nil
}

// ImportProfile adds the user of an archive made by ExportProfile, given
// its migration link, and starts it: its conversations continue from
// this client. The user keeps its profile, contacts, groups, history and
// agent state; it is active if no other user is. An archive that does not
// authenticate under the link's key is ErrArchive; one from a program
// with another schema is refused too. Nothing is kept of a failed import.
func (c *Client) ImportProfile(ctx context.Context, archive io.Reader, link string) (User, error) {
	key, err := ParseMigrationLink(link)
	if err != nil {
		return User{}, err
	}
	head, tables, err := readArchive(archive, key)
	if err != nil {
		return User{}, err
	}
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
func (c *Client) importAgent(ctx context.Context, dir string, head record, tables []table) error {
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
			if t.db != "agent" {
				continue
			}
			if _, err := tx.Exec(fmt.Sprintf(`DELETE FROM %q`, t.name)); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			if err := insertRows(tx, t, nil); err != nil {
				return err
			}
		}
		return nil
	})
}

func insertRows(tx *db.Tx, t table, fix func(row []any) error) error {
	cols := make([]string, len(t.cols))
	marks := make([]string, len(t.cols))
	for i, c := range t.cols {
		cols[i], marks[i] = strconv.Quote(c), "?"
	}
	q := fmt.Sprintf(`INSERT INTO %q (%s) VALUES (%s)`, t.name, strings.Join(cols, ", "), strings.Join(marks, ", "))
	for _, row := range t.rows {
		if fix != nil {
			if err := fix(row); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
		}
		if _, err := tx.Exec(q, row...); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
	}
	return nil
}

// insertChatRows adds the archive's chat rows with fresh ids: each
// table's ids move by the table's current largest id, and so do the
// columns that refer to them.
func insertChatRows(tx *db.Tx, tables []table) (User, error) {
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
		off[t] = m
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
		return n + off[t], nil
	}
	var userID int64
	for _, t := range tables {
		if t.db != "chat" {
			continue
		}
		if !known[t.name] {
			return User{}, fmt.Errorf("table %s unknown here", t.name)
		}
		refs := map[int]string{} // column index: the table its ids name
		for i, col := range t.cols {
			if col == s.pk[t.name] {
				refs[i] = t.name
			}
			for _, k := range s.fks[t.name] {
				if k.col == col && (k.to == "" || k.to == s.pk[k.parent]) {
					refs[i] = k.parent
				}
			}
			if p, ok := idRefs[t.name][col]; ok {
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
			for i, col := range t.cols {
				switch {
				case t.name == "chat_users" && col == "active":
					row[i] = noActive
				case t.name == "chat_users" && col == "moved_at":
					row[i] = nil
				case t.name == "chat_users" && col == "id":
					userID = row[i].(int64)
				case t.name == "chat_tasks" && col == "task":
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

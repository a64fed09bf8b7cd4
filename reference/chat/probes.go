package chat

import (
	"database/sql"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
)

// Duplicate-contact probes (CH-PROBE-1..5), as upstream's
// probeMatchingContactsAndMembers and xInfoProbe* do them. When a contact
// connects, the side that started the connection sends it x.info.probe
// with a fresh secret, and x.info.probe.check with the secret's hash to
// every other contact with the same profile. A client that gets both, the
// probe over one connection and its hash over another, learns that they
// reach one client: it answers x.info.probe.ok over the second and merges
// the two contacts; the prober merges when the answer arrives.

// ContactsMerged: two contacts turned out to be one person's (a probe
// matched, CH-PROBE-3) and were merged into Contact (CH-PROBE-5): the
// history of the contact MergedID is now Contact's, and MergedID is gone.
type ContactsMerged struct {
	Contact  Contact
	MergedID int64
	// CodeReset: one of the two was verified and the merged contact is
	// not, as its connection is the other's (CH-CODE-3).
	CodeReset bool
}

func (e ContactsMerged) User() int64 { return e.Contact.UserID }

// sameProfile is upstream's profilesMatch: display name, full name and
// image, not preferences.
func sameProfile(a, b *chatmsg.Profile) bool {
	if a == nil || b == nil {
		return false
	}
	img := func(p *chatmsg.Profile) string {
		if p.Image == nil {
			return "\x00"
		}
		return *p.Image
	}
	return a.DisplayName == b.DisplayName && a.FullName == b.FullName && img(a) == img(b)
}

// probeTasks records and sends the probes for a contact that just
// connected (CH-PROBE-1..2); called in the transaction that records the
// connection. Upstream sends them from the side that started the
// connection (contactConnInitiated): the inviter, or the requester of an
// address.
func probeTasks(tx *db.Tx, rnd io.Reader, ct Contact, conn string) error {
	probe, err := chatmsg.NewProbe(rnd)
	if err != nil {
		return err
	}
	if ct.Incognito != nil {
		// CH-PROBE-4: a random probe nobody can match, as upstream.
		return addTask(tx, ct.UserID, task{Kind: "send", Conn: conn, Body: encode(&chatmsg.Probe{Probe: probe})})
	}
	res, err := tx.Exec(`INSERT INTO chat_probes_sent (contact_id, probe) VALUES (?, ?)`, ct.ID, probe)
	if err != nil {
		return err
	}
	probeID, err := res.LastInsertId()
	if err != nil {
		return err
	}
	if err := addTask(tx, ct.UserID, task{Kind: "send", Conn: conn, Body: encode(&chatmsg.Probe{Probe: probe})}); err != nil {
		return err
	}
	others, err := matchingContacts(tx, ct)
	if err != nil {
		return err
	}
	check := encode(&chatmsg.ProbeCheck{ProbeHash: chatmsg.ProbeHash(probe)})
	for _, o := range others {
		if _, err := tx.Exec(`INSERT INTO chat_probe_hashes_sent (probe_id, contact_id) VALUES (?, ?)`, probeID, o.id); err != nil {
			return err
		}
		if err := addTask(tx, ct.UserID, task{Kind: "send", Conn: o.conn, Body: check}); err != nil {
			return err
		}
	}
	return nil
}

type contactRef struct {
	id   int64
	conn string
}

// matchingContacts are the user's other connected contacts, not
// incognito, with ct's profile.
func matchingContacts(tx *db.Tx, ct Contact) ([]contactRef, error) {
	rows, err := tx.Query(`SELECT id, conn_id, profile FROM chat_contacts WHERE user_id = ? AND id != ? AND status = 'connected' AND incognito IS NULL AND profile IS NOT NULL`, ct.UserID, ct.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []contactRef
	for rows.Next() {
		var r contactRef
		var pb []byte
		if err := rows.Scan(&r.id, &r.conn, &pb); err != nil {
			return nil, err
		}
		if p, err := parseInfo(pb); err == nil && sameProfile(p, ct.Profile) {
			out = append(out, r)
		}
	}
	return out, rows.Err()
}

// onProbe applies x.info.probe, x.info.probe.check or x.info.probe.ok from
// the contact ct in tx (CH-PROBE-3, CH-PROBE-5).
func (c *Client) onProbe(tx *db.Tx, ct *Contact, ev chatmsg.Event) (Event, error) {
	if ct.Incognito != nil {
		return nil, nil // CH-PROBE-4
	}
	switch e := ev.(type) {
	case *chatmsg.Probe:
		// ct is the new contact (c2): a check received earlier over
		// another contact (c1) with this probe's hash is a match.
		h := chatmsg.ProbeHash(e.Probe)
		if _, err := tx.Exec(`INSERT INTO chat_probes_received (contact_id, probe, probe_hash) VALUES (?, ?, ?)`, ct.ID, e.Probe, h); err != nil {
			return nil, err
		}
		var c1 int64
		err := tx.QueryRow(`SELECT contact_id FROM chat_probes_received WHERE probe_hash = ? AND probe IS NULL AND contact_id != ? ORDER BY rowid LIMIT 1`, h, ct.ID).Scan(&c1)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return c.probeMatch(tx, c1, ct.ID, e.Probe)
	case *chatmsg.ProbeCheck:
		// ct is the old contact (c1): a probe received over another
		// contact (c2) with this hash is a match.
		if _, err := tx.Exec(`INSERT INTO chat_probes_received (contact_id, probe_hash) VALUES (?, ?)`, ct.ID, e.ProbeHash); err != nil {
			return nil, err
		}
		var c2 int64
		var probe []byte
		err := tx.QueryRow(`SELECT contact_id, probe FROM chat_probes_received WHERE probe_hash = ? AND probe IS NOT NULL AND contact_id != ? ORDER BY rowid LIMIT 1`, e.ProbeHash, ct.ID).Scan(&c2, &probe)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return c.probeMatch(tx, ct.ID, c2, probe)
	case *chatmsg.ProbeOK:
		// ct is a contact we sent a probe's hash to: the probe's
		// contact is the same person.
		var c2 int64
		err := tx.QueryRow(`SELECT s.contact_id FROM chat_probes_sent s JOIN chat_probe_hashes_sent h ON h.probe_id = s.id
			WHERE s.probe = ? AND h.contact_id = ?`, e.Probe, ct.ID).Scan(&c2)
		if errors.Is(err, sql.ErrNoRows) || c2 == ct.ID {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return c.mergeContacts(tx, ct.ID, c2)
	}
	return nil, nil
}

// probeMatch answers a match with x.info.probe.ok over c1 and merges c1
// and c2, when their profiles are the same (upstream's probeMatch).
func (c *Client) probeMatch(tx *db.Tx, c1, c2 int64, probe []byte) (Event, error) {
	a, conn, err := getContact(tx, `id = ?`, c1)
	if err != nil {
		return nil, err
	}
	b, _, err := getContact(tx, `id = ?`, c2)
	if err != nil {
		return nil, err
	}
	if a.ID == b.ID || a.Incognito != nil || b.Incognito != nil || !sameProfile(a.Profile, b.Profile) {
		return nil, nil
	}
	if err := addTask(tx, a.UserID, task{Kind: "send", Conn: conn, Body: encode(&chatmsg.ProbeOK{Probe: probe})}); err != nil {
		return nil, err
	}
	return c.mergeContacts(tx, c1, c2)
}

// suffixOrd is the number upstream reads from a local name: 0 for the
// display name itself, n for "name_n"; ok false for anything else.
func suffixOrd(display, local string) (int, bool) {
	if local == display {
		return 0, true
	}
	s, ok := strings.CutPrefix(local, display+"_")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// mergeContacts merges two contacts of one person (CH-PROBE-5), as
// upstream's mergeContacts: the one whose local name has the lower suffix
// stays, with the other's history; it sends on the newer of the two
// connections and receives on both. Names that say nothing merge nothing.
func (c *Client) mergeContacts(tx *db.Tx, c1, c2 int64) (Event, error) {
	a, aConn, err := getContact(tx, `id = ?`, c1)
	if err != nil {
		return nil, err
	}
	b, bConn, err := getContact(tx, `id = ?`, c2)
	if err != nil {
		return nil, err
	}
	if a.Profile == nil || a.ID == b.ID {
		return nil, nil
	}
	oa, okA := suffixOrd(a.Profile.DisplayName, a.LocalName)
	ob, okB := suffixOrd(a.Profile.DisplayName, b.LocalName)
	if !okA || !okB || oa == ob {
		return nil, nil
	}
	keep, drop, keepConn, dropConn := a, b, aConn, bConn
	if ob < oa {
		keep, drop, keepConn, dropConn = b, a, bConn, aConn
	}
	// The newer connection is the later contact's.
	newer, older, newerRow := keepConn, dropConn, keep.ID
	if drop.ID > keep.ID {
		newer, older, newerRow = dropConn, keepConn, drop.ID
	}
	olderRow := keep.ID + drop.ID - newerRow
	var verified, otherVerified sql.NullString
	if err := tx.QueryRow(`SELECT verified_code FROM chat_contacts WHERE id = ?`, newerRow).Scan(&verified); err != nil {
		return nil, err
	}
	if err := tx.QueryRow(`SELECT verified_code FROM chat_contacts WHERE id = ?`, olderRow).Scan(&otherVerified); err != nil {
		return nil, err
	}
	stmts := []struct {
		q    string
		args []any
	}{
		// Agent message ids are per connection: what the older one
		// processed moves to the per-connection table.
		{`INSERT OR IGNORE INTO chat_conn_received (conn_id, agent_msg) SELECT ?, agent_msg FROM chat_received WHERE contact_id = ?`, []any{older, olderRow}},
		{`DELETE FROM chat_received WHERE contact_id = ?`, []any{olderRow}},
		{`UPDATE chat_received SET contact_id = ? WHERE contact_id = ?`, []any{keep.ID, drop.ID}},
		{`UPDATE chat_items SET contact_id = ? WHERE contact_id = ?`, []any{keep.ID, drop.ID}},
		{`UPDATE chat_contact_conns SET contact_id = ? WHERE contact_id = ?`, []any{keep.ID, drop.ID}},
		{`UPDATE chat_members SET contact_id = ? WHERE contact_id = ?`, []any{keep.ID, drop.ID}},
		{`UPDATE chat_probes_received SET contact_id = ? WHERE contact_id = ?`, []any{keep.ID, drop.ID}},
		{`DELETE FROM chat_contacts WHERE id = ?`, []any{drop.ID}},
		{`INSERT INTO chat_contact_conns (conn_id, contact_id) VALUES (?, ?)`, []any{older, keep.ID}},
		{`UPDATE chat_contacts SET conn_id = ?, verified_code = ? WHERE id = ?`, []any{newer, verified, keep.ID}},
	}
	for _, s := range stmts {
		if _, err := tx.Exec(s.q, s.args...); err != nil {
			return nil, err
		}
	}
	return ContactsMerged{Contact: keep, MergedID: drop.ID, CodeReset: otherVerified.Valid && !verified.Valid}, nil
}

// contactByConn finds the contact of a connection, a further one left by
// a merge included; conn is the contact's own (where it sends).
func contactByConn(tx *db.Tx, connID string) (Contact, string, error) {
	ct, conn, err := getContact(tx, `conn_id = ?`, connID)
	if !errors.Is(err, ErrNotFound) {
		return ct, conn, err
	}
	return getContact(tx, `id = (SELECT contact_id FROM chat_contact_conns WHERE conn_id = ?)`, connID)
}

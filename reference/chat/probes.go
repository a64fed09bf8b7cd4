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

// party is one end of a probe: a contact (contact != 0) or a group member.
type party struct {
	contact, member int64
	conn            string
	profile         *chatmsg.Profile
	incognito       bool
	linked          bool // a member already linked to a contact
}

func (p party) cols() (any, any) {
	if p.contact != 0 {
		return p.contact, nil
	}
	return nil, p.member
}

func loadParty(tx *db.Tx, contact, member sql.NullInt64) (party, error) {
	if contact.Valid {
		ct, conn, err := getContact(tx, `id = ?`, contact.Int64)
		if err != nil {
			return party{}, err
		}
		return party{contact: ct.ID, conn: conn, profile: ct.Profile, incognito: ct.Incognito != nil}, nil
	}
	var conn sql.NullString
	var pb []byte
	var linked sql.NullInt64
	var status MemberStatus
	var incognito bool
	err := tx.QueryRow(`SELECT m.conn_id, m.profile, m.contact_id, m.status, g.incognito IS NOT NULL FROM chat_members m JOIN chat_groups g ON g.id = m.group_id WHERE m.id = ?`, member.Int64).
		Scan(&conn, &pb, &linked, &status, &incognito)
	if err != nil {
		return party{}, notFound(err)
	}
	p := party{member: member.Int64, conn: conn.String, incognito: incognito, linked: linked.Valid || status != MemberReady || !conn.Valid}
	if pb != nil {
		p.profile, _ = parseInfo(pb)
	}
	return p, nil
}

// probeTasks records and sends the probes for a contact that just
// connected (CH-PROBE-1..2); called in the transaction that records the
// connection. Upstream sends them from the side that started the
// connection (contactConnInitiated): the inviter, or the requester of an
// address.
func probeTasks(tx *db.Tx, rnd io.Reader, ct Contact, conn string) error {
	me := party{contact: ct.ID, conn: conn, profile: ct.Profile, incognito: ct.Incognito != nil}
	contacts, err := matchingContacts(tx, ct.UserID, ct.ID, ct.Profile)
	if err != nil {
		return err
	}
	members, err := matchingMembers(tx, ct.UserID, ct.Profile)
	if err != nil {
		return err
	}
	return sendProbes(tx, rnd, ct.UserID, me, append(contacts, members...))
}

// probeMemberTasks is probeTasks for a member connection made by
// introduction, at the member that joined later (CH-PROBE-1): the hashes
// go to contacts with the member's profile (upstream's
// probeMatchingMemberContact). In a group where we are incognito the
// probe is one nobody can match (CH-PROBE-4).
func probeMemberTasks(tx *db.Tx, rnd io.Reader, g Group, m Member, conn string) error {
	me := party{member: m.ID, conn: conn, profile: m.Profile, incognito: g.Incognito != nil}
	contacts, err := matchingContacts(tx, g.UserID, 0, m.Profile)
	if err != nil {
		return err
	}
	return sendProbes(tx, rnd, g.UserID, me, contacts)
}

func sendProbes(tx *db.Tx, rnd io.Reader, userID int64, me party, others []party) error {
	probe, err := chatmsg.NewProbe(rnd)
	if err != nil {
		return err
	}
	if err := addTask(tx, userID, task{Kind: "send", Conn: me.conn, Body: encode(&chatmsg.Probe{Probe: probe})}); err != nil {
		return err
	}
	if me.incognito {
		return nil // CH-PROBE-4: a random probe nobody can match, as upstream
	}
	c, m := me.cols()
	res, err := tx.Exec(`INSERT INTO chat_probes_sent (contact_id, member_id, probe) VALUES (?, ?, ?)`, c, m, probe)
	if err != nil {
		return err
	}
	probeID, err := res.LastInsertId()
	if err != nil {
		return err
	}
	check := encode(&chatmsg.ProbeCheck{ProbeHash: chatmsg.ProbeHash(probe)})
	for _, o := range others {
		c, m := o.cols()
		if _, err := tx.Exec(`INSERT INTO chat_probe_hashes_sent (probe_id, contact_id, member_id) VALUES (?, ?, ?)`, probeID, c, m); err != nil {
			return err
		}
		if err := addTask(tx, userID, task{Kind: "send", Conn: o.conn, Body: check}); err != nil {
			return err
		}
	}
	return nil
}

// matchingContacts are the user's connected contacts other than except,
// not incognito, with profile p.
func matchingContacts(tx *db.Tx, userID, except int64, p *chatmsg.Profile) ([]party, error) {
	rows, err := tx.Query(`SELECT id, conn_id, profile FROM chat_contacts WHERE user_id = ? AND id != ? AND status = 'connected' AND incognito IS NULL AND profile IS NOT NULL`, userID, except)
	if err != nil {
		return nil, err
	}
	return scanParties(rows, p, func(r *party) *int64 { return &r.contact })
}

// matchingMembers are the user's connected group members not linked to a
// contact with profile p (upstream's getMatchingMembers), in groups where
// we have the user's profile (CH-PROBE-4).
func matchingMembers(tx *db.Tx, userID int64, p *chatmsg.Profile) ([]party, error) {
	rows, err := tx.Query(`SELECT m.id, m.conn_id, m.profile FROM chat_members m JOIN chat_groups g ON g.id = m.group_id
		WHERE g.user_id = ? AND g.incognito IS NULL AND m.status = ? AND m.conn_id IS NOT NULL AND m.contact_id IS NULL AND m.profile IS NOT NULL`, userID, MemberReady)
	if err != nil {
		return nil, err
	}
	return scanParties(rows, p, func(r *party) *int64 { return &r.member })
}

// scanParties reads rows of (id, conn_id, profile) into parties, the id
// into the field id picks, and keeps those whose profile is p.
func scanParties(rows *sql.Rows, p *chatmsg.Profile, id func(*party) *int64) ([]party, error) {
	defer rows.Close()
	var out []party
	for rows.Next() {
		var r party
		var pb []byte
		if err := rows.Scan(id(&r), &r.conn, &pb); err != nil {
			return nil, err
		}
		var err error
		if r.profile, err = parseInfo(pb); err == nil && sameProfile(r.profile, p) {
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
	return c.applyProbe(tx, ct.UserID, party{contact: ct.ID}, ev)
}

// onMemberProbe is onProbe for a probe event from a group member.
func (c *Client) onMemberProbe(tx *db.Tx, g Group, m Member, ev chatmsg.Event) (Event, error) {
	if g.Incognito != nil {
		return nil, nil // CH-PROBE-4: our membership is incognito
	}
	return c.applyProbe(tx, g.UserID, party{member: m.ID}, ev)
}

func (c *Client) applyProbe(tx *db.Tx, userID int64, from party, ev chatmsg.Event) (Event, error) {
	fc, fm := from.cols()
	// Of the user's, not from: a probe matches across connections only.
	other := `(contact_id IS NULL OR contact_id != coalesce(?, 0)) AND (member_id IS NULL OR member_id != coalesce(?, 0))`
	switch e := ev.(type) {
	case *chatmsg.Probe:
		// from is the new connection (p2): a hash received earlier over
		// another one (p1) is a match.
		h := chatmsg.ProbeHash(e.Probe)
		if _, err := tx.Exec(`INSERT INTO chat_probes_received (contact_id, member_id, probe, probe_hash) VALUES (?, ?, ?, ?)`, fc, fm, e.Probe, h); err != nil {
			return nil, err
		}
		var c1, m1 sql.NullInt64
		err := tx.QueryRow(`SELECT contact_id, member_id FROM chat_probes_received WHERE probe_hash = ? AND probe IS NULL AND `+other+` ORDER BY rowid LIMIT 1`, h, fc, fm).Scan(&c1, &m1)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return c.probeMatch(tx, userID, c1, m1, nullable(fc), nullable(fm), e.Probe)
	case *chatmsg.ProbeCheck:
		// from is the old connection (p1): a probe received over another
		// one (p2) with this hash is a match.
		if _, err := tx.Exec(`INSERT INTO chat_probes_received (contact_id, member_id, probe_hash) VALUES (?, ?, ?)`, fc, fm, e.ProbeHash); err != nil {
			return nil, err
		}
		var c2, m2 sql.NullInt64
		var probe []byte
		err := tx.QueryRow(`SELECT contact_id, member_id, probe FROM chat_probes_received WHERE probe_hash = ? AND probe IS NOT NULL AND `+other+` ORDER BY rowid LIMIT 1`, e.ProbeHash, fc, fm).Scan(&c2, &m2, &probe)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return c.probeMatch(tx, userID, nullable(fc), nullable(fm), c2, m2, probe)
	case *chatmsg.ProbeOK:
		// from got the hash of a probe we sent to another connection:
		// the two are one client.
		var c2, m2 sql.NullInt64
		err := tx.QueryRow(`SELECT s.contact_id, s.member_id FROM chat_probes_sent s JOIN chat_probe_hashes_sent h ON h.probe_id = s.id
			WHERE s.probe = ? AND (h.contact_id = ? OR h.member_id = ?) LIMIT 1`, e.Probe, fc, fm).Scan(&c2, &m2)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		p1, err := loadParty(tx, nullable(fc), nullable(fm))
		if err != nil {
			return nil, err
		}
		p2, err := loadParty(tx, c2, m2)
		if err != nil {
			return nil, err
		}
		return c.matched(tx, userID, p1, p2)
	}
	return nil, nil
}

func nullable(v any) sql.NullInt64 {
	if id, ok := v.(int64); ok {
		return sql.NullInt64{Int64: id, Valid: true}
	}
	return sql.NullInt64{}
}

// probeMatch answers a match with x.info.probe.ok over p1 and merges or
// links p1 and p2, when their profiles are the same (upstream's
// probeMatch).
func (c *Client) probeMatch(tx *db.Tx, userID int64, c1, m1, c2, m2 sql.NullInt64, probe []byte) (Event, error) {
	p1, err := loadParty(tx, c1, m1)
	if err != nil {
		return nil, err
	}
	p2, err := loadParty(tx, c2, m2)
	if err != nil {
		return nil, err
	}
	if p1.incognito || p2.incognito || !sameProfile(p1.profile, p2.profile) || p1.member != 0 && p2.member != 0 ||
		p1.contact != 0 && p1.contact == p2.contact || p1.linked || p2.linked {
		return nil, nil
	}
	if err := addTask(tx, userID, task{Kind: "send", Conn: p1.conn, Body: encode(&chatmsg.ProbeOK{Probe: probe})}); err != nil {
		return nil, err
	}
	return c.matched(tx, userID, p1, p2)
}

// matched merges two contacts (CH-PROBE-5) or links a member to a contact.
func (c *Client) matched(tx *db.Tx, userID int64, p1, p2 party) (Event, error) {
	switch {
	case p1.contact != 0 && p2.contact != 0:
		if p1.contact == p2.contact {
			return nil, nil
		}
		return c.mergeContacts(tx, p1.contact, p2.contact)
	case p1.member != 0 && p2.member != 0:
		return nil, nil // members are not matched with members, as upstream
	}
	ct, m := p1, p2
	if ct.contact == 0 {
		ct, m = p2, p1
	}
	if m.linked {
		return nil, nil
	}
	if _, err := tx.Exec(`UPDATE chat_members SET contact_id = ? WHERE id = ?`, ct.contact, m.member); err != nil {
		return nil, err
	}
	contact, _, err := getContact(tx, `id = ?`, ct.contact)
	if err != nil {
		return nil, err
	}
	member, err := loadMember(tx, `id = ?`, m.member)
	if err != nil {
		return nil, err
	}
	return ContactMemberLinked{Contact: contact, Member: member}, nil
}

// ContactMemberLinked: a group member turned out to be a contact (a probe
// matched, CH-PROBE-5); the member is now linked to the contact.
type ContactMemberLinked struct {
	Contact Contact
	Member  Member
}

func (e ContactMemberLinked) User() int64 { return e.Contact.UserID }

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

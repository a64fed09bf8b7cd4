package chat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
)

// ContactStatus is where a contact's connection is.
type ContactStatus string

const (
	StatusInvited       ContactStatus = "invited"   // our one-time link, not yet used
	StatusJoined        ContactStatus = "joined"    // we used the contact's link
	StatusRequested     ContactStatus = "requested" // we asked through the contact's address
	StatusAccepted      ContactStatus = "accepted"  // we accepted the contact's request
	StatusConnected     ContactStatus = "connected"
	StatusDeleting      ContactStatus = "deleting"        // x.direct.del sent, until a relay accepted it
	StatusDeletedByPeer ContactStatus = "deleted_by_peer" // CH-CONN-4
)

// Contact is a user's contact.
type Contact struct {
	ID, UserID int64
	// LocalName is the name shown for the contact, unique among the
	// user's contacts (CH-PROF-2); empty until the profile arrives.
	LocalName string
	Profile   *chatmsg.Profile
	Status    ContactStatus
	// Incognito is the random profile we use with this contact instead of
	// the user's (CH-INCOG-1); nil for the user's own.
	Incognito *chatmsg.Profile
}

const contactCols = `id, user_id, coalesce(local_name, ''), profile, status, incognito`

func scanContact(s interface{ Scan(...any) error }) (Contact, error) {
	var ct Contact
	var b, inc []byte
	if err := s.Scan(&ct.ID, &ct.UserID, &ct.LocalName, &b, &ct.Status, &inc); err != nil {
		return Contact{}, err
	}
	if inc != nil {
		p, err := parseInfo(inc)
		if err != nil {
			return Contact{}, fmt.Errorf("chat: contact %d: %w", ct.ID, err)
		}
		ct.Incognito = p
	}
	if b != nil {
		p, err := parseInfo(b)
		if err != nil {
			return Contact{}, fmt.Errorf("chat: contact %d: %w", ct.ID, err)
		}
		ct.Profile = p
	}
	return ct, nil
}

func getContact(tx *db.Tx, where string, arg any) (Contact, string, error) {
	var conn string
	ct, err := scanContact(rowScanner{tx.QueryRow(`SELECT `+contactCols+`, conn_id FROM chat_contacts WHERE `+where, arg), &conn})
	if errors.Is(err, sql.ErrNoRows) {
		return Contact{}, "", fmt.Errorf("chat: contact: %w", ErrNotFound)
	}
	return ct, conn, err
}

// rowScanner appends extra destinations to a scan.
type rowScanner struct {
	r     *sql.Row
	extra *string
}

func (r rowScanner) Scan(dst ...any) error { return r.r.Scan(append(dst, r.extra)...) }

// Contact returns a contact by id.
func (c *Client) Contact(ctx context.Context, id int64) (Contact, error) {
	var ct Contact
	err := c.db.View(ctx, func(tx *db.Tx) error {
		var err error
		ct, _, err = getContact(tx, `id = ?`, id)
		return err
	})
	return ct, err
}

// Contacts lists a user's contacts (pending ones included).
func (c *Client) Contacts(ctx context.Context, userID int64) ([]Contact, error) {
	var cs []Contact
	err := c.db.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(`SELECT `+contactCols+` FROM chat_contacts WHERE user_id = ? ORDER BY id`, userID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			ct, err := scanContact(rows)
			if err != nil {
				return err
			}
			cs = append(cs, ct)
		}
		return rows.Err()
	})
	return cs, err
}

func insertContact(tx *db.Tx, userID int64, conn string, status ContactStatus, profile *chatmsg.Profile, welcome string) (Contact, error) {
	ct := Contact{UserID: userID, Status: status, Profile: profile}
	var pb []byte
	var name any
	if profile != nil {
		pb = infoBody(profile)
		n, err := uniqueName(tx, userID, profile.DisplayName, 0)
		if err != nil {
			return Contact{}, err
		}
		name, ct.LocalName = n, n
	}
	var w any
	if welcome != "" {
		w = welcome
	}
	res, err := tx.Exec(`INSERT INTO chat_contacts (user_id, conn_id, local_name, profile, status, welcome, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		userID, conn, name, pb, status, w, time.Now().Unix())
	if err != nil {
		return Contact{}, err
	}
	ct.ID, err = res.LastInsertId()
	return ct, err
}

// uniqueName derives a local name from a display name: the name itself, or
// with _1, _2, ... when another contact of the user has it (CH-PROF-2).
func uniqueName(tx *db.Tx, userID int64, display string, self int64) (string, error) {
	for i := 0; ; i++ {
		name := display
		if i > 0 {
			name = fmt.Sprintf("%s_%d", display, i)
		}
		var n int
		if err := tx.QueryRow(`SELECT count(*) FROM chat_contacts WHERE user_id = ? AND local_name = ? AND id != ?`, userID, name, self).Scan(&n); err != nil {
			return "", err
		}
		if n == 0 {
			return name, nil
		}
	}
}

// setProfile records a contact's profile and gives it a local name.
func setProfile(tx *db.Tx, ct *Contact, p *chatmsg.Profile) error {
	name := ct.LocalName
	if ct.Profile == nil || ct.Profile.DisplayName != p.DisplayName {
		var err error
		if name, err = uniqueName(tx, ct.UserID, p.DisplayName, ct.ID); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(`UPDATE chat_contacts SET profile = ?, local_name = ? WHERE id = ?`, infoBody(p), name, ct.ID); err != nil {
		return err
	}
	ct.Profile, ct.LocalName = p, name
	return nil
}

// CreateInvitation makes a one-time invitation link for the active user.
// The contact connects when someone uses it (ContactConnected).
func (c *Client) CreateInvitation(ctx context.Context) (Contact, string, error) {
	return c.createInvitation(ctx, false)
}

// CreateIncognitoInvitation is CreateInvitation with a random profile
// for this contact instead of the user's (CH-INCOG-1).
func (c *Client) CreateIncognitoInvitation(ctx context.Context) (Contact, string, error) {
	return c.createInvitation(ctx, true)
}

func (c *Client) createInvitation(ctx context.Context, incognito bool) (Contact, string, error) {
	uid, ua, err := c.activeAgent(ctx)
	if err != nil {
		return Contact{}, "", err
	}
	var inc *chatmsg.Profile
	if incognito {
		if inc, err = randomProfile(c.cfg.Rand); err != nil {
			return Contact{}, "", err
		}
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	conn, link, err := ua.a.CreateInvitation(ctx)
	if err != nil {
		return Contact{}, "", fmt.Errorf("chat: invitation: %w", err)
	}
	var ct Contact
	err = c.db.Update(ctx, func(tx *db.Tx) error {
		if ct, err = insertContact(tx, uid, conn, StatusInvited, nil, ""); err != nil {
			return err
		}
		return setIncognito(tx, &ct, inc)
	})
	return ct, link, err
}

// Connect uses a one-time invitation link as the active user, sending the
// user's profile in the confirmation (x.info, CH-CONN-1).
func (c *Client) Connect(ctx context.Context, link string) (Contact, error) {
	return c.connect(ctx, link, false)
}

// ConnectIncognito is Connect with a random profile for this contact
// (CH-INCOG-1): nothing of the user's profile reaches it (CH-INCOG-2).
func (c *Client) ConnectIncognito(ctx context.Context, link string) (Contact, error) {
	return c.connect(ctx, link, true)
}

func (c *Client) connect(ctx context.Context, link string, incognito bool) (Contact, error) {
	uid, ua, err := c.activeAgent(ctx)
	if err != nil {
		return Contact{}, err
	}
	p, inc, err := c.newContactProfile(ctx, uid, incognito)
	if err != nil {
		return Contact{}, err
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	conn, err := ua.a.Join(ctx, link, infoBody(p))
	if err != nil {
		return Contact{}, fmt.Errorf("chat: connect: %w", err)
	}
	var ct Contact
	err = c.db.Update(ctx, func(tx *db.Tx) error {
		if ct, err = insertContact(tx, uid, conn, StatusJoined, nil, ""); err != nil {
			return err
		}
		return setIncognito(tx, &ct, inc)
	})
	return ct, err
}

func setIncognito(tx *db.Tx, ct *Contact, p *chatmsg.Profile) error {
	if p == nil {
		return nil
	}
	ct.Incognito = p
	_, err := tx.Exec(`UPDATE chat_contacts SET incognito = ? WHERE id = ?`, infoBody(p), ct.ID)
	return err
}

var (
	incognitoAdjectives = []string{"Amber", "Brave", "Calm", "Deft", "Eager", "Fair", "Gentle", "Happy", "Keen", "Lucky", "Merry", "Noble", "Quiet", "Swift", "Tidy", "Witty"}
	incognitoNouns      = []string{"Badger", "Crane", "Dolphin", "Falcon", "Gecko", "Heron", "Ibis", "Jaguar", "Koala", "Lynx", "Marten", "Otter", "Panda", "Robin", "Stork", "Walrus"}
)

// randomProfile makes an incognito profile: a generated display name, no
// full name, image, preferences or address (CH-INCOG-1).
func randomProfile(r io.Reader) (*chatmsg.Profile, error) {
	b, err := chatmsg.NewID(r)
	if err != nil {
		return nil, err
	}
	name := incognitoAdjectives[b[0]%16] + incognitoNouns[b[1]%16] + fmt.Sprint(int(b[2])%100)
	return &chatmsg.Profile{DisplayName: name}, nil
}

// DeleteContact deletes a contact. A connected contact is first told
// (x.direct.del, CH-CONN-4); its connection is deleted once a relay
// accepted that message (SENT, CH-RCPT-1). The contact's history goes
// with it.
func (c *Client) DeleteContact(ctx context.Context, id int64) error {
	var ct Contact
	var conn string
	err := c.db.View(ctx, func(tx *db.Tx) error {
		var err error
		ct, conn, err = getContact(tx, `id = ?`, id)
		return err
	})
	if err != nil {
		return err
	}
	ua, err := c.user(ct.UserID)
	if err != nil {
		return err
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	if ct.Status == StatusConnected {
		body := (&chatmsg.Message{V: chatmsg.Supported, Event: &chatmsg.DirectDel{}}).Encode()
		return c.commit(ctx, ua, func(tx *db.Tx) error {
			if _, err := tx.Exec(`UPDATE chat_contacts SET status = 'deleting' WHERE id = ?`, id); err != nil {
				return err
			}
			return addTask(tx, ua.id, task{Kind: "send", Conn: conn, Body: body, DelContact: id})
		})
	}
	return c.removeContact(ctx, ua, id, conn)
}

// removeContact deletes the agent connection and the contact's rows.
func (c *Client) removeContact(ctx context.Context, ua *userAgent, id int64, conn string) error {
	conns := []string{conn}
	c.db.View(ctx, func(tx *db.Tx) error { // a merged contact's further ones (probes.go)
		more, err := column[string](tx, `SELECT conn_id FROM chat_contact_conns WHERE contact_id = ?`, id)
		conns = append(conns, more...)
		return err
	})
	for _, conn := range conns {
		if err := ua.a.Delete(ctx, conn); err != nil {
			c.cfg.Log.Debug("chat: delete connection", "err", err)
		}
	}
	return c.db.Update(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(`DELETE FROM chat_contacts WHERE id = ?`, id)
		return err
	})
}

// Address is a user's long-term contact address.
type Address struct {
	UserID     int64
	Link       string
	AutoAccept bool
	// Incognito: each request accepted automatically gets a fresh random
	// profile (CH-INCOG-6).
	Incognito bool
	Welcome   string // sent to each contact accepted automatically; "" for none
}

// CreateAddress makes the active user's long-term address (one per user).
func (c *Client) CreateAddress(ctx context.Context) (Address, error) {
	uid, ua, err := c.activeAgent(ctx)
	if err != nil {
		return Address{}, err
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	conn, link, err := ua.a.CreateContact(ctx)
	if err != nil {
		return Address{}, fmt.Errorf("chat: address: %w", err)
	}
	err = c.db.Update(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(`INSERT INTO chat_addresses (user_id, conn_id, link) VALUES (?, ?, ?)`, uid, conn, link)
		return err
	})
	if err != nil {
		ua.a.Delete(ctx, conn)
		return Address{}, fmt.Errorf("chat: address: %w", err)
	}
	return Address{UserID: uid, Link: link}, nil
}

// UserAddress returns a user's address.
func (c *Client) UserAddress(ctx context.Context, userID int64) (Address, error) {
	a := Address{UserID: userID}
	var w sql.NullString
	err := c.db.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT link, auto_accept, auto_incognito, welcome FROM chat_addresses WHERE user_id = ?`, userID).Scan(&a.Link, &a.AutoAccept, &a.Incognito, &w)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return Address{}, fmt.Errorf("chat: address: %w", ErrNotFound)
	}
	a.Welcome = w.String
	return a, err
}

// SetAutoAccept turns automatic acceptance of the user's contact requests
// on or off, with a welcome message sent to each accepted contact ("" for
// none).
func (c *Client) SetAutoAccept(ctx context.Context, userID int64, on bool, welcome string) error {
	return c.setAutoAccept(ctx, userID, on, false, welcome)
}

func (c *Client) setAutoAccept(ctx context.Context, userID int64, on, incognito bool, welcome string) error {
	return c.db.Update(ctx, func(tx *db.Tx) error {
		var w any
		if welcome != "" {
			w = welcome
		}
		res, err := tx.Exec(`UPDATE chat_addresses SET auto_accept = ?, auto_incognito = ?, welcome = ? WHERE user_id = ?`, on, on && incognito, w, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("chat: address: %w", ErrNotFound)
		}
		return nil
	})
}

// DeleteAddress deletes the user's address; pending requests go with it.
func (c *Client) DeleteAddress(ctx context.Context, userID int64) error {
	ua, err := c.user(userID)
	if err != nil {
		return err
	}
	var conn string
	err = c.db.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT conn_id FROM chat_addresses WHERE user_id = ?`, userID).Scan(&conn)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("chat: address: %w", ErrNotFound)
	}
	if err != nil {
		return err
	}
	if err := ua.a.Delete(ctx, conn); err != nil {
		return fmt.Errorf("chat: address: %w", err)
	}
	return c.db.Update(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(`DELETE FROM chat_addresses WHERE user_id = ?`, userID)
		return err
	})
}

// ConnectAddress sends a contact request to a long-term address as the
// active user (x.contact, CH-CONN-2). The contact connects when the owner
// accepts.
func (c *Client) ConnectAddress(ctx context.Context, link string) (Contact, error) {
	return c.connectAddress(ctx, link, false)
}

func (c *Client) connectAddress(ctx context.Context, link string, incognito bool) (Contact, error) {
	uid, ua, err := c.activeAgent(ctx)
	if err != nil {
		return Contact{}, err
	}
	p, inc, err := c.newContactProfile(ctx, uid, incognito)
	if err != nil {
		return Contact{}, err
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	// A repeat of a request still pending keeps its contactReqId, so that
	// the owner merges the two (CH-CONN-2); it replaces the earlier one.
	var reqID []byte
	var prevID int64
	var prevConn string
	err = c.db.View(ctx, func(tx *db.Tx) error {
		err := tx.QueryRow(`SELECT id, conn_id, req_id FROM chat_contacts WHERE user_id = ? AND status = ? AND req_link = ?`, uid, StatusRequested, link).Scan(&prevID, &prevConn, &reqID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return Contact{}, err
	}
	if reqID == nil {
		if reqID, err = chatmsg.NewID(c.cfg.Rand); err != nil {
			return Contact{}, err
		}
	}
	body := (&chatmsg.Message{V: chatmsg.Supported, Event: &chatmsg.Contact{Profile: p, ContactReqID: reqID}}).Encode()
	conn, err := ua.a.JoinContact(ctx, link, body)
	if err != nil {
		return Contact{}, fmt.Errorf("chat: connect to address: %w", err)
	}
	var ct Contact
	err = c.db.Update(ctx, func(tx *db.Tx) error {
		if prevID != 0 {
			if _, err := tx.Exec(`DELETE FROM chat_contacts WHERE id = ?`, prevID); err != nil {
				return err
			}
		}
		if ct, err = insertContact(tx, uid, conn, StatusRequested, nil, ""); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE chat_contacts SET req_link = ?, req_id = ? WHERE id = ?`, link, reqID, ct.ID); err != nil {
			return err
		}
		return setIncognito(tx, &ct, inc)
	})
	if err == nil && prevID != 0 {
		ua.a.Delete(ctx, prevConn) // the earlier request's connection
	}
	return ct, err
}

// Request is a contact request to a user's address.
type Request struct {
	ID, UserID int64
	Profile    *chatmsg.Profile
}

// Requests lists the user's pending contact requests.
func (c *Client) Requests(ctx context.Context, userID int64) ([]Request, error) {
	var rs []Request
	err := c.db.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(`SELECT r.id, r.profile FROM chat_requests r JOIN chat_addresses a ON a.id = r.address_id WHERE a.user_id = ? ORDER BY r.id`, userID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r := Request{UserID: userID}
			var b []byte
			if err := rows.Scan(&r.ID, &b); err != nil {
				return err
			}
			if r.Profile, err = parseInfo(b); err != nil {
				return err
			}
			rs = append(rs, r)
		}
		return rows.Err()
	})
	return rs, err
}

// AcceptRequest accepts a contact request: the user joins the requester's
// invitation with its profile (x.info, CH-CONN-2).
func (c *Client) AcceptRequest(ctx context.Context, id int64) (Contact, error) {
	return c.acceptRequest(ctx, id, false)
}

func (c *Client) acceptRequest(ctx context.Context, id int64, incognito bool) (Contact, error) {
	var uid int64
	err := c.db.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT a.user_id FROM chat_requests r JOIN chat_addresses a ON a.id = r.address_id WHERE r.id = ?`, id).Scan(&uid)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return Contact{}, fmt.Errorf("chat: request %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Contact{}, err
	}
	ua, err := c.user(uid)
	if err != nil {
		return Contact{}, err
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	return c.accept(ctx, ua, id, "", incognito)
}

// accept joins the request's invitation, with a fresh random profile when
// incognito (CH-INCOG-6); called with ua.mu held.
func (c *Client) accept(ctx context.Context, ua *userAgent, id int64, welcome string, incognito bool) (Contact, error) {
	var inv string
	var pb []byte
	err := c.db.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT invitation, profile FROM chat_requests WHERE id = ?`, id).Scan(&inv, &pb)
	})
	if err != nil {
		return Contact{}, fmt.Errorf("chat: request %d: %w", id, err)
	}
	peer, err := parseInfo(pb)
	if err != nil {
		return Contact{}, err
	}
	p, inc, err := c.newContactProfile(ctx, ua.id, incognito)
	if err != nil {
		return Contact{}, err
	}
	conn, err := ua.a.Join(ctx, inv, infoBody(p))
	if err != nil {
		return Contact{}, fmt.Errorf("chat: accept: %w", err)
	}
	var ct Contact
	err = c.db.Update(ctx, func(tx *db.Tx) error {
		if ct, err = insertContact(tx, ua.id, conn, StatusAccepted, peer, welcome); err != nil {
			return err
		}
		if err := setIncognito(tx, &ct, inc); err != nil {
			return err
		}
		_, err := tx.Exec(`DELETE FROM chat_requests WHERE id = ?`, id)
		return err
	})
	return ct, err
}

// RejectRequest forgets a contact request; the requester is not told, as
// upstream does.
func (c *Client) RejectRequest(ctx context.Context, id int64) error {
	return c.db.Update(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(`DELETE FROM chat_requests WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("chat: request %d: %w", id, ErrNotFound)
		}
		return nil
	})
}

package chat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
	"github.com/smpkit/smpkit/reference/smp"
)

// Peer names the other end of one of a user's connections: a contact
// (ContactID) or a group member (MemberID, with its GroupID).
type Peer struct {
	UserID, ContactID, GroupID, MemberID int64
}

// SecurityCode is a connection's security code (CH-CODE-1) and whether the
// user verified it.
type SecurityCode struct {
	Code     string
	Verified bool
}

// QueueSwitched: a queue rotation of the connection with Peer finished
// (SwitchContact, SwitchMember, or one the peer started); the security
// code stays (CH-SWITCH-1).
type QueueSwitched struct{ Peer Peer }

// RatchetSynced: the connection's ratchets were re-agreed (SyncContact,
// SyncMember or the peer's, CH-RSYNC-1). The security code changed; a
// verified code was reset (SecurityCodeChanged follows).
type RatchetSynced struct{ Peer Peer }

// SecurityCodeChanged: the connection's code is no longer the one the user
// verified (CH-CODE-3): compare the new one out of band and VerifyCode
// or VerifyMember again.
type SecurityCodeChanged struct{ Peer Peer }

func (e QueueSwitched) User() int64       { return e.Peer.UserID }
func (e RatchetSynced) User() int64       { return e.Peer.UserID }
func (e SecurityCodeChanged) User() int64 { return e.Peer.UserID }

// peerConn is a peer's connection with the row that holds its verified
// code.
type peerConn struct {
	peer  Peer
	conn  string
	table string // chat_contacts or chat_members
	row   int64
	// mainConn: conn is the contact's own, not a merged one's older
	// (chat_contact_conns).
	mainConn bool
}

func (c *Client) contactConn(ctx context.Context, contactID int64) (peerConn, *userAgent, error) {
	var p peerConn
	err := c.db.View(ctx, func(tx *db.Tx) error {
		ct, conn, err := getContact(tx, `id = ?`, contactID)
		if err != nil {
			return err
		}
		if ct.Status != StatusConnected {
			return fmt.Errorf("chat: contact %d is %s, not connected", contactID, ct.Status)
		}
		p = peerConn{peer: Peer{UserID: ct.UserID, ContactID: ct.ID}, conn: conn, table: "chat_contacts", row: ct.ID}
		return nil
	})
	if err != nil {
		return peerConn{}, nil, err
	}
	ua, err := c.user(p.peer.UserID)
	return p, ua, err
}

func (c *Client) memberConn(ctx context.Context, memberID int64) (peerConn, *userAgent, error) {
	var p peerConn
	err := c.db.View(ctx, func(tx *db.Tx) error {
		var conn sql.NullString
		err := tx.QueryRow(`SELECT m.group_id, g.user_id, m.conn_id FROM chat_members m JOIN chat_groups g ON g.id = m.group_id WHERE m.id = ?`, memberID).
			Scan(&p.peer.GroupID, &p.peer.UserID, &conn)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("chat: member %d: %w", memberID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if !conn.Valid {
			return fmt.Errorf("chat: member %d has no connection", memberID)
		}
		p.peer.MemberID, p.conn, p.table, p.row = memberID, conn.String, "chat_members", memberID
		return nil
	})
	if err != nil {
		return peerConn{}, nil, err
	}
	ua, err := c.user(p.peer.UserID)
	return p, ua, err
}

// code returns the connection's current code and the verified one,
// clearing the verified one when they differ (as upstream does when it
// shows a code).
func (c *Client) code(ctx context.Context, p peerConn, ua *userAgent) (SecurityCode, error) {
	h, err := ua.a.RatchetADHash(ctx, p.conn)
	if err != nil {
		return SecurityCode{}, fmt.Errorf("chat: security code: %w", err)
	}
	code := chatmsg.SecurityCode(h)
	var verified sql.NullString
	err = c.db.Update(ctx, func(tx *db.Tx) error {
		if err := tx.QueryRow(`SELECT verified_code FROM `+p.table+` WHERE id = ?`, p.row).Scan(&verified); err != nil {
			return err
		}
		if verified.Valid && !chatmsg.SameSecurityCode(verified.String, code) {
			verified.Valid = false
			_, err := tx.Exec(`UPDATE `+p.table+` SET verified_code = NULL WHERE id = ?`, p.row)
			return err
		}
		return nil
	})
	return SecurityCode{Code: code, Verified: verified.Valid}, err
}

// verify marks the connection verified when code is its code
// (CH-CODE-2); a code that differs changes nothing.
func (c *Client) verify(ctx context.Context, p peerConn, ua *userAgent, code string) (bool, error) {
	cur, err := c.code(ctx, p, ua)
	if err != nil {
		return false, err
	}
	if !chatmsg.SameSecurityCode(code, cur.Code) {
		return false, nil
	}
	return true, c.db.Update(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(`UPDATE `+p.table+` SET verified_code = ? WHERE id = ?`, cur.Code, p.row)
		return err
	})
}

// ContactCode returns the security code of the connection with a contact
// (CH-CODE-1): the same on both sides, to compare out of band or scan as a
// QR code.
func (c *Client) ContactCode(ctx context.Context, contactID int64) (SecurityCode, error) {
	p, ua, err := c.contactConn(ctx, contactID)
	if err != nil {
		return SecurityCode{}, err
	}
	return c.code(ctx, p, ua)
}

// VerifyCode compares code (spaces ignored) with the contact's security
// code and marks the contact verified when they match. It reports whether
// they did; a code that does not match changes nothing.
func (c *Client) VerifyCode(ctx context.Context, contactID int64, code string) (bool, error) {
	p, ua, err := c.contactConn(ctx, contactID)
	if err != nil {
		return false, err
	}
	return c.verify(ctx, p, ua, code)
}

// MemberCode is ContactCode for the connection with a group member.
func (c *Client) MemberCode(ctx context.Context, memberID int64) (SecurityCode, error) {
	p, ua, err := c.memberConn(ctx, memberID)
	if err != nil {
		return SecurityCode{}, err
	}
	return c.code(ctx, p, ua)
}

// VerifyMember is VerifyCode for a group member.
func (c *Client) VerifyMember(ctx context.Context, memberID int64, code string) (bool, error) {
	p, ua, err := c.memberConn(ctx, memberID)
	if err != nil {
		return false, err
	}
	return c.verify(ctx, p, ua, code)
}

// SwitchContact moves our receiving queue of the contact's connection to
// relay (the client's relay when zero): the agent's queue rotation
// (GC-ROTATE-1, upstream's "switch address"). QueueSwitched reports its
// end on both sides; messages keep flowing meanwhile (CH-SWITCH-1).
func (c *Client) SwitchContact(ctx context.Context, contactID int64, relay smp.Server) error {
	p, ua, err := c.contactConn(ctx, contactID)
	if err != nil {
		return err
	}
	return c.rotate(ctx, p, ua, relay)
}

// SwitchMember is SwitchContact for the connection with a group member.
func (c *Client) SwitchMember(ctx context.Context, memberID int64, relay smp.Server) error {
	p, ua, err := c.memberConn(ctx, memberID)
	if err != nil {
		return err
	}
	return c.rotate(ctx, p, ua, relay)
}

func (c *Client) rotate(ctx context.Context, p peerConn, ua *userAgent, relay smp.Server) error {
	if len(relay.Hosts) == 0 {
		relay = c.cfg.Relay
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	if err := ua.a.Rotate(ctx, p.conn, relay); err != nil {
		return fmt.Errorf("chat: switch: %w", err)
	}
	return nil
}

// SyncContact re-agrees the ratchets of the contact's connection
// (GC-RESYNC-1): after a restored backup, or to repeat the key exchange at
// will. RatchetSynced reports the end on both sides; the security code
// changes, so a verified contact is verified no more (CH-RSYNC-1).
func (c *Client) SyncContact(ctx context.Context, contactID int64) error {
	p, ua, err := c.contactConn(ctx, contactID)
	if err != nil {
		return err
	}
	return c.sync(ctx, p, ua)
}

// SyncMember is SyncContact for the connection with a group member.
func (c *Client) SyncMember(ctx context.Context, memberID int64) error {
	p, ua, err := c.memberConn(ctx, memberID)
	if err != nil {
		return err
	}
	return c.sync(ctx, p, ua)
}

func (c *Client) sync(ctx context.Context, p peerConn, ua *userAgent) error {
	ua.mu.Lock()
	defer ua.mu.Unlock()
	if err := ua.a.SyncRatchet(ctx, p.conn); err != nil {
		return fmt.Errorf("chat: sync: %w", err)
	}
	return nil
}

// onKeyEvent surfaces the agent's SWITCH and RSYNC of a contact or member
// connection; called with ua.mu held. A re-agreed ratchet has a new
// associated data hash: a verified code is cleared (CH-CODE-3).
func (c *Client) onKeyEvent(ctx context.Context, ua *userAgent, ev agent.Event) ([]Event, error) {
	var p peerConn
	err := c.db.View(ctx, func(tx *db.Tx) error {
		var id int64
		var main bool
		err := tx.QueryRow(`SELECT contact_id, main FROM (SELECT id AS contact_id, 1 AS main FROM chat_contacts WHERE conn_id = ?
			UNION ALL SELECT contact_id, 0 FROM chat_contact_conns WHERE conn_id = ?) LIMIT 1`, ev.ConnID, ev.ConnID).Scan(&id, &main)
		if err == nil {
			p = peerConn{peer: Peer{UserID: ua.id, ContactID: id}, table: "chat_contacts", row: id, mainConn: main}
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		err = tx.QueryRow(`SELECT id, group_id FROM chat_members WHERE conn_id = ?`, ev.ConnID).Scan(&p.peer.MemberID, &p.peer.GroupID)
		if err != nil {
			return err
		}
		p.peer.UserID, p.table, p.row = ua.id, "chat_members", p.peer.MemberID
		return nil
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil // deleted meanwhile
	}
	if err != nil {
		return nil, err
	}
	if ev.Kind == agent.EventSwitch {
		return []Event{QueueSwitched{Peer: p.peer}}, nil
	}
	out := []Event{RatchetSynced{Peer: p.peer}}
	var cleared bool
	err = c.db.Update(ctx, func(tx *db.Tx) error {
		// Re-agreed ratchets usually mean that one side restored an old
		// backup, whose agent numbers its messages again from an earlier
		// id: forget which ids were processed, or its new messages would
		// be taken for repeats. (The agent delivers what came before this
		// event first.)
		forget := `DELETE FROM chat_received WHERE contact_id = ?`
		var key any = p.row
		switch {
		case p.table == "chat_members":
			forget = `DELETE FROM chat_member_received WHERE member = ?`
		case !p.mainConn:
			forget, key = `DELETE FROM chat_conn_received WHERE conn_id = ?`, ev.ConnID
		}
		if _, err := tx.Exec(forget, key); err != nil {
			return err
		}
		res, err := tx.Exec(`UPDATE `+p.table+` SET verified_code = NULL WHERE id = ? AND verified_code IS NOT NULL`, p.row)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		cleared = n > 0
		return nil
	})
	if cleared {
		out = append(out, SecurityCodeChanged{Peer: p.peer})
	}
	return out, err
}

package chat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
	"github.com/smpkit/smpkit/reference/ratchet"
)

// handle processes one agent event of a user and returns the chat events
// it produced. The agent delivers an event at least once (again after a
// restart if it was taken but not yet forgotten): each case is idempotent.
func (c *Client) handle(ua *userAgent, ev agent.Event) ([]Event, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ua.mu.Lock()
	defer ua.mu.Unlock()
	switch ev.Kind {
	case agent.EventErr:
		if duplicate(ev.Err) {
			// A second copy of a message already processed: the sender's
			// agent sent it again after a restart (its relay had accepted
			// it, the deletion from its outbox was not committed). Nothing
			// is lost; upstream's chat ignores A_DUPLICATE alike.
			return nil, nil
		}
		return nil, fmt.Errorf("connection %s: %w", ev.ConnID, ev.Err)
	case agent.EventReq:
		return c.onRequest(ctx, ua, ev)
	case agent.EventSwitch, agent.EventRSync:
		return c.onKeyEvent(ctx, ua, ev) // security.go
	}
	var ct Contact
	var conn string
	err := c.db.View(ctx, func(tx *db.Tx) error {
		var err error
		ct, conn, err = contactByConn(tx, ev.ConnID) // probes.go: merged contacts have several
		return err
	})
	if errors.Is(err, ErrNotFound) {
		var m Member
		err = c.db.View(ctx, func(tx *db.Tx) error {
			var err error
			m, err = loadMember(tx, `conn_id = ?`, ev.ConnID)
			return err
		})
		if errors.Is(err, ErrNotFound) {
			return nil, nil // a connection deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		return c.handleMember(ctx, ua, m, ev.ConnID, ev)
	}
	if err != nil {
		return nil, err
	}
	switch ev.Kind {
	case agent.EventConf:
		// The joiner's x.info (CH-CONN-1), or the address owner's when it
		// accepted our request: answer with ours.
		p, err := handshakeProfile(ev.Body)
		if err != nil {
			return nil, err
		}
		if err := c.db.Update(ctx, func(tx *db.Tx) error { return setProfile(tx, &ct, p) }); err != nil {
			return nil, err
		}
		me := ct.Incognito // CH-INCOG-2: never the user's profile then
		if me == nil {
			if me, err = c.userProfile(ctx, ua.id); err != nil {
				return nil, err
			}
		}
		if err := ua.a.Allow(ctx, conn, infoBody(me)); err != nil {
			if st, serr := ua.a.ConnState(ctx, conn); serr == nil && st.Status != "confirmed" {
				return nil, nil // allowed before a restart: this is a repeat
			}
			return nil, err
		}
		return nil, nil
	case agent.EventInfo:
		p, err := handshakeProfile(ev.Body)
		if err != nil {
			return nil, err
		}
		return nil, c.db.Update(ctx, func(tx *db.Tx) error { return setProfile(tx, &ct, p) })
	case agent.EventCon:
		if ct.Status == StatusConnected {
			return nil, nil
		}
		initiated := ct.Status == StatusInvited || ct.Status == StatusRequested
		err := c.db.Update(ctx, func(tx *db.Tx) error {
			if initiated {
				// CH-PROBE-1..2, sent by the side that started it.
				if err := probeTasks(tx, c.cfg.Rand, ct, conn); err != nil {
					return err
				}
			}
			var welcome sql.NullString
			if err := tx.QueryRow(`SELECT welcome FROM chat_contacts WHERE id = ?`, ct.ID).Scan(&welcome); err != nil {
				return err
			}
			if _, err := tx.Exec(`UPDATE chat_contacts SET status = 'connected', welcome = NULL WHERE id = ?`, ct.ID); err != nil {
				return err
			}
			if !welcome.Valid {
				return nil
			}
			// The welcome message is the first item, sent by a task
			// recorded with the connection's state (CH-CONN-2).
			id, body, err := storeSent(tx, c.cfg.Rand, ct.ID, chatmsg.Content{Type: chatmsg.ContentText, Text: welcome.String, HasText: true}, 0)
			if err != nil {
				return err
			}
			return addTask(tx, ua.id, task{Kind: "send", Conn: conn, Body: body, Item: id, Announce: true})
		})
		if err != nil {
			return nil, err
		}
		ct.Status = StatusConnected
		return []Event{ContactConnected{Contact: ct}}, nil
	case agent.EventMsg:
		return c.onMessage(ctx, ua, ct, conn, ev)
	case agent.EventRcvd, agent.EventSent:
		if ev.ConnID != conn {
			return nil, nil // a receipt on a merged contact's older connection
		}
		return c.onReceipt(ctx, ua, ct, conn, ev.MsgID, ev.Kind == agent.EventSent)
	}
	return nil, nil
}

// handshakeProfile reads the profile of a confirmation's connection info.
func handshakeProfile(body []byte) (*chatmsg.Profile, error) {
	items, err := chatmsg.ParseBody(body)
	if err != nil {
		return nil, fmt.Errorf("connection info: %w", err)
	}
	for _, it := range items {
		if it.Err != nil {
			return nil, fmt.Errorf("connection info: %w", it.Err)
		}
		switch e := it.Msg.Event.(type) {
		case *chatmsg.Info:
			return e.Profile, nil
		case *chatmsg.Contact:
			return e.Profile, nil
		}
	}
	return nil, errors.New("connection info without x.info")
}

// onRequest records a contact request to the user's address (CH-CONN-2),
// and accepts it when the address says so.
func (c *Client) onRequest(ctx context.Context, ua *userAgent, ev agent.Event) ([]Event, error) {
	var addrID int64
	var auto, autoIncognito bool
	var welcome sql.NullString
	err := c.db.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT id, auto_accept, auto_incognito, welcome FROM chat_addresses WHERE conn_id = ?`, ev.ConnID).Scan(&addrID, &auto, &autoIncognito, &welcome)
	})
	if errors.Is(err, sql.ErrNoRows) {
		// A group link's request, or the address was deleted (grplinks.go).
		return c.onGroupLinkRequest(ctx, ua, ev)
	}
	if err != nil {
		return nil, err
	}
	m, err := chatmsg.ParseMessage(ev.Body)
	if err != nil {
		return nil, fmt.Errorf("contact request: %w", err)
	}
	x, ok := m.Event.(*chatmsg.Contact)
	if !ok || x.Profile == nil {
		return nil, fmt.Errorf("contact request holds %s, not x.contact", m.Event.Name())
	}
	var reqID int64
	err = c.db.Update(ctx, func(tx *db.Tx) error {
		var key any
		if x.ContactReqID != nil {
			key = x.ContactReqID
		}
		// A repeat of a pending request updates it (CH-CONN-2).
		err := tx.QueryRow(`INSERT INTO chat_requests (address_id, invitation, profile, contact_req_id, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (address_id, contact_req_id) DO UPDATE SET invitation = excluded.invitation, profile = excluded.profile
			RETURNING id`, addrID, ev.Invitation, ev.Body, key, time.Now().Unix()).Scan(&reqID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if auto {
		_, err := c.accept(ctx, ua, reqID, welcome.String, autoIncognito)
		return nil, err
	}
	return []Event{ContactRequested{Request: Request{ID: reqID, UserID: ua.id, Profile: x.Profile}}}, nil
}

// onMessage applies the chat messages of one agent message, once.
func (c *Client) onMessage(ctx context.Context, ua *userAgent, ct Contact, conn string, ev agent.Event) ([]Event, error) {
	items, perr := chatmsg.ParseBody(ev.Body)
	var out []Event
	err := c.db.Update(ctx, func(tx *db.Tx) error {
		out = nil
		q, key := `INSERT INTO chat_received (contact_id, agent_msg) VALUES (?, ?) ON CONFLICT DO NOTHING`, any(ct.ID)
		if ev.ConnID != conn {
			// A merged contact's older connection (CH-PROBE-5): its ids
			// are its own.
			q, key = `INSERT INTO chat_conn_received (conn_id, agent_msg) VALUES (?, ?) ON CONFLICT DO NOTHING`, ev.ConnID
		}
		res, err := tx.Exec(q, key, ev.MsgID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // processed before a restart
		}
		for _, it := range items {
			if it.Err != nil {
				out = append(out, Error{UserID: ua.id, Err: fmt.Errorf("chat: message from contact %d: %w", ct.ID, it.Err)})
				continue
			}
			_, e, err := c.apply(tx, &ct, ev.MsgID, it.Msg)
			if err != nil {
				return err
			}
			if e != nil {
				out = append(out, e)
			}
		}
		// Events carry the items as committed.
		for i, e := range out {
			switch x := e.(type) {
			case NewItem:
				if x.Item, err = loadItem(tx, x.Item.ID); err != nil {
					return err
				}
				out[i] = x
			case ItemUpdated:
				if x.Item, err = loadItem(tx, x.Item.ID); err != nil {
					return err
				}
				out[i] = x
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Acknowledged once processed, with a receipt only where upstream
	// asks for one (CH-RCPT-1). Already acknowledged when this is a
	// repeat.
	if err := c.ack(ctx, ua, ev.ConnID, ev.MsgID, wantsReceipt(items)); err != nil {
		c.cfg.Log.Debug("chat: ack", "err", err)
	}
	if perr != nil {
		out = append(out, Error{UserID: ua.id, Err: fmt.Errorf("chat: message from contact %d: %w", ct.ID, perr)})
	}
	if !ev.Integrity.OK() {
		// Messages lost in transit or out of order (GC-ENV-7): shown to
		// the user as upstream shows its "skipped messages" item.
		out = append([]Event{MessageIntegrity{Contact: ct, Integrity: ev.Integrity}}, out...)
	}
	return out, nil
}

// apply applies one chat message from the contact in tx. It returns the
// item it created or changed (0 for none) and the event to report.
func (c *Client) apply(tx *db.Tx, ct *Contact, agentMsg int64, m *chatmsg.Message) (int64, Event, error) {
	switch e := m.Event.(type) {
	case *chatmsg.Info:
		if e.Profile == nil {
			return 0, nil, nil
		}
		if err := setProfile(tx, ct, e.Profile); err != nil {
			return 0, nil, err
		}
		return 0, ContactUpdated{Contact: *ct}, nil
	case *chatmsg.MsgNew:
		id, err := c.receiveItem(tx, ct, agentMsg, m.MsgID, e.Container)
		if err != nil {
			return 0, nil, err
		}
		return id, NewItem{Item: Item{ID: id}}, nil
	case *chatmsg.MsgUpdate:
		if e.Content == nil {
			return 0, nil, nil
		}
		id, err := peerItem(tx, ct.ID, e.MsgID, false)
		if err != nil {
			return 0, nil, err
		}
		if id == 0 {
			// Unknown msgId: the update creates the item (CH-MSG-UPD-1).
			id, err := c.receiveItem(tx, ct, agentMsg, e.MsgID, chatmsg.Container{Content: e.Content, TTL: e.TTL})
			if err != nil {
				return 0, nil, err
			}
			return id, NewItem{Item: Item{ID: id}}, nil
		}
		if err := setContent(tx, id, e.Content); err != nil {
			return 0, nil, err
		}
		return id, ItemUpdated{Item: Item{ID: id}}, nil
	case *chatmsg.MsgDel:
		// Only the author deletes for everyone (CH-MSG-DEL-1): the
		// contact's own items.
		id, err := peerItem(tx, ct.ID, e.MsgID, false)
		if err != nil || id == 0 {
			return 0, nil, err
		}
		if _, err := tx.Exec(`UPDATE chat_items SET deleted = 1 WHERE id = ?`, id); err != nil {
			return 0, nil, err
		}
		return id, ItemUpdated{Item: Item{ID: id}}, nil
	case *chatmsg.MsgReact:
		if e.Reaction == nil || !e.Reaction.Known() {
			return 0, nil, nil // kept by nobody, shown by nobody (CH-MSG-REACT-2)
		}
		id, err := peerItem(tx, ct.ID, e.MsgID, true)
		if err != nil || id == 0 {
			return 0, nil, err
		}
		if err := setReaction(tx, id, false, e.Reaction.Emoji, e.Add); err != nil {
			return 0, nil, err
		}
		return id, ItemUpdated{Item: Item{ID: id}}, nil
	case *chatmsg.GrpInv:
		// Over a contact connection only (CH-GRP-INV-3): pending.
		e2, err := onGroupInvitation(tx, ct, m.Encode(), e.Invitation)
		return 0, e2, err
	case *chatmsg.DirectDel:
		if _, err := tx.Exec(`UPDATE chat_contacts SET status = 'deleted_by_peer' WHERE id = ?`, ct.ID); err != nil {
			return 0, nil, err
		}
		ct.Status = StatusDeletedByPeer
		return 0, ContactDeleted{Contact: *ct}, nil
	case *chatmsg.Probe, *chatmsg.ProbeCheck, *chatmsg.ProbeOK:
		e2, err := c.onProbe(tx, ct, m.Event) // probes.go
		return 0, e2, err
	}
	return 0, nil, nil // events of groups are not handled yet
}

// peerItem finds the contact's item with the shared id (either side's
// when any).
func peerItem(tx *db.Tx, contactID int64, shared []byte, any bool) (int64, error) {
	if shared == nil {
		return 0, nil
	}
	q := `SELECT id FROM chat_items WHERE contact_id = ? AND shared_id = ? AND sent = 0`
	if any {
		q = `SELECT id FROM chat_items WHERE contact_id = ? AND shared_id = ? ORDER BY sent`
	}
	var id int64
	err := tx.QueryRow(q, contactID, shared).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

func (c *Client) receiveItem(tx *db.Tx, ct *Contact, agentMsg int64, shared []byte, cont chatmsg.Container) (int64, error) {
	if cont.Content == nil {
		cont.Content = &chatmsg.Content{Type: chatmsg.ContentText, HasText: false}
	}
	var quote any
	if cont.Quote != nil && cont.Quote.MsgRef != nil {
		// The quoted item, by its id; sent is the sender's point of view.
		q := `SELECT id FROM chat_items WHERE contact_id = ? AND shared_id = ? AND sent = ?`
		var id int64
		err := tx.QueryRow(q, ct.ID, cont.Quote.MsgRef.MsgID, !cont.Quote.MsgRef.Sent).Scan(&id)
		if err == nil {
			quote = id
		} else if !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
	}
	// A ttl counts only while timed messages are on (CH-TIMED-2); its
	// timer starts when the item is read (ReadItems).
	var ttl any
	if cont.TTL != nil && *cont.TTL > 0 {
		on, _, err := chatTTL(tx, ct.ID)
		if err != nil {
			return 0, err
		}
		if on {
			ttl = *cont.TTL
		}
	}
	res, err := tx.Exec(`INSERT INTO chat_items (contact_id, sent, shared_id, agent_msg, content, text, quote_id, status, created_at, ttl) VALUES (?, 0, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ct.ID, shared, agentMsg, newBody(shared, cont), cont.Content.DisplayText(), quote, ItemReceived, time.Now().UnixMilli(), ttl)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// onReceipt marks our message delivered (CH-RCPT-1) and finishes a
// contact deletion once a relay accepted its x.direct.del (SENT; sent,
// the peer has it once it reads its queue) or, from a peer of an earlier
// revision, its receipt came (CH-CONN-4).
func (c *Client) onReceipt(ctx context.Context, ua *userAgent, ct Contact, conn string, msgID int64, sent bool) ([]Event, error) {
	var out []Event
	var del bool
	err := c.db.Update(ctx, func(tx *db.Tx) error {
		out, del = nil, false
		var dm sql.NullInt64
		if err := tx.QueryRow(`SELECT del_msg FROM chat_contacts WHERE id = ?`, ct.ID).Scan(&dm); err != nil {
			return err
		}
		if ct.Status == StatusDeleting && dm.Valid && dm.Int64 == msgID {
			del = true
			return nil
		}
		if sent {
			return nil
		}
		var id int64
		// The newest with the id: a restored backup numbers from an
		// earlier id again (CH-RSYNC-1).
		err := tx.QueryRow(`SELECT id FROM chat_items WHERE contact_id = ? AND sent = 1 AND agent_msg = ? ORDER BY id DESC LIMIT 1`, ct.ID, msgID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // an edit, a deletion or a reaction
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE chat_items SET status = ? WHERE id = ?`, ItemDelivered, id); err != nil {
			return err
		}
		it, err := loadItem(tx, id)
		out = []Event{ItemUpdated{Item: it}}
		return err
	})
	if err != nil {
		return nil, err
	}
	if del {
		return nil, c.removeContact(ctx, ua, ct.ID, conn)
	}
	return out, nil
}

// duplicate reports whether an agent error is the rejection of a copy of a
// message decrypted before. Errors of events persisted across a restart
// come back as text only.
func duplicate(err error) bool {
	return errors.Is(err, ratchet.ErrDuplicate) || strings.HasSuffix(err.Error(), ratchet.ErrDuplicate.Error())
}

package chat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
)

// ItemStatus is where a message is.
type ItemStatus string

const (
	ItemSending   ItemStatus = "sending"   // stored, not yet handed to the agent
	ItemSent      ItemStatus = "sent"      // committed by the agent, on its way
	ItemDelivered ItemStatus = "delivered" // the contact's agent sent a receipt (CH-RCPT-1)
	ItemReceived  ItemStatus = "received"
)

// Item is one message of a conversation.
type Item struct {
	ID, UserID, ContactID int64
	Sent                  bool   // we sent it
	SharedID              []byte // msgId (CH-MSG-2)
	Content               chatmsg.Content
	Text                  string // what is shown (CH-CONTENT-3)
	QuoteID               int64  // the item it replies to, 0 for none or unknown
	Status                ItemStatus
	Edited                bool
	Deleted               bool // deleted for everyone by its author (CH-MSG-DEL-1)
	Reactions             []Reaction
	CreatedAt             time.Time
	// TTL is how long a disappearing message lives (CH-TIMED-1), 0 for
	// others; DeleteAt is when it goes (zero until a received one is read).
	TTL      time.Duration
	DeleteAt time.Time
}

// Reaction is one reaction to an item: ours (Sent) or the contact's.
type Reaction struct {
	Emoji string
	Sent  bool
}

const itemCols = `i.id, c.user_id, i.contact_id, i.sent, i.shared_id, i.content, i.text, coalesce(i.quote_id, 0), i.status, i.edited, i.deleted, i.created_at, coalesce(i.ttl, 0), coalesce(i.delete_at, 0)`

func scanItem(s interface{ Scan(...any) error }) (Item, error) {
	var it Item
	var cb []byte
	var created, ttl, deleteAt int64
	if err := s.Scan(&it.ID, &it.UserID, &it.ContactID, &it.Sent, &it.SharedID, &cb, &it.Text, &it.QuoteID, &it.Status, &it.Edited, &it.Deleted, &created, &ttl, &deleteAt); err != nil {
		return Item{}, err
	}
	it.CreatedAt = time.UnixMilli(created)
	it.TTL = time.Duration(ttl) * time.Second
	if deleteAt != 0 {
		it.DeleteAt = time.UnixMilli(deleteAt)
	}
	m, err := chatmsg.ParseMessage(cb)
	if err != nil {
		return Item{}, fmt.Errorf("chat: item %d: %w", it.ID, err)
	}
	if n, ok := m.Event.(*chatmsg.MsgNew); ok && n.Content != nil {
		it.Content = *n.Content
	}
	return it, nil
}

func loadItem(tx *db.Tx, id int64) (Item, error) {
	it, err := scanItem(tx.QueryRow(`SELECT `+itemCols+` FROM chat_items i JOIN chat_contacts c ON c.id = i.contact_id WHERE i.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Item{}, fmt.Errorf("chat: item %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Item{}, err
	}
	rows, err := tx.Query(`SELECT reaction, sent FROM chat_reactions WHERE item_id = ? ORDER BY sent, reaction`, id)
	if err != nil {
		return Item{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var r Reaction
		if err := rows.Scan(&r.Emoji, &r.Sent); err != nil {
			return Item{}, err
		}
		it.Reactions = append(it.Reactions, r)
	}
	return it, rows.Err()
}

// Item returns one item.
func (c *Client) Item(ctx context.Context, id int64) (Item, error) {
	var it Item
	err := c.db.View(ctx, func(tx *db.Tx) error {
		var err error
		it, err = loadItem(tx, id)
		return err
	})
	return it, err
}

// Items returns a page of a contact's history, oldest first: up to limit
// items before the item with id before (0: the newest).
func (c *Client) Items(ctx context.Context, contactID, before int64, limit int) ([]Item, error) {
	var its []Item
	err := c.db.View(ctx, func(tx *db.Tx) error {
		its = nil
		if before == 0 {
			before = 1<<63 - 1
		}
		ids, err := column[int64](tx, `SELECT id FROM chat_items WHERE contact_id = ? AND id < ? ORDER BY id DESC LIMIT ?`, contactID, before, limit)
		if err != nil {
			return err
		}
		for i := len(ids) - 1; i >= 0; i-- {
			it, err := loadItem(tx, ids[i])
			if err != nil {
				return err
			}
			its = append(its, it)
		}
		return nil
	})
	return its, err
}

func newBody(sharedID []byte, cont chatmsg.Container) []byte {
	return (&chatmsg.Message{V: chatmsg.Supported, MsgID: sharedID, Event: &chatmsg.MsgNew{Container: cont}}).Encode()
}

// connectedContact returns the contact's agent connection and user, which
// must be connected to send.
func (c *Client) connectedContact(ctx context.Context, contactID int64) (Contact, string, *userAgent, error) {
	var ct Contact
	var conn string
	err := c.db.View(ctx, func(tx *db.Tx) error {
		var err error
		ct, conn, err = getContact(tx, `id = ?`, contactID)
		return err
	})
	if err != nil {
		return Contact{}, "", nil, err
	}
	if ct.Status != StatusConnected {
		return Contact{}, "", nil, fmt.Errorf("chat: contact %d is %s, not connected", contactID, ct.Status)
	}
	ua, err := c.user(ct.UserID)
	return ct, conn, ua, err
}

// SendText sends a text message.
func (c *Client) SendText(ctx context.Context, contactID int64, text string) (Item, error) {
	return c.SendMessage(ctx, contactID, chatmsg.Content{Type: chatmsg.ContentText, Text: text, HasText: true}, 0)
}

// SendMessage sends a message (x.msg.new, CH-MSG-NEW-1), as a reply to the
// item replyTo when not 0 (a quote). The item is in the history before it
// is handed to the agent, so nothing sent is missing from it.
func (c *Client) SendMessage(ctx context.Context, contactID int64, content chatmsg.Content, replyTo int64) (Item, error) {
	_, conn, ua, err := c.connectedContact(ctx, contactID)
	if err != nil {
		return Item{}, err
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	return c.sendItem(ctx, ua, contactID, conn, content, replyTo)
}

// sendItem stores a message with the task that sends it; called with
// ua.mu held, so the receipt is processed after the agent message id is
// recorded.
func (c *Client) sendItem(ctx context.Context, ua *userAgent, contactID int64, conn string, content chatmsg.Content, replyTo int64) (Item, error) {
	var id int64
	err := c.commit(ctx, ua, func(tx *db.Tx) error {
		var body []byte
		var err error
		if id, body, err = storeSent(tx, c.cfg.Rand, contactID, content, replyTo); err != nil {
			return err
		}
		return addTask(tx, ua.id, task{Kind: "send", Conn: conn, Body: body, Item: id})
	})
	if err != nil {
		return Item{}, fmt.Errorf("chat: send: %w", err)
	}
	return c.Item(context.WithoutCancel(ctx), id)
}

// storeSent records a message we send, before the agent has it.
func storeSent(tx *db.Tx, rnd io.Reader, contactID int64, content chatmsg.Content, replyTo int64) (int64, []byte, error) {
	return storeSentTTL(tx, rnd, contactID, content, replyTo, 0)
}

// storeSentTTL is storeSent for a message with its own ttl in seconds (0:
// the chat's, timed.go); a disappearing message carries its ttl and goes
// here that long after it was sent (CH-TIMED-1).
func storeSentTTL(tx *db.Tx, rnd io.Reader, contactID int64, content chatmsg.Content, replyTo, ttl int64) (int64, []byte, error) {
	shared, err := chatmsg.NewID(rnd)
	if err != nil {
		return 0, nil, err
	}
	cont := chatmsg.Container{Content: &content}
	if ttl, err = sendTTL(tx, contactID, ttl); err != nil {
		return 0, nil, err
	}
	var ttlCol, deleteAt any
	now := time.Now().UnixMilli()
	if ttl > 0 {
		cont.TTL, ttlCol, deleteAt = &ttl, ttl, now+ttl*1000
	}
	var quote any
	if replyTo != 0 {
		q, err := loadItem(tx, replyTo)
		if err != nil {
			return 0, nil, err
		}
		if q.ContactID != contactID {
			return 0, nil, fmt.Errorf("chat: item %d is not of contact %d", replyTo, contactID)
		}
		qc := q.Content
		cont.Quote = &chatmsg.Quote{MsgRef: &chatmsg.MsgRef{MsgID: q.SharedID, SentAt: q.CreatedAt.UTC(), Sent: q.Sent}, Content: &qc}
		quote = replyTo
	}
	body := newBody(shared, cont)
	res, err := tx.Exec(`INSERT INTO chat_items (contact_id, sent, shared_id, content, text, quote_id, status, created_at, ttl, delete_at) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?)`,
		contactID, shared, body, content.DisplayText(), quote, ItemSending, now, ttlCol, deleteAt)
	if err != nil {
		return 0, nil, err
	}
	id, err := res.LastInsertId()
	return id, body, err
}

// ownItem loads an item we sent, for editing or deleting (CH-MSG-UPD-2).
func (c *Client) ownItem(ctx context.Context, id int64) (Item, string, *userAgent, error) {
	it, err := c.Item(ctx, id)
	if err != nil {
		return Item{}, "", nil, err
	}
	if !it.Sent {
		return Item{}, "", nil, fmt.Errorf("chat: item %d was received: only own messages change for everyone", id)
	}
	if it.Deleted {
		return Item{}, "", nil, fmt.Errorf("chat: item %d is deleted", id)
	}
	_, conn, ua, err := c.connectedContact(ctx, it.ContactID)
	return it, conn, ua, err
}

// UpdateMessage edits a message we sent (x.msg.update, CH-MSG-UPD-1..2).
func (c *Client) UpdateMessage(ctx context.Context, itemID int64, content chatmsg.Content) (Item, error) {
	it, conn, ua, err := c.ownItem(ctx, itemID)
	if err != nil {
		return Item{}, err
	}
	body := updateBody(it, &content)
	ua.mu.Lock()
	defer ua.mu.Unlock()
	err = c.commit(ctx, ua, func(tx *db.Tx) error {
		if err := setContent(tx, itemID, &content); err != nil {
			return err
		}
		return addTask(tx, ua.id, task{Kind: "send", Conn: conn, Body: body})
	})
	if err != nil {
		return Item{}, fmt.Errorf("chat: update: %w", err)
	}
	return c.Item(context.WithoutCancel(ctx), itemID)
}

// updateBody is x.msg.update for our item; a disappearing one keeps its
// ttl, as upstream sends it.
func updateBody(it Item, content *chatmsg.Content) []byte {
	up := &chatmsg.MsgUpdate{MsgID: it.SharedID, Content: content}
	if it.TTL > 0 {
		ttl := int64(it.TTL / time.Second)
		up.TTL = &ttl
	}
	return (&chatmsg.Message{V: chatmsg.Supported, Event: up}).Encode()
}

// setContent replaces an item's content, keeping the rest of its
// container (the quote).
func setContent(tx *db.Tx, id int64, content *chatmsg.Content) error {
	return replaceContent(tx, "chat_items", "item", id, content)
}

// replaceContent sets the content of the x.msg.new kept for item id in
// table (chat_items or chat_group_items, named what in errors), marks the
// item edited and keeps the rest of its container.
func replaceContent(tx *db.Tx, table, what string, id int64, content *chatmsg.Content) error {
	var cb, shared []byte
	if err := tx.QueryRow(`SELECT content, shared_id FROM `+table+` WHERE id = ?`, id).Scan(&cb, &shared); err != nil {
		return err
	}
	m, err := chatmsg.ParseMessage(cb)
	if err != nil {
		return err
	}
	n, ok := m.Event.(*chatmsg.MsgNew)
	if !ok {
		return fmt.Errorf("chat: %s %d holds %s", what, id, m.Event.Name())
	}
	n.Content = content
	_, err = tx.Exec(`UPDATE `+table+` SET content = ?, text = ?, edited = 1 WHERE id = ?`, newBody(shared, n.Container), content.DisplayText(), id)
	return err
}

// DeleteMessage deletes an item: for everyone (x.msg.del, CH-MSG-DEL-1;
// only a message we sent) or only here.
func (c *Client) DeleteMessage(ctx context.Context, itemID int64, forEveryone bool) error {
	if !forEveryone {
		return c.db.Update(ctx, func(tx *db.Tx) error {
			res, err := tx.Exec(`DELETE FROM chat_items WHERE id = ?`, itemID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("chat: item %d: %w", itemID, ErrNotFound)
			}
			return nil
		})
	}
	it, conn, ua, err := c.ownItem(ctx, itemID)
	if err != nil {
		return err
	}
	body := (&chatmsg.Message{V: chatmsg.Supported, Event: &chatmsg.MsgDel{MsgID: it.SharedID}}).Encode()
	ua.mu.Lock()
	defer ua.mu.Unlock()
	return c.commit(ctx, ua, func(tx *db.Tx) error {
		if _, err := tx.Exec(`UPDATE chat_items SET deleted = 1 WHERE id = ?`, itemID); err != nil {
			return err
		}
		return addTask(tx, ua.id, task{Kind: "send", Conn: conn, Body: body})
	})
}

// React adds or removes our emoji reaction to an item (x.msg.react,
// CH-MSG-REACT-1).
func (c *Client) React(ctx context.Context, itemID int64, emoji string, add bool) (Item, error) {
	r := &chatmsg.Reaction{Type: "emoji", Emoji: emoji}
	if !r.Known() {
		return Item{}, fmt.Errorf("chat: reaction %q is not one of chatmsg.Emojis", emoji)
	}
	it, err := c.Item(ctx, itemID)
	if err != nil {
		return Item{}, err
	}
	if it.Deleted || it.SharedID == nil {
		return Item{}, fmt.Errorf("chat: item %d cannot be reacted to", itemID)
	}
	_, conn, ua, err := c.connectedContact(ctx, it.ContactID)
	if err != nil {
		return Item{}, err
	}
	body := (&chatmsg.Message{V: chatmsg.Supported, Event: &chatmsg.MsgReact{MsgID: it.SharedID, Reaction: r, Add: add}}).Encode()
	ua.mu.Lock()
	defer ua.mu.Unlock()
	err = c.commit(ctx, ua, func(tx *db.Tx) error {
		if err := setReaction(tx, itemID, true, emoji, add); err != nil {
			return err
		}
		return addTask(tx, ua.id, task{Kind: "send", Conn: conn, Body: body})
	})
	if err != nil {
		return Item{}, fmt.Errorf("chat: react: %w", err)
	}
	return c.Item(context.WithoutCancel(ctx), itemID)
}

func setReaction(tx *db.Tx, itemID int64, sent bool, reaction string, add bool) error {
	var err error
	if add {
		_, err = tx.Exec(`INSERT INTO chat_reactions (item_id, sent, reaction) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, itemID, sent, reaction)
	} else {
		_, err = tx.Exec(`DELETE FROM chat_reactions WHERE item_id = ? AND sent = ? AND reaction = ?`, itemID, sent, reaction)
	}
	return err
}

// Search returns the user's items (of all contacts) whose text contains
// query, case-insensitively for ASCII, newest first, up to limit. Items
// deleted for everyone are not found.
func (c *Client) Search(ctx context.Context, userID int64, query string, limit int) ([]Item, error) {
	var its []Item
	err := c.db.View(ctx, func(tx *db.Tx) error {
		its = nil
		ids, err := column[int64](tx, `SELECT i.id FROM chat_items i JOIN chat_contacts c ON c.id = i.contact_id
			WHERE c.user_id = ? AND i.deleted = 0 AND i.text LIKE '%' || ? || '%' ESCAPE '\' ORDER BY i.id DESC LIMIT ?`,
			userID, likeEscape(query), limit)
		if err != nil {
			return err
		}
		for _, id := range ids {
			it, err := loadItem(tx, id)
			if err != nil {
				return err
			}
			its = append(its, it)
		}
		return nil
	})
	return its, err
}

func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

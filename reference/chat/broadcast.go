package chat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
)

// Broadcast is one message sent to a chosen set of contacts (upstream's
// feed, CH-BCAST-1): one item per contact, each sent over that contact's
// own connection as an ordinary message with its own msgId, so no
// recipient can tell that others got it.
type Broadcast struct {
	ID, UserID int64
	Content    chatmsg.Content
	Text       string
	Edited     bool
	Deleted    bool
	CreatedAt  time.Time
	// Items are the copies, one per contact, in the contacts' histories.
	Items []Item
}

// Broadcast sends content to each of the contacts (all of one user, all
// connected) and records it as one broadcast with its copies.
func (c *Client) Broadcast(ctx context.Context, contactIDs []int64, content chatmsg.Content) (Broadcast, error) {
	if len(contactIDs) == 0 {
		return Broadcast{}, errors.New("chat: broadcast to no contacts")
	}
	conns := make([]string, len(contactIDs))
	var ua *userAgent
	seen := map[int64]bool{}
	for i, id := range contactIDs {
		if seen[id] {
			return Broadcast{}, fmt.Errorf("chat: broadcast: contact %d twice", id)
		}
		seen[id] = true
		_, conn, u, err := c.connectedContact(ctx, id)
		if err != nil {
			return Broadcast{}, fmt.Errorf("chat: broadcast: %w", err)
		}
		if ua != nil && u != ua {
			return Broadcast{}, fmt.Errorf("chat: broadcast: contact %d is another user's", id)
		}
		ua, conns[i] = u, conn
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	var bid int64
	err := c.commit(ctx, ua, func(tx *db.Tx) error {
		res, err := tx.Exec(`INSERT INTO chat_broadcasts (user_id, content, text, created_at) VALUES (?, ?, ?, ?)`,
			ua.id, newBody(nil, chatmsg.Container{Content: &content}), content.DisplayText(), time.Now().UnixMilli())
		if err != nil {
			return err
		}
		if bid, err = res.LastInsertId(); err != nil {
			return err
		}
		for i, id := range contactIDs {
			// A fresh msgId per copy (storeSent), so that recipients
			// comparing ids cannot link their copies.
			item, body, err := storeSent(tx, c.cfg.Rand, id, content, 0)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(`UPDATE chat_items SET broadcast_id = ? WHERE id = ?`, bid, item); err != nil {
				return err
			}
			if err := addTask(tx, ua.id, task{Kind: "send", Conn: conns[i], Body: body, Item: item}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Broadcast{}, fmt.Errorf("chat: broadcast: %w", err)
	}
	return c.GetBroadcast(context.WithoutCancel(ctx), bid)
}

// GetBroadcast returns a broadcast with its copies.
func (c *Client) GetBroadcast(ctx context.Context, id int64) (Broadcast, error) {
	var b Broadcast
	err := c.db.View(ctx, func(tx *db.Tx) error {
		var err error
		b, err = loadBroadcast(tx, id)
		return err
	})
	return b, err
}

func loadBroadcast(tx *db.Tx, id int64) (Broadcast, error) {
	b := Broadcast{ID: id}
	var cb []byte
	var created int64
	err := tx.QueryRow(`SELECT user_id, content, text, edited, deleted, created_at FROM chat_broadcasts WHERE id = ?`, id).
		Scan(&b.UserID, &cb, &b.Text, &b.Edited, &b.Deleted, &created)
	if err != nil {
		return Broadcast{}, fmt.Errorf("chat: broadcast %d: %w", id, notFound(err))
	}
	b.CreatedAt = time.UnixMilli(created)
	m, err := chatmsg.ParseMessage(cb)
	if err != nil {
		return Broadcast{}, fmt.Errorf("chat: broadcast %d: %w", id, err)
	}
	if n, ok := m.Event.(*chatmsg.MsgNew); ok && n.Content != nil {
		b.Content = *n.Content
	}
	ids, err := column[int64](tx, `SELECT id FROM chat_items WHERE broadcast_id = ? ORDER BY id`, id)
	if err != nil {
		return Broadcast{}, err
	}
	for _, iid := range ids {
		it, err := loadItem(tx, iid)
		if err != nil {
			return Broadcast{}, err
		}
		b.Items = append(b.Items, it)
	}
	return b, nil
}

// broadcastCopies returns the copies of a live broadcast that can still
// change for everyone, with their contacts' connections: a copy deleted
// here, or of a contact no longer connected, is skipped.
func (c *Client) broadcastCopies(ctx context.Context, id int64) (Broadcast, *userAgent, map[int64]string, error) {
	b, err := c.GetBroadcast(ctx, id)
	if err != nil {
		return Broadcast{}, nil, nil, err
	}
	if b.Deleted {
		return Broadcast{}, nil, nil, fmt.Errorf("chat: broadcast %d is deleted", id)
	}
	ua, err := c.user(b.UserID)
	if err != nil {
		return Broadcast{}, nil, nil, err
	}
	conns := map[int64]string{}
	for _, it := range b.Items {
		if it.Deleted {
			continue
		}
		if _, conn, _, err := c.connectedContact(ctx, it.ContactID); err == nil {
			conns[it.ID] = conn
		}
	}
	return b, ua, conns, nil
}

// UpdateBroadcast edits a broadcast: every copy changes, each by an
// x.msg.update with its own msgId over its contact's connection
// (CH-BCAST-2).
func (c *Client) UpdateBroadcast(ctx context.Context, id int64, content chatmsg.Content) (Broadcast, error) {
	b, ua, conns, err := c.broadcastCopies(ctx, id)
	if err != nil {
		return Broadcast{}, err
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	err = c.commit(ctx, ua, func(tx *db.Tx) error {
		if _, err := tx.Exec(`UPDATE chat_broadcasts SET content = ?, text = ?, edited = 1 WHERE id = ?`,
			newBody(nil, chatmsg.Container{Content: &content}), content.DisplayText(), id); err != nil {
			return err
		}
		for _, it := range b.Items {
			conn, ok := conns[it.ID]
			if !ok {
				continue
			}
			if err := setContent(tx, it.ID, &content); err != nil {
				return err
			}
			body := updateBody(it, &content)
			if err := addTask(tx, ua.id, task{Kind: "send", Conn: conn, Body: body}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Broadcast{}, fmt.Errorf("chat: update broadcast: %w", err)
	}
	return c.GetBroadcast(context.WithoutCancel(ctx), id)
}

// DeleteBroadcast deletes a broadcast for everyone: each copy by an
// x.msg.del with its own msgId (CH-BCAST-2).
func (c *Client) DeleteBroadcast(ctx context.Context, id int64) error {
	b, ua, conns, err := c.broadcastCopies(ctx, id)
	if err != nil {
		return err
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	return c.commit(ctx, ua, func(tx *db.Tx) error {
		if _, err := tx.Exec(`UPDATE chat_broadcasts SET deleted = 1 WHERE id = ?`, id); err != nil {
			return err
		}
		for _, it := range b.Items {
			conn, ok := conns[it.ID]
			if !ok {
				continue
			}
			if _, err := tx.Exec(`UPDATE chat_items SET deleted = 1 WHERE id = ?`, it.ID); err != nil {
				return err
			}
			body := (&chatmsg.Message{V: chatmsg.Supported, Event: &chatmsg.MsgDel{MsgID: it.SharedID}}).Encode()
			if err := addTask(tx, ua.id, task{Kind: "send", Conn: conn, Body: body}); err != nil {
				return err
			}
		}
		return nil
	})
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

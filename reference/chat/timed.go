package chat

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
)

// Disappearing messages (upstream's timed messages, CH-TIMED-1..3). The
// timedMessages preference is symmetric (CH-PREF-1): on for both when
// neither side says "no". The user's preference for a contact is the one
// set for it by SetTimedMessages, else the one of the user's profile (not
// for an incognito contact), else the default (yes, no ttl).

// ItemExpired: a disappearing message reached its time and was deleted
// here (CH-TIMED-3). Nothing is sent: each side deletes its own copy.
type ItemExpired struct{ Item Item }

func (e ItemExpired) User() int64 { return e.Item.UserID }

// timedPref returns p's timedMessages preference, or the default.
func timedPref(p *chatmsg.Profile) chatmsg.Preference {
	if p != nil && p.Preferences != nil && p.Preferences.TimedMessages != nil {
		return *p.Preferences.TimedMessages
	}
	return chatmsg.Preference{Allow: "yes"}
}

// userTimedPref is the user's timedMessages preference for a contact.
func userTimedPref(tx *db.Tx, contactID int64) (chatmsg.Preference, error) {
	var allow sql.NullString
	var ttl sql.NullInt64
	var ub []byte
	var incognito bool
	err := tx.QueryRow(`SELECT c.timed_allow, c.timed_ttl, u.profile, c.incognito IS NOT NULL FROM chat_contacts c JOIN chat_users u ON u.id = c.user_id WHERE c.id = ?`, contactID).
		Scan(&allow, &ttl, &ub, &incognito)
	if err != nil {
		return chatmsg.Preference{}, notFound(err)
	}
	if allow.Valid {
		p := chatmsg.Preference{Allow: allow.String}
		if ttl.Valid {
			p.TTL = &ttl.Int64
		}
		return p, nil
	}
	if incognito {
		// The main profile's preferences do not apply to an incognito
		// contact (upstream's mergeUserChatPrefs).
		return timedPref(nil), nil
	}
	up, err := parseInfo(ub)
	if err != nil {
		return chatmsg.Preference{}, err
	}
	return timedPref(up), nil
}

// chatTTL says whether timed messages are on with the contact and, if so,
// the ttl of the user's preference (0 for none): upstream's
// contactTimedTTL.
func chatTTL(tx *db.Tx, contactID int64) (bool, int64, error) {
	mine, err := userTimedPref(tx, contactID)
	if err != nil {
		return false, 0, err
	}
	var pb []byte
	if err := tx.QueryRow(`SELECT profile FROM chat_contacts WHERE id = ?`, contactID).Scan(&pb); err != nil {
		return false, 0, err
	}
	var peer *chatmsg.Profile
	if pb != nil {
		if peer, err = parseInfo(pb); err != nil {
			return false, 0, err
		}
	}
	theirs := timedPref(peer)
	if mine.Allow == "no" || theirs.Allow == "no" {
		return false, 0, nil
	}
	if mine.TTL != nil {
		return true, *mine.TTL, nil
	}
	return true, 0, nil
}

// sendTTL is the ttl of a message we send to the contact: the message's
// own (ttl > 0) or the chat's, when timed messages are on; 0 for a
// message that does not disappear (upstream's sndContactCITimed).
func sendTTL(tx *db.Tx, contactID int64, ttl int64) (int64, error) {
	on, chat, err := chatTTL(tx, contactID)
	if err != nil || !on {
		return 0, err
	}
	if ttl > 0 {
		return ttl, nil
	}
	return chat, nil
}

// SendMessageTTL is SendMessage for a message that disappears ttl after it
// was sent (here) and after it was read (at the contact), when timed
// messages are on with the contact (CH-TIMED-1); otherwise it is sent as
// an ordinary message.
func (c *Client) SendMessageTTL(ctx context.Context, contactID int64, content chatmsg.Content, replyTo int64, ttl time.Duration) (Item, error) {
	if ttl < time.Second {
		return Item{}, fmt.Errorf("chat: ttl %v: at least a second", ttl)
	}
	_, conn, ua, err := c.connectedContact(ctx, contactID)
	if err != nil {
		return Item{}, err
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	var id int64
	err = c.commit(ctx, ua, func(tx *db.Tx) error {
		var body []byte
		var err error
		if id, body, err = storeSentTTL(tx, c.cfg.Rand, contactID, content, replyTo, int64(ttl/time.Second)); err != nil {
			return err
		}
		return addTask(tx, ua.id, task{Kind: "send", Conn: conn, Body: body, Item: id})
	})
	if err != nil {
		return Item{}, fmt.Errorf("chat: send: %w", err)
	}
	return c.Item(context.WithoutCancel(ctx), id)
}

// SetTimedMessages sets the user's timedMessages preference for one
// contact: allowed with a default ttl for our messages (ttl > 0), or
// refused (ttl 0: "no", which turns timed messages off both ways). The
// contact is told by x.info with the profile carrying it (CH-TIMED-2).
func (c *Client) SetTimedMessages(ctx context.Context, contactID int64, ttl time.Duration) error {
	ct, conn, ua, err := c.connectedContact(ctx, contactID)
	if err != nil {
		return err
	}
	pref := chatmsg.Preference{Allow: "no"}
	if ttl > 0 {
		if ttl < time.Second {
			return fmt.Errorf("chat: ttl %v: at least a second", ttl)
		}
		s := int64(ttl / time.Second)
		pref = chatmsg.Preference{Allow: "yes", TTL: &s}
	}
	p := ct.Incognito
	if p == nil {
		if p, err = c.userProfile(ctx, ct.UserID); err != nil {
			return err
		}
	}
	sent := *p
	prefs := chatmsg.Preferences{}
	if p.Preferences != nil {
		prefs = *p.Preferences
	}
	prefs.TimedMessages = &pref
	sent.Preferences = &prefs
	ua.mu.Lock()
	defer ua.mu.Unlock()
	return c.commit(ctx, ua, func(tx *db.Tx) error {
		if _, err := tx.Exec(`UPDATE chat_contacts SET timed_allow = ?, timed_ttl = ? WHERE id = ?`, pref.Allow, pref.TTL, contactID); err != nil {
			return err
		}
		return addTask(tx, ua.id, task{Kind: "send", Conn: conn, Body: infoBody(&sent)})
	})
}

// ReadItems marks the contact's received items read: the timers of its
// disappearing messages start (CH-TIMED-2, upstream starts them when an
// item is read).
func (c *Client) ReadItems(ctx context.Context, contactID int64) error {
	now := time.Now().UnixMilli()
	err := c.db.Update(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(`UPDATE chat_items SET delete_at = ? + ttl * 1000 WHERE contact_id = ? AND sent = 0 AND ttl IS NOT NULL AND delete_at IS NULL`, now, contactID)
		return err
	})
	if err != nil {
		return fmt.Errorf("chat: read: %w", err)
	}
	return nil
}

// expireItems deletes the user's disappearing messages whose time has
// come (CH-TIMED-3) and returns their events.
func (c *Client) expireItems(ctx context.Context, userID int64) ([]Event, error) {
	due := func(tx *db.Tx) ([]int64, error) {
		return column[int64](tx, `SELECT i.id FROM chat_items i JOIN chat_contacts c ON c.id = i.contact_id
			WHERE c.user_id = ? AND i.delete_at IS NOT NULL AND i.delete_at <= ?`, userID, time.Now().UnixMilli())
	}
	var ids []int64
	// Most ticks find nothing: look before taking the writer.
	if err := c.db.View(ctx, func(tx *db.Tx) error {
		var err error
		ids, err = due(tx)
		return err
	}); err != nil || len(ids) == 0 {
		return nil, err
	}
	var out []Event
	err := c.db.Update(ctx, func(tx *db.Tx) error {
		out = nil
		ids, err := due(tx)
		if err != nil {
			return err
		}
		for _, id := range ids {
			it, err := loadItem(tx, id)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(`DELETE FROM chat_items WHERE id = ?`, id); err != nil {
				return err
			}
			out = append(out, ItemExpired{Item: it})
		}
		return nil
	})
	return out, err
}

// expire runs expireItems for the run loop; a failure is logged and
// retried at the next tick.
func (c *Client) expire(ua *userAgent) []Event {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := c.expireItems(ctx, ua.id)
	if err != nil {
		c.cfg.Log.Debug("chat: expire items", "user", ua.id, "err", err)
	}
	return out
}

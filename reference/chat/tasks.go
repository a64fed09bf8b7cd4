package chat

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
)

// task is agent work that processing a message decided: recorded in the
// transaction that decided it (chat_tasks), done after its commit, and
// deleted once done. A task that keeps failing is dropped after
// maxAttempts and reported.
type task struct {
	Kind string `json:"kind"` // send, intro_inv, join_member
	// send: the body to send on Conn, for item Item when not 0.
	Conn string `json:"conn,omitempty"`
	Body []byte `json:"body,omitempty"`
	Item int64  `json:"item,omitempty"`
	// Announce: report the item (a message the user did not send by a
	// call, the welcome). DelContact: the x.direct.del of that contact.
	Announce   bool  `json:"announce,omitempty"`
	DelContact int64 `json:"del_contact,omitempty"`
	// DelMember: the x.grp.leave, x.grp.mem.del or x.grp.del to that
	// member, whose SENT ends our connection with it.
	DelMember int64 `json:"del_member,omitempty"`
	// intro_inv: make an invitation for Member and send it to the host on
	// Conn (CH-GRP-INTRO-3). join_member: join Link for Member with our
	// member info in Group (CH-GRP-INTRO-5).
	Member   int64  `json:"member,omitempty"`
	MemberID []byte `json:"member_id,omitempty"`
	Link     string `json:"link,omitempty"`
	Group    int64  `json:"group,omitempty"`
}

const maxAttempts = 20

func addTask(tx *db.Tx, userID int64, t task) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	_, err = tx.Exec(`INSERT INTO chat_tasks (user_id, task) VALUES (?, ?)`, userID, b)
	return err
}

// runTasks does the user's pending tasks in order; called with ua.mu
// held. It stops at the first failure, which it returns: the rest waits
// for the next run, so tasks keep their order.
func (c *Client) runTasks(ctx context.Context, ua *userAgent) ([]Event, error) {
	var out []Event
	for {
		var id int64
		var b []byte
		var attempts int
		err := c.db.View(ctx, func(tx *db.Tx) error {
			return tx.QueryRow(`SELECT id, task, attempts FROM chat_tasks WHERE user_id = ? ORDER BY id LIMIT 1`, ua.id).Scan(&id, &b, &attempts)
		})
		if err != nil {
			return out, nil // none left (or the database fails: later)
		}
		var t task
		if err := json.Unmarshal(b, &t); err != nil {
			return out, c.dropTask(ctx, id, err)
		}
		evs, err := c.doTask(ctx, ua, id, t)
		out = append(out, evs...)
		if err != nil {
			if attempts+1 >= maxAttempts {
				return out, c.dropTask(ctx, id, err)
			}
			c.db.Update(ctx, func(tx *db.Tx) error {
				_, err := tx.Exec(`UPDATE chat_tasks SET attempts = attempts + 1 WHERE id = ?`, id)
				return err
			})
			ua.retry = true
			return out, err
		}
	}
}

func (c *Client) dropTask(ctx context.Context, id int64, cause error) error {
	c.db.Update(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(`DELETE FROM chat_tasks WHERE id = ?`, id)
		return err
	})
	return fmt.Errorf("chat: task %d given up: %w", id, cause)
}

// doTask does one task and deletes it in the transaction that records
// its result.
func (c *Client) doTask(ctx context.Context, ua *userAgent, id int64, t task) ([]Event, error) {
	done := func(fn func(tx *db.Tx) error) error {
		return c.db.Update(ctx, func(tx *db.Tx) error {
			if fn != nil {
				if err := fn(tx); err != nil {
					return err
				}
			}
			_, err := tx.Exec(`DELETE FROM chat_tasks WHERE id = ?`, id)
			return err
		})
	}
	switch t.Kind {
	case "send":
		send := ua.a.Send
		if t.DelContact != 0 || t.DelMember != 0 {
			// A goodbye: its connection goes once a relay has it (SENT).
			send = ua.a.SendReportSent
		}
		msg, err := send(ctx, t.Conn, t.Body)
		if err != nil {
			return nil, err
		}
		var out []Event
		err = done(func(tx *db.Tx) error {
			if t.DelContact != 0 {
				if _, err := tx.Exec(`UPDATE chat_contacts SET del_msg = ? WHERE id = ?`, msg, t.DelContact); err != nil {
					return err
				}
			}
			if t.DelMember != 0 {
				if _, err := tx.Exec(`UPDATE chat_members SET del_msg = ? WHERE id = ?`, msg, t.DelMember); err != nil {
					return err
				}
			}
			if t.Item == 0 {
				return nil
			}
			if _, err := tx.Exec(`UPDATE chat_items SET agent_msg = ?, status = ? WHERE id = ?`, msg, ItemSent, t.Item); err != nil {
				return err
			}
			if t.Announce {
				it, err := loadItem(tx, t.Item)
				if err == nil {
					out = append(out, NewItem{Item: it})
				}
			}
			return nil
		})
		return out, err
	case "intro_inv":
		conn, link, err := ua.a.CreateInvitation(ctx)
		if err != nil {
			return nil, err
		}
		body := encode(&chatmsg.GrpMemInv{MemberID: t.MemberID, Intro: &chatmsg.IntroInvitation{GroupConnReq: link}})
		return nil, done(func(tx *db.Tx) error {
			if _, err := tx.Exec(`UPDATE chat_members SET conn_id = ? WHERE id = ?`, conn, t.Member); err != nil {
				return err
			}
			return addTask(tx, ua.id, task{Kind: "send", Conn: t.Conn, Body: body})
		})
	case "join_member":
		var g Group
		var st MemberStatus
		if err := c.db.View(ctx, func(tx *db.Tx) error {
			var err error
			if g, err = loadGroup(tx, t.Group); err != nil {
				return err
			}
			return tx.QueryRow(`SELECT status FROM chat_members WHERE id = ?`, t.Member).Scan(&st)
		}); err != nil || st != MemberAnnounced {
			return nil, done(nil) // gone, or joined before a restart
		}
		p, err := c.ourMemberProfile(ctx, g)
		if err != nil {
			return nil, err
		}
		conn, err := ua.a.Join(ctx, t.Link, encode(&chatmsg.GrpMemInfo{MemberID: g.MemberID, Profile: p}))
		if err != nil {
			return nil, err
		}
		return nil, done(func(tx *db.Tx) error {
			_, err := tx.Exec(`UPDATE chat_members SET conn_id = ?, status = ? WHERE id = ?`, conn, MemberConnecting, t.Member)
			return err
		})
	}
	return nil, done(nil)
}

// commit runs fn, which records the agent work of a change as tasks, in a
// transaction, then does the user's tasks; called with ua.mu held. Once
// committed the change stands: a task that fails now is retried, and
// reported if it never succeeds.
func (c *Client) commit(ctx context.Context, ua *userAgent, fn func(tx *db.Tx) error) error {
	if err := c.db.Update(ctx, fn); err != nil {
		return err
	}
	out, err := c.runTasks(context.WithoutCancel(ctx), ua)
	if err != nil {
		c.cfg.Log.Debug("chat: task", "user", ua.id, "err", err)
	}
	if len(out) > 0 {
		// Not while holding ua.mu: the reader may be calling us.
		go func() {
			for _, e := range out {
				select {
				case c.events <- e:
				case <-c.stop:
					return
				}
			}
		}()
	}
	return nil
}

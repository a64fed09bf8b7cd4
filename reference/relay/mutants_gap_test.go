package relay

import (
	"bytes"
	"context"
	"time"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/transport"
)

// Mutants of the service reply (§5.5) and of message expiry (§9.6).

// serviceReplyMutant changes the service reply block (SMP-HS-4) of every
// service handshake; nil from fn sends no reply.
func serviceReplyMutant(fn func(reply []byte) []byte) func() *hooks {
	return onHandshake(func(ctx context.Context, c *transport.TLSConn, cfg transport.ServerConfig) (*transport.Session, error) {
		cfg.TestServiceReply = func(b []byte) []byte { return fn(append([]byte(nil), b...)) }
		return transport.ServerHandshake(ctx, c, cfg)
	})
}

var gapMutants = []mutant{
	{"svc-refusal-unsent", "refuses a service by closing the connection without the E reply", serviceReplyMutant(func(b []byte) []byte {
		if len(b) > 0 && b[0] == 'E' {
			return nil
		}
		return b
	})},
	{"svc-refusal-as-ok", "answers a refused service with an R reply (an empty service id) before closing", serviceReplyMutant(func(b []byte) []byte {
		if len(b) > 0 && b[0] == 'E' {
			return []byte{'R', 0}
		}
		return b
	})},
	{"never-expires", "ignores its configured message time to live and keeps messages for the 21-day default", func() *hooks {
		var h hooks
		h.expiring = time.Second
		h.config = func(cfg *Config) { cfg.MessageTTL = 21 * 24 * time.Hour }
		return &h
	}},
	{"ack-drops-next", "an ACK deletes the acknowledged message and the one after it", func() *hooks {
		return &hooks{exec: func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
			ack, ok := rc.cmd.(smp.CmdACK)
			if !ok || rc.q == nil {
				return nil, false
			}
			rid := rc.q.RecipientID
			if s := c.queues[string(rid)]; s != nil && s.delivered != nil && bytes.Equal(ack.MsgID, s.delivered) {
				if done, _ := c.r.store.DeleteHead(rid, s.delivered); done {
					if m, ok := c.r.store.Head(rid); ok && !m.Quota {
						c.r.store.DeleteHead(rid, m.ID)
					}
				}
			}
			// The relay's own ACK now finds the head gone and delivers
			// the message after the lost one.
			return nil, false
		}}
	}},
	{"link-not-consumed", "keeps a one-time link's data after the first message to its secured queue", func() *hooks {
		return &hooks{exec: func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
			if _, ok := rc.cmd.(smp.CmdSEND); !ok || rc.q == nil {
				return nil, false
			}
			before, err := c.r.store.Queue(store.ByRecipient, rc.q.RecipientID)
			if err != nil || before.LinkID == nil {
				return nil, false
			}
			id, fixed, user := before.LinkID, before.LinkFixed, before.LinkUser
			outs, err := c.execLocked(env, *rc)
			if err != nil {
				e, _ := smp.ErrorTypeOf(err)
				return []out{errOut(rc.t.CorrID, rc.t.EntityID, e)}, true
			}
			// Put the link back as if SEND had never consumed it.
			c.r.store.UpdateQueue(rc.q.RecipientID, func(q *store.Queue) error {
				q.LinkID, q.LinkFixed, q.LinkUser = id, fixed, user
				return nil
			})
			return outs, true
		}}
	}},
}

func init() { mutants = append(mutants, gapMutants...) }

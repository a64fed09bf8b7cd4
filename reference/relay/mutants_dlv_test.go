package relay

import (
	"context"
	"errors"
	"time"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/transport"
)

// Delivery, subscription and service mutants.

var dlvMutants = []mutant{
	{"batch-first-block-only", "drops the responses of a block that do not fit the first response block", func() *hooks {
		var h hooks
		h.write = func(c *conn, group [][]byte) error {
			contents, err := smp.Batch(group)
			if err != nil || len(contents) == 0 {
				return err
			}
			return c.sess.WriteBlock(contents[0])
		}
		return &h
	}},
	{"new-s-not-subscribed", "does not subscribe the creating connection with sub-mode S", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if n, ok := rc.cmd.(smp.CmdNEW); ok && n.SubMode == smp.SubModeSubscribe && env.svc == nil {
			n.SubMode = smp.SubModeOnlyCreate
			rc.cmd = n
		}
		return nil, false
	})},
	{"no-push", "stores a message for a subscribed, empty queue without pushing it", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if _, ok := rc.cmd.(smp.CmdSEND); !ok {
			return nil, false
		}
		rid := string(rc.q.RecipientID)
		sub := c.r.subs[rid]
		delete(c.r.subs, rid)
		outs := runCmd(c, env, rc)
		if sub != nil {
			c.r.subs[rid] = sub
		}
		return outs, true
	})},
	{"sub-no-head", "answers SUB without the stored head message", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if _, ok := rc.cmd.(smp.CmdSUB); !ok {
			return nil, false
		}
		outs := runCmd(c, env, rc)
		var keep []out
		for _, o := range outs {
			// A head message is a pendingMSG until the writer seals it.
			_, isMsg := o.rsp.(smp.RspMSG)
			_, isPending := o.rsp.(pendingMSG)
			if !isMsg && !isPending {
				keep = append(keep, o)
			}
		}
		return keep, true
	})},
	{"nsub-no-end", "lets NSUB take over a notifier without END to the previous subscriber", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if _, ok := rc.cmd.(smp.CmdNSUB); ok && rc.q.Notifier != nil {
			if old := c.r.nsubs[string(rc.q.Notifier.ID)]; old != nil && old != c {
				delete(c.r.nsubs, string(rc.q.Notifier.ID))
				delete(old.ntfs, string(rc.q.Notifier.ID))
			}
		}
		return nil, false
	})},
	{"ack-empty-deletes", "deletes the message in flight on ACK with an empty id", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if a, ok := rc.cmd.(smp.CmdACK); ok && len(a.MsgID) == 0 {
			if s := c.queues[string(rc.q.RecipientID)]; s != nil && s.delivered != nil {
				rc.cmd = smp.CmdACK{MsgID: s.delivered}
			}
		}
		return nil, false
	})},
	{"prohibited-as-auth", "answers commands of another service role ERR AUTH instead of ERR CMD PROHIBITED", mapErr(smp.CMDProhibited, smp.AUTH)},
	{"service-err-as-auth", "answers a wrong or unexpected service signature ERR AUTH instead of ERR SERVICE", mapErr(smp.ErrorType{Kind: smp.ErrSERVICE}, smp.AUTH)},
	{"prxy-port-ignored", "reads the destination address of PRXY without its port (always 5223)", rewriteBlock(func(c *conn, tx *smp.Transmission) bool {
		if !isTag(tx, "PRXY") {
			return false
		}
		cmd, err := smp.ParseCommand(c.v, tx.Command)
		if err != nil {
			return false
		}
		p := cmd.(smp.CmdPRXY)
		p.Server.Port = ""
		if tx.Command, err = smp.EncodeCommand(c.v, p); err != nil {
			return false
		}
		return true
	})},
	{"pkey-range-18", "offers proxied sessions up to v18 in PKEY", onReply(func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
		if p, ok := rsp.(smp.RspPKEY); ok {
			p.Versions.Max = smp.VersionMax
			return p
		}
		return rsp
	})},
}

func init() { mutants = append(mutants, dlvMutants...) }

var stateMutants = []mutant{
	{"v13-refused", "closes sessions that agree on v13 instead of treating 13 as 12", onHandshake(func(ctx context.Context, c *transport.TLSConn, cfg transport.ServerConfig) (*transport.Session, error) {
		s, err := transport.ServerHandshake(ctx, c, cfg)
		if err == nil && s.Version == 13 {
			return nil, errors.New("mutant: v13 refused")
		}
		return s, err
	})},
	{"del-sender-alive", "deletes the recipient side of a queue but keeps its sender id accepting messages", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if _, ok := rc.cmd.(smp.CmdDEL); !ok {
			return nil, false
		}
		old := *rc.q
		outs := runCmd(c, env, rc)
		c.r.store.CreateQueue(store.Queue{RecipientID: random24(), RecipientKeys: old.RecipientKeys, RcvDHSecret: old.RcvDHSecret,
			SenderID: old.SenderID, Mode: old.Mode, Status: store.Active, UpdatedAt: old.UpdatedAt})
		return outs, true
	})},
	{"quota-accepts-undrained", "accepts messages again after ERR QUOTA before the queue is drained", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		s, ok := rc.cmd.(smp.CmdSEND)
		if !ok {
			return nil, false
		}
		if n, quotaLast := c.r.store.Size(rc.q.RecipientID); quotaLast && n > 0 {
			c.r.store.AddMessage(rc.q.RecipientID, store.Message{ID: random24(), Timestamp: time.Now().Unix(), Body: s.Body})
			return []out{{rc.t.CorrID, rc.t.EntityID, smp.RspOK{}}}, true
		}
		return nil, false
	})},
	{"link-data-capped", "keeps only the first 1000 bytes of link user data", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if l, ok := rc.cmd.(smp.CmdLSET); ok && len(l.User) > 1000 {
			l.User = l.User[:1000]
			rc.cmd = l
		}
		return nil, false
	})},
	{"nsub-svc-not-associated", "answers NSUB in a notifier-service session without associating the notifier", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if _, ok := rc.cmd.(smp.CmdNSUB); ok && env.svc != nil {
			e := *env
			e.svc = nil
			return runCmd(c, &e, rc), true
		}
		return nil, false
	})},
}

func init() { mutants = append(mutants, stateMutants...) }

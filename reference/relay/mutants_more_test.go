package relay

import (
	"bytes"
	"crypto/tls"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/store"
)

// More mutants for requirements the first sets leave unproven.

// reseal lets fn change the plaintext of MSG bodies.
func reseal(fn func(b *smp.RcvMessageBody)) func() *hooks {
	return onReply(func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
		m, ok := rsp.(smp.RspMSG)
		if !ok {
			return rsp
		}
		q, err := c.r.store.Queue(store.ByRecipient, entityID)
		if err != nil {
			return rsp
		}
		b, err := smp.OpenMsgBody(q.RcvDHSecret, m.MsgID, m.Body)
		if err != nil || b.Quota {
			return rsp
		}
		fn(&b)
		if m.Body, err = smp.SealMsgBody(q.RcvDHSecret, m.MsgID, b); err != nil {
			return rsp
		}
		return m
	})
}

var moreMutants = []mutant{
	{"proxy-no-dh-key", "connects to destination relays without an X25519 key in its hello", func() *hooks {
		var h hooks
		h.config = func(c *Config) { c.Proxy = &ProxyConfig{Client: client.Config{NoDHKey: true}} }
		return &h
	}},
	{"block-err-as-syntax", "answers unsplittable transmissions and bad batches ERR CMD SYNTAX instead of ERR BLOCK", mapErr(smp.BLOCK, smp.CMDSyntax)},
	{"maybe-lenient", "reads an invalid Maybe tag at the end of NEW as absent", rewriteBlock(func(c *conn, tx *smp.Transmission) bool {
		if isTag(tx, "NEW") && len(tx.Command) > 0 && tx.Command[len(tx.Command)-1] == '2' {
			tx.Command[len(tx.Command)-1] = '0'
			return true
		}
		return false
	})},
	{"create-only-subscribes", "subscribes the creating connection also with sub-mode C", onExec(func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
		if n, ok := rc.cmd.(smp.CmdNEW); ok && n.SubMode == smp.SubModeOnlyCreate {
			n.SubMode = smp.SubModeSubscribe
			rc.cmd = n
		}
		return nil, false
	})},
	{"no-alpn", "does not negotiate ALPN", func() *hooks {
		return &hooks{tls: func(cfg *tls.Config) { cfg.NextProtos = nil }}
	}},
	{"msg-flag-flipped", "inverts the notification flag in MSG bodies", reseal(func(b *smp.RcvMessageBody) { b.Notify = !b.Notify })},
	{"msg-timestamp-zero", "stamps messages with time 0", reseal(func(b *smp.RcvMessageBody) { b.Timestamp = 0 })},
	{"nmsg-meta-short", "sends NMSG metadata 16 bytes short", onReply(func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
		if n, ok := rsp.(smp.RspNMSG); ok && len(n.EncMeta) > 16 {
			n.EncMeta = n.EncMeta[:len(n.EncMeta)-16]
			return n
		}
		return rsp
	})},
	{"err-words-lowercase", "writes error words in lower case", func() *hooks {
		var h hooks
		h.write = rewrite(func(c *conn, tx *smp.Transmission, rsp smp.Response) {
			if _, ok := rsp.(smp.RspERR); ok {
				tx.Command = append([]byte("ERR "), bytes.ToLower(tx.Command[4:])...)
			}
		})
		return &h
	}},
	{"skey-unproven", "accepts SKEY not authorized by the key it carries", onVerify(func(r *Relay, env *cmdEnv, t smp.Transmission, cmd smp.Command, q *store.Queue, err error) (*store.Queue, error) {
		if _, ok := cmd.(smp.CmdSKEY); ok && err != nil {
			if sq, serr := r.store.Queue(store.BySender, t.EntityID); serr == nil && sq.Mode == byte(smp.QueueMessaging) && sq.SenderKey == nil {
				return sq, nil
			}
		}
		return q, err
	})},
}

func init() { mutants = append(mutants, moreMutants...) }

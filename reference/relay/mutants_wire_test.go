package relay

import (
	"bytes"
	"crypto/rand"

	"github.com/smpkit/smpkit/reference/smp"
)

// Wire-level mutants: faults in how the relay frames and encodes what it
// sends, seen only by the conformance runner's observation layer.

// rewrite is a write hook that lets fn change each outgoing transmission
// (parsed at the connection's version) before it is re-encoded and sent.
func rewrite(fn func(c *conn, tx *smp.Transmission, rsp smp.Response)) func(c *conn, group [][]byte) error {
	return func(c *conn, group [][]byte) error {
		out := make([][]byte, 0, len(group))
		for _, raw := range group {
			tx, err := smp.ParseTransmission(c.v, raw)
			if err != nil {
				out = append(out, raw)
				continue
			}
			rsp, err := smp.ParseResponse(c.v, tx.Command)
			if err == nil {
				fn(c, &tx, rsp)
			}
			b, err := smp.EncodeTransmission(c.v, tx)
			if err != nil {
				b = raw
			}
			out = append(out, b)
		}
		return c.sess.WriteTransmissions(out)
	}
}

func random24() []byte {
	b := make([]byte, 24)
	rand.Read(b)
	return b
}

func wireMutant(fn func(c *conn, tx *smp.Transmission, rsp smp.Response)) func() *hooks {
	return func() *hooks {
		var h hooks
		h.write = rewrite(fn)
		return &h
	}
}

var wireMutants = []mutant{
	{"msg-push-corrid", "gives pushed MSG events a random correlation id", wireMutant(func(c *conn, tx *smp.Transmission, rsp smp.Response) {
		if _, ok := rsp.(smp.RspMSG); ok && len(tx.CorrID) == 0 {
			tx.CorrID = random24()
		}
	})},
	{"err-entity", "answers errors of queue commands with a random entity id", wireMutant(func(c *conn, tx *smp.Transmission, rsp smp.Response) {
		if _, ok := rsp.(smp.RspERR); ok && len(tx.EntityID) > 0 {
			tx.EntityID = random24()
		}
	})},
	{"rsp-authorized", "puts a 64-byte authorization on its PONG and OK responses", wireMutant(func(c *conn, tx *smp.Transmission, rsp smp.Response) {
		switch rsp.(type) {
		case smp.RspPONG, smp.RspOK:
			tx.Auth = make([]byte, 64)
		}
	})},
	{"v6-session-field", "sends a wrong session id in v6 transmissions", wireMutant(func(c *conn, tx *smp.Transmission, rsp smp.Response) {
		if c.v == smp.VersionMin {
			tx.SessionID = bytes.Repeat([]byte{1}, len(c.sess.SessionID))
		}
	})},
	{"event-entity", "sends END and DELD events with an empty entity id", wireMutant(func(c *conn, tx *smp.Transmission, rsp smp.Response) {
		switch rsp.(type) {
		case smp.RspEND, smp.RspDELD:
			if len(tx.CorrID) == 0 {
				tx.EntityID = nil
			}
		}
	})},
	{"ids-entity", "answers NEW with IDS that carries the new recipient id as entity id", wireMutant(func(c *conn, tx *smp.Transmission, rsp smp.Response) {
		if ids, ok := rsp.(smp.RspIDS); ok {
			tx.EntityID = ids.RcvID
		}
	})},
	{"pong-corrid", "answers PING with an empty correlation id", wireMutant(func(c *conn, tx *smp.Transmission, rsp smp.Response) {
		if _, ok := rsp.(smp.RspPONG); ok {
			tx.CorrID = nil
		}
	})},
	{"zero-padding", "pads unencrypted blocks with zero bytes instead of '#'", func() *hooks {
		var h hooks
		h.write = func(c *conn, group [][]byte) error {
			if c.sess.Encrypted() {
				return c.sess.WriteTransmissions(group)
			}
			contents, err := smp.Batch(group)
			if err != nil {
				return err
			}
			for _, content := range contents {
				block := make([]byte, smp.BlockSize)
				block[0], block[1] = byte(len(content)>>8), byte(len(content))
				copy(block[2:], content)
				if _, err := c.sess.Conn().Write(block); err != nil {
					return err
				}
			}
			return nil
		}
		return &h
	}},
}

func init() { mutants = append(mutants, wireMutants...) }

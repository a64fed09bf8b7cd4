package conformance

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/wire"
)

// Network fuzzing (robustness): blocks made from valid transmissions by
// random mutations are sent on plain sessions. After each burst the fuzzed
// session must still answer PING or have been closed by the relay, and a
// separate control connection must keep answering. Every answer the relay
// gives must parse.

// mutate returns a corrupted copy of a block content.
func mutate(rnd *rand.Rand, content []byte) []byte {
	b := bytes.Clone(content)
	switch rnd.IntN(7) {
	case 0: // flip bytes
		for range 1 + rnd.IntN(4) {
			if len(b) > 0 {
				b[rnd.IntN(len(b))] ^= byte(1 + rnd.IntN(255))
			}
		}
	case 1: // truncate
		if len(b) > 1 {
			b = b[:rnd.IntN(len(b))]
		}
	case 2: // random bytes
		b = make([]byte, rnd.IntN(300))
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
	case 3: // wrong count
		if len(b) > 0 {
			b[0] = byte(rnd.IntN(256))
		}
	case 4: // large-string length corrupted
		if len(b) > 2 {
			b[1], b[2] = byte(rnd.Uint32()), byte(rnd.Uint32())
		}
	case 5: // insert bytes
		at := rnd.IntN(len(b) + 1)
		ins := make([]byte, 1+rnd.IntN(8))
		for i := range ins {
			ins[i] = byte(rnd.Uint32())
		}
		b = append(b[:at:at], append(ins, b[at:]...)...)
	case 6: // oversized field: a very long entity id or body
		b = append(b, bytes.Repeat([]byte{'A'}, rnd.IntN(16000))...)
	}
	if len(b) > smp.BlockSize-2 {
		b = b[:smp.BlockSize-2]
	}
	return b
}

// seeds are valid block contents of several commands.
func fuzzSeeds(t *T, r *Raw, q *Queue) [][]byte {
	k := q.RcvKey
	signed := func(entity []byte, cmd smp.Command) []byte {
		body, err := smp.EncodeCommand(r.Sess.Version, cmd)
		t.Check(err, "encode")
		corr := corrID()
		auth, err := k.Sign(smp.Authorized(r.Sess.SessionID, corr, entity, body))
		t.Check(err, "sign")
		tx, err := smp.EncodeTransmission(r.Sess.Version, smp.Transmission{Auth: auth, SessionID: r.Sess.SessionID, CorrID: corr, EntityID: entity, Command: body})
		t.Check(err, "encode")
		return tx
	}
	txs := [][]byte{
		r.Tx(corrID(), nil, []byte("PING")),
		r.Tx(corrID(), q.IDS.SndID, []byte("SEND F hello")),
		signed(q.IDS.RcvID, smp.CmdSUB{}),
		signed(q.IDS.RcvID, smp.CmdACK{MsgID: corrID()}),
		signed(q.IDS.RcvID, smp.CmdKEY{SenderKey: t.Key(smpcrypto.Ed25519).Public()}),
		r.Tx(corrID(), make([]byte, 24), []byte("LGET")),
	}
	var out [][]byte
	for i := range txs {
		c, err := smp.EncodeBlockContent(txs[i : i+1])
		t.Check(err, "batch")
		out = append(out, c)
	}
	all, err := smp.EncodeBlockContent(txs)
	t.Check(err, "batch")
	return append(out, all)
}

func init() {
	register(long(mk("FUZZ-BLOCKS", "fuzz", Robustness, Negative, allVersions, "SMP-BLOCK-2 SMP-BATCH-1 SMP-TX-5 SMP-PARSE-1 SMP-PARSE-2",
		"mutated blocks get parseable answers or a closed connection, and never stop the relay serving others",
		func(t *T) {
			rnd := rand.New(rand.NewPCG(t.Options.Seed, 0x5eed))
			control := t.Client(t.V)
			q := t.NewQueue(control, NewOpts{SubMode: smp.SubModeOnlyCreate})
			start := time.Now()
			deadline := start.Add(t.Options.FuzzTime)
			blocks, closed, answers := 0, 0, 0
			t.quiet = true
			for time.Now().Before(deadline) {
				r := t.PlainSession(t.V)
				seeds := fuzzSeeds(t, r, q)
				alive := true
				for range 20 {
					content := mutate(rnd, seeds[rnd.IntN(len(seeds))])
					padded, err := wire.Pad(content, smp.BlockSize)
					t.Check(err, "pad")
					if _, err := r.Sess.Conn().Write(padded); err != nil {
						alive = false
						break
					}
					blocks++
				}
				// Drain what the relay answered; every answer must parse.
				for alive {
					r.Sess.Conn().SetReadDeadline(time.Now().Add(50 * time.Millisecond))
					txs, err := r.Sess.ReadTransmissions()
					if err != nil {
						var ne net.Error
						if !(errors.As(err, &ne) && ne.Timeout()) {
							alive = false // closed by the relay: allowed
						}
						break
					}
					for _, raw := range txs {
						tx, err := smp.ParseTransmission(r.Sess.Version, raw)
						if err == nil {
							_, err = smp.ParseResponse(r.Sess.Version, tx.Command)
						}
						if err != nil {
							t.Failf("relay sent an unparseable transmission %x: %v (replay with --seed %d)", raw[:min(len(raw), 64)], err, t.Options.Seed)
						}
						answers++
					}
				}
				if alive {
					r.Sess.Conn().SetReadDeadline(time.Time{})
					r.pending = nil
					if err := pingRaw(r); err != nil {
						if !errors.Is(err, io.EOF) {
							t.Logf("fuzzed session: %v", err)
						}
						closed++
					}
				} else {
					closed++
				}
				r.Sess.Close()
				t.Want(control, client.Request{Command: smp.CmdPING{}}, "PONG")
			}
			t.quiet = false
			secs := time.Since(start).Seconds()
			t.Notef("%d mutated blocks in %.1fs (%.0f blocks/s), %d answers, %d sessions closed by the relay (--seed %d)",
				blocks, secs, float64(blocks)/secs, answers, closed, t.Options.Seed)
			t.Logf("%s", t.note)
			t.Want(t.Client(t.V), client.Request{Command: smp.CmdPING{}}, "PONG")
		})))
}

// long marks a case that runs for --fuzz-time.
func long(c *Case) *Case { c.Long = true; return c }

// pingRaw checks a raw session answers PING, skipping other answers.
func pingRaw(r *Raw) error {
	corr := corrID()
	if err := r.Sess.WriteTransmissions([][]byte{r.Tx(corr, nil, []byte("PING"))}); err != nil {
		return err
	}
	r.Sess.Conn().SetReadDeadline(time.Now().Add(r.t.wait()))
	defer r.Sess.Conn().SetReadDeadline(time.Time{})
	for {
		txs, err := r.Sess.ReadTransmissions()
		if err != nil {
			return err
		}
		for _, raw := range txs {
			tx, err := smp.ParseTransmission(r.Sess.Version, raw)
			if err == nil && bytes.Equal(tx.CorrID, corr) {
				return nil
			}
		}
	}
}

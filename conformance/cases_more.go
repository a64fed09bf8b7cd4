package conformance

import (
	"io"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/transport"
	"github.com/smpkit/smpkit/reference/wire"
)

func init() {
	register(
		extra(mk("FR-BAD-PRIMITIVES", "framing", MUST, Negative, allVersions, "SMP-ENC-2 SMP-ENC-3 SMP-ENC-7 SMP-KEY-2 SMP-KEY-4 SMP-PARSE-2",
			"invalid Bool and Maybe bytes, empty non-empty lists, malformed and wrong-kind keys are ERR CMD SYNTAX",
			func(t *T) {
				r := t.RawSession(t.V)
				auth := t.Key(smpcrypto.Ed25519).Public().SPKI()
				dh := t.Key(smpcrypto.X25519).Public().SPKI()
				newTail := func() []byte {
					// Everything after the two keys of a well-formed NEW.
					b := wire.NewBuilder(nil)
					switch v := t.V; {
					case v < smp.VersionSndAuthKey:
						b.Raw([]byte{'S'})
					case v < smp.VersionShortLinks:
						b.Raw([]byte("0ST"))
					case v < smp.VersionNewNtfCreds:
						b.Raw([]byte("0S0"))
					default:
						b.Raw([]byte("0S00"))
					}
					out, _ := b.Bytes()
					return out
				}
				newCmd := func(authKey, dhKey, tail []byte) []byte {
					b := wire.NewBuilder(nil)
					b.Raw([]byte("NEW "))
					b.Short(authKey)
					b.Short(dhKey)
					b.Raw(tail)
					out, _ := b.Bytes()
					return out
				}
				bad := map[string][]byte{
					"trailing byte after an SPKI": newCmd(append(append([]byte{}, auth...), 0), dh, newTail()),
					"Ed25519 key as the DH key":   newCmd(auth, auth, newTail()),
					"X448 key as the auth key":    newCmd(t.Key(smpcrypto.X448).Public().SPKI(), dh, newTail()),
				}
				tail := newTail()
				last := len(tail) - 1
				switch v := t.V; {
				case v >= smp.VersionShortLinks:
					tail[last] = '2'
					bad["Maybe tag '2'"] = newCmd(auth, dh, tail)
					bad["RKEY with an empty key list"] = []byte("RKEY \x00")
				case v >= smp.VersionSndAuthKey:
					tail[last] = 'X'
					bad["Bool byte 'X'"] = newCmd(auth, dh, tail)
				}
				for what, cmd := range bad {
					t.Logf("sending %s", what)
					corr := corrID()
					t.Check(r.Sess.WriteTransmissions([][]byte{r.Tx(corr, nil, cmd)}), "write")
					r.WantErr(corr, smp.CMDSyntax)
				}
				// The well-formed command parses (and then lacks authorization).
				corr := corrID()
				t.Check(r.Sess.WriteTransmissions([][]byte{r.Tx(corr, nil, newCmd(auth, dh, newTail()))}), "write")
				r.WantErr(corr, smp.CMDNoAuth)
			}), smp.VersionSndAuthKey, smp.VersionProxyServerHello),
		mk("FR-PAD-FILL", "framing", MUST, Positive, allVersions, "SMP-PAD-1 SMP-BLOCK-1",
			"an unencrypted block from the relay is 16384 bytes: length, content, then '#' fill",
			func(t *T) {
				r := t.PlainSession(t.V)
				t.Check(r.Sess.WriteTransmissions([][]byte{r.Tx(corrID(), nil, []byte("PING"))}), "write")
				block := make([]byte, smp.BlockSize)
				r.Sess.Conn().SetReadDeadline(time.Now().Add(t.wait()))
				_, err := io.ReadFull(r.Sess.Conn(), block)
				t.Check(err, "read block")
				n := int(block[0])<<8 | int(block[1])
				if n > smp.BlockSize-2 {
					t.Failf("content length %d", n)
				}
				for i, c := range block[2+n:] {
					if c != '#' {
						t.Failf("fill byte %d after the content is %#02x, want '#'", i, c)
					}
				}
			}),
		mk("FR-SPLIT-BLOCK", "framing", MUST, Positive, allVersions, "SMP-BLOCK-3",
			"a block written in many small TLS records is read as one block",
			func(t *T) {
				r := t.PlainSession(t.V)
				content, err := smp.EncodeBlockContent([][]byte{r.Tx(corrID(), nil, []byte("PING"))})
				t.Check(err, "batch")
				block, err := wire.Pad(content, smp.BlockSize)
				t.Check(err, "pad")
				for len(block) > 0 {
					n := min(len(block), 997)
					_, err := r.Sess.Conn().Write(block[:n])
					t.Check(err, "write")
					block = block[n:]
				}
				if _, rsp := r.Read(); rsp.Tag() != "PONG" {
					t.Failf("got %s, want PONG", describe(rsp))
				}
			}),
		mk("HS-TRAILING-BYTES", "handshake", MUST, Positive, allVersions, "SMP-HS-3 SMP-HS-2",
			"a client hello followed by unknown bytes is accepted",
			func(t *T) {
				tc, err := t.DialTLS(t.ctx, false)
				t.Check(err, "TLS")
				sess := transport.RawSession(tc)
				b, err := sess.ReadBlock()
				t.Check(err, "read server hello")
				sh, err := smp.ParseServerHello(b)
				t.Check(err, "server hello")
				v := min(sh.Versions.Max, t.V)
				raw, err := smp.EncodeClientHello(smp.ClientHello{Version: v, KeyHash: t.Target.KeyHash})
				t.Check(err, "encode hello")
				t.Check(sess.WriteBlock(append(raw, "future fields"...)), "write hello")
				corr := corrID()
				tx, err := smp.EncodeTransmission(v, smp.Transmission{SessionID: tc.SessionID(), CorrID: corr, Command: []byte("PING")})
				t.Check(err, "encode")
				t.Check(sess.WriteTransmissions([][]byte{tx}), "write PING")
				tc.SetReadDeadline(time.Now().Add(t.wait()))
				txs, err := sess.ReadTransmissions()
				if err != nil {
					t.Failf("after a hello with trailing bytes: %v", err)
				}
				got, err := smp.ParseTransmission(v, txs[0])
				t.Check(err, "answer")
				if string(got.Command) != "PONG" {
					t.Failf("got %q, want PONG", got.Command)
				}
			}),
		mk("AUTH-SERVICE-SIG-UNEXPECTED", "authorization", MUST, Negative, from(smp.VersionServiceCerts), "SMP-SVC-3 SMP-VERIFY-1 SMP-TX-2",
			"outside a service session a service signature is ERR SERVICE, checked before the queue",
			func(t *T) {
				cl := t.Client(t.V)
				q := t.NewQueue(cl, NewOpts{SubMode: smp.SubModeOnlyCreate})
				r := t.RawSession(t.V)
				for _, entity := range [][]byte{q.IDS.RcvID, corrID()} {
					corr := corrID()
					auth, err := q.RcvKey.Sign(smp.Authorized(r.Sess.SessionID, corr, entity, []byte("SUB")))
					t.Check(err, "sign")
					tx, err := smp.EncodeTransmission(t.V, smp.Transmission{Auth: auth, ServiceSig: make([]byte, smp.ServiceSigSize),
						CorrID: corr, EntityID: entity, Command: []byte("SUB")})
					t.Check(err, "encode")
					t.Check(r.Sess.WriteTransmissions([][]byte{tx}), "write")
					r.WantErr(corr, smp.ErrorType{Kind: smp.ErrSERVICE})
				}
			}),
		mk("DLV-CLOSE", "delivery", MUST, Positive, allVersions, "SMP-SUBS-4",
			"when the subscribed connection closes, another connection subscribes without any END",
			func(t *T) {
				a := t.Client(t.V)
				q := t.NewQueue(a, NewOpts{})
				a.Close()
				time.Sleep(100 * time.Millisecond)
				b := t.Client(t.V)
				t.WantOK(b, q.Rcv(smp.CmdSUB{}))
				t.Quiet(b)
				t.WantOK(b, q.Send("after close"))
				q.WantMsg(t.WantEvent(b, "MSG", q.IDS.RcvID), "after close")
			}),
	)
	_ = client.Request{}
}

package conformance

import (
	"slices"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
)

func init() {
	register(
		mk("AUTH-WRONG-KEY", "authorization", MUST, Negative, allVersions, "SMP-VERIFY-2",
			"a recipient command signed with another key is ERR AUTH",
			func(t *T) {
				cl := t.Client(t.V)
				q := t.NewQueue(cl, NewOpts{})
				t.WantErr(cl, client.Request{Key: t.Key(smpcrypto.Ed25519), EntityID: q.IDS.RcvID, Command: smp.CmdSUB{}}, smp.AUTH)
			}),
		mk("AUTH-UNKNOWN-ID", "authorization", MUST, Negative, allVersions, "SMP-VERIFY-2 SMP-ERR-4",
			"commands naming an unknown queue are ERR AUTH",
			func(t *T) {
				cl := t.Client(t.V)
				k := t.Key(smpcrypto.Ed25519)
				id := corrID()
				t.WantErr(cl, client.Request{Key: k, EntityID: id, Command: smp.CmdSUB{}}, smp.AUTH)
				t.WantErr(cl, client.Request{Key: k, EntityID: id, Command: smp.CmdDEL{}}, smp.AUTH)
				t.WantErr(cl, client.Request{EntityID: id, Command: smp.CmdSEND{Body: []byte("x")}}, smp.AUTH)
				t.WantErr(cl, client.Request{Key: k, EntityID: id, Command: smp.CmdNSUB{}}, smp.AUTH)
			}),
		mk("AUTH-ID-KIND", "authorization", MUST, Negative, allVersions, "SMP-VERIFY-2",
			"a recipient command naming the sender id, and SEND naming the recipient id, are ERR AUTH",
			func(t *T) {
				cl := t.Client(t.V)
				q := t.NewQueue(cl, NewOpts{})
				t.WantErr(cl, client.Request{Key: q.RcvKey, EntityID: q.IDS.SndID, Command: smp.CmdSUB{}}, smp.AUTH)
				t.WantErr(cl, client.Request{EntityID: q.IDS.RcvID, Command: smp.CmdSEND{Body: []byte("x")}}, smp.AUTH)
			}),
		mk("AUTH-ED448", "authorization", MUST, Both, allVersions, "SMP-SIG-1 SMP-AUTH-3 SMP-KEY-1",
			"queues whose recipient key is Ed448 work with 114-byte signatures; another Ed448 key's signature is ERR AUTH",
			func(t *T) {
				cl := t.Client(t.V)
				q := t.NewQueue(cl, NewOpts{Alg: smpcrypto.Ed448, SubMode: smp.SubModeOnlyCreate})
				t.WantErr(cl, client.Request{Key: t.Key(smpcrypto.Ed448), EntityID: q.IDS.RcvID, Command: smp.CmdSUB{}}, smp.AUTH)
				t.WantOK(cl, q.Rcv(smp.CmdSUB{}))
				q.SndKey = t.Key(smpcrypto.Ed448)
				t.Want(cl, q.Rcv(smp.CmdKEY{SenderKey: q.SndKey.Public()}), "OK")
				t.WantOK(cl, q.Send("ed448"))
				q.WantMsg(t.WantEvent(cl, "MSG", q.IDS.RcvID), "ed448")
			}),
		mk("AUTH-X25519", "authorization", MUST, Both, from(smp.VersionAuthCmds), "SMP-AUTH-2 SMP-AUTH-3 SMP-HS-10 SMP-KEY-1",
			"queues whose keys are X25519 work with 80-byte authenticators over the session key; another key's authenticator is ERR AUTH",
			func(t *T) {
				cl := t.Client(t.V)
				q := t.NewQueue(cl, NewOpts{Alg: smpcrypto.X25519, SubMode: smp.SubModeOnlyCreate})
				t.WantErr(cl, client.Request{Key: t.Key(smpcrypto.X25519), EntityID: q.IDS.RcvID, Command: smp.CmdSUB{}}, smp.AUTH)
				t.WantOK(cl, q.Rcv(smp.CmdSUB{}))
				q.SndKey = t.Key(smpcrypto.X25519)
				t.Want(cl, q.Rcv(smp.CmdKEY{SenderKey: q.SndKey.Public()}), "OK")
				other := t.Client(t.V) // another session: another relay session key
				t.WantOK(other, q.Send("x25519"))
				q.WantMsg(t.WantEvent(cl, "MSG", q.IDS.RcvID), "x25519")
			}),
		mk("AUTH-KIND-MISMATCH", "authorization", MUST, Negative, allVersions, "SMP-VERIFY-3",
			"a signature of another algorithm than the queue key's is ERR AUTH",
			func(t *T) {
				cl := t.Client(t.V)
				q := t.NewQueue(cl, NewOpts{})
				t.WantErr(cl, client.Request{Key: t.Key(smpcrypto.Ed448), EntityID: q.IDS.RcvID, Command: smp.CmdSUB{}}, smp.AUTH)
				if t.V >= smp.VersionAuthCmds {
					t.WantErr(cl, client.Request{Key: t.Key(smpcrypto.X25519), EntityID: q.IDS.RcvID, Command: smp.CmdSUB{}}, smp.AUTH)
				}
			}),
		mk("AUTH-SIGNED-SEND-UNSECURED", "authorization", MUST, Negative, allVersions, "SMP-VERIFY-2",
			"a signed SEND to a queue without sender key is ERR AUTH",
			func(t *T) {
				cl := t.Client(t.V)
				q := t.NewQueue(cl, NewOpts{})
				q.SndKey = t.Key(smpcrypto.Ed25519)
				t.WantErr(cl, q.Send("x"), smp.AUTH)
			}),
		mk("AUTH-SESSION-BINDING", "authorization", MUST, Both, allVersions, "SMP-AUTH-1",
			"a signature over another session id is ERR AUTH; over this one it verifies",
			func(t *T) {
				cl := t.Client(t.V)
				q := t.NewQueue(cl, NewOpts{SubMode: smp.SubModeOnlyCreate})
				r := t.RawSession(t.V)
				send := func(sessionID []byte) []byte {
					corr := corrID()
					auth, err := q.RcvKey.Sign(smp.Authorized(sessionID, corr, q.IDS.RcvID, []byte("SUB")))
					t.Check(err, "sign")
					tx, err := smp.EncodeTransmission(t.V, smp.Transmission{Auth: auth, SessionID: r.Sess.SessionID, CorrID: corr, EntityID: q.IDS.RcvID, Command: []byte("SUB")})
					t.Check(err, "encode")
					t.Check(r.Sess.WriteTransmissions([][]byte{tx}), "write")
					return corr
				}
				r.WantErr(send(cl.Session().SessionID), smp.AUTH)
				corr := send(r.Sess.SessionID)
				_, rsp := r.Read()
				if rsp.Tag() != "OK" && rsp.Tag() != "SOK" {
					t.Failf("correctly signed SUB (corr %x) got %s", corr, describe(rsp))
				}
			}),
		mk("AUTH-TIMING", "authorization", SHOULD, Negative, allVersions, "SMP-VERIFY-4",
			"ERR AUTH takes the same time for a wrong key and for an unknown queue",
			func(t *T) {
				cl := t.Client(t.V)
				q := t.NewQueue(cl, NewOpts{SubMode: smp.SubModeOnlyCreate})
				wrong := t.Key(smpcrypto.Ed25519)
				unknown := corrID()
				measure := func(id []byte) time.Duration {
					start := time.Now()
					_, err := t.Do(cl, client.Request{Key: wrong, EntityID: id, Command: smp.CmdSUB{}})
					d := time.Since(start)
					t.wantServerErr(err, smp.AUTH)
					return d
				}
				const n = 60
				var a, b []time.Duration
				t.quiet = true
				for range n {
					a = append(a, measure(q.IDS.RcvID))
					b = append(b, measure(unknown))
				}
				t.quiet = false
				slices.Sort(a)
				slices.Sort(b)
				ma, mb := a[n/2], b[n/2]
				t.Logf("median ERR AUTH: wrong key %v, unknown queue %v", ma, mb)
				diff := ma - mb
				if diff < 0 {
					diff = -diff
				}
				if diff > min(ma, mb)/2 && diff > 300*time.Microsecond {
					t.Failf("medians differ by %v (wrong key %v, unknown queue %v)", diff, ma, mb)
				}
			}),
	)
}

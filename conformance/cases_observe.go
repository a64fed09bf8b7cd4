package conformance

import (
	"fmt"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
)

func init() {
	register(
		mk("OBS-EXACT-BYTES", "framing", MUST, Positive, allVersions, "SMP-EVT-1 SMP-TX-1 SMP-TX-3 SMP-PAD-1 SMP-RSP-ERR-1 SMP-BATCH-2",
			"every transmission of a session with responses, errors and events carries the corrId, entity id, empty authorization, v6 session id and padding the spec requires (checked below the client library)",
			func(t *T) {
				for _, plain := range []bool{true, false} {
					cfg := client.Config{Versions: smp.VersionRange{Min: t.V, Max: t.V}, NoDHKey: plain}
					rc, sc, other := t.ClientWith(cfg), t.ClientWith(cfg), t.ClientWith(cfg)
					q := t.NewQueue(rc, NewOpts{})
					t.Want(rc, client.Request{Command: smp.CmdPING{}}, "PONG")
					t.WantErr(rc, client.Request{Key: q.RcvKey, EntityID: corrID(), Command: smp.CmdSUB{}}, smp.AUTH)
					t.WantErr(rc, q.Rcv(smp.CmdACK{MsgID: corrID()}), noMsg)
					t.Want(rc, q.Rcv(smp.CmdQUE{}), "INFO")
					t.WantOK(sc, q.Send("one"))
					id := q.WantMsg(t.WantEvent(rc, "MSG", q.IDS.RcvID), "one")
					t.WantOK(sc, q.Send("two"))
					id = q.WantMsg(t.Want(rc, q.Rcv(smp.CmdACK{MsgID: id}), "MSG"), "two")
					t.Want(rc, q.Rcv(smp.CmdACK{MsgID: id}), "OK")
					t.WantOK(other, q.Rcv(smp.CmdSUB{}))
					t.WantEvent(rc, "END", q.IDS.RcvID)
					want := "DELD"
					if t.V < smp.VersionDeletedEvent {
						want = "END"
					}
					t.WantOK(rc, q.Rcv(smp.CmdDEL{}))
					t.WantEvent(other, want, q.IDS.RcvID)
					t.WantErr(sc, q.Send("gone"), smp.AUTH)
				}
			}),
	)
}

// signedTx encodes a transmission authorized with k on a raw session.
func (r *Raw) signedTx(k smpcrypto.PrivateKey, corr, entity []byte, cmd smp.Command) []byte {
	body, err := smp.EncodeCommand(r.Sess.Version, cmd)
	r.t.Check(err, "encode")
	auth, err := k.Sign(smp.Authorized(r.Sess.SessionID, corr, entity, body))
	r.t.Check(err, "sign")
	tx, err := smp.EncodeTransmission(r.Sess.Version, smp.Transmission{Auth: auth, SessionID: r.Sess.SessionID, CorrID: corr, EntityID: entity, Command: body})
	r.t.Check(err, "encode")
	return tx
}

func init() {
	register(mk("FR-BATCH-SPLIT", "framing", MUST, Positive, allVersions, "SMP-BATCH-2 SMP-TX-6",
		"responses to one block that do not fit one block (four GETs answered by full-size MSGs) all arrive, split over several blocks",
		func(t *T) {
			cl := t.Client(t.V)
			r := t.RawSession(t.V)
			want := map[string]*Queue{}
			var txs [][]byte
			for i := range 4 {
				q := t.NewQueue(cl, NewOpts{SubMode: smp.SubModeOnlyCreate})
				t.WantOK(cl, q.Send(fmt.Sprintf("m%d", i)))
				corr := corrID()
				want[string(corr)] = q
				txs = append(txs, r.signedTx(q.RcvKey, corr, q.IDS.RcvID, smp.CmdGET{}))
			}
			t.Check(r.Sess.WriteTransmissions(txs), "write 4 GETs")
			for range txs {
				tx, rsp := r.Read()
				q := want[string(tx.CorrID)]
				if q == nil {
					t.Failf("%s with correlation id %x answers none of the GETs", describe(rsp), tx.CorrID)
				}
				q.Open(rsp)
				delete(want, string(tx.CorrID))
			}
		}))
}

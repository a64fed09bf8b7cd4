package conformance

import (
	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
)

func init() {
	register(
		mk("OBS-EXACT-BYTES", "framing", MUST, allVersions, "SMP-EVT-1 SMP-TX-1 SMP-TX-3 SMP-PAD-1 SMP-RSP-ERR-1 SMP-BATCH-2",
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

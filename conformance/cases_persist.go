package conformance

import (
	"context"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
)

// Persistence and expiry. They need the relay restarted (Target.Restart:
// `--restart-cmd` for a live relay; `self` restarts its own) or a relay
// with a short message time to live (Target.Expiring, in `self`), and are
// skipped otherwise.

// restart restarts the relay under test and waits until it answers again.
func (t *T) restart() {
	if t.Target.Restart == nil {
		t.Skip("restarting the relay needs --restart-cmd")
	}
	ctx, cancel := context.WithTimeout(t.ctx, 30*time.Second)
	defer cancel()
	// A connection opened before the restart ends when the relay stops:
	// the command may return before that happens.
	sentinel := t.Client(t.V)
	start := time.Now()
	t.Check(t.Target.Restart(ctx), "restart the relay")
	select {
	case <-sentinel.Done():
	case <-ctx.Done():
		t.Failf("the relay did not stop within 30 s of the restart command")
	}
	for {
		if err := Preflight(ctx, Target{HostPort: t.Target.HostPort, KeyHash: t.Target.KeyHash, Password: t.Target.Password}); err == nil {
			break
		} else if ctx.Err() != nil {
			t.Failf("the relay does not answer after the restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("relay restarted in %v", time.Since(start).Round(time.Millisecond))
}

func init() {
	register(
		mk("PST-RESTART", "persistence", MUST, Positive, allVersions, "SMP-QSTATE-6 SMP-QSTATE-1 SMP-DLV-6",
			"OK'd messages, queue records, secured keys, suspension and notifier credentials survive a restart",
			func(t *T) {
				if t.Target.Restart == nil {
					t.Skip("restarting the relay needs --restart-cmd")
				}
				cl := t.Client(t.V)
				q := t.NewQueue(cl, NewOpts{SubMode: smp.SubModeOnlyCreate})
				q.Secure(cl)
				n := t.enableNtf(cl, q)
				for _, b := range []string{"before-1", "before-2"} {
					t.WantOK(cl, q.Send(b))
				}
				off := t.NewQueue(cl, NewOpts{SubMode: smp.SubModeOnlyCreate})
				t.WantOK(cl, off.Rcv(smp.CmdOFF{}))
				cl.Close()
				t.restart()
				rc, sc, nc := t.Client(t.V), t.Client(t.V), t.Client(t.V)
				t.WantErr(sc, client.Request{EntityID: q.IDS.SndID, Command: smp.CmdSEND{Body: []byte("unsigned")}}, smp.AUTH)
				t.WantErr(sc, off.Send("to a suspended queue"), smp.AUTH)
				t.WantOK(nc, n.sub())
				t.WantOK(rc, q.Rcv(smp.CmdSUB{}))
				id := q.WantMsg(t.WantEvent(rc, "MSG", q.IDS.RcvID), "before-1")
				id = q.WantMsg(t.Want(rc, q.Rcv(smp.CmdACK{MsgID: id}), "MSG"), "before-2")
				t.Want(rc, q.Rcv(smp.CmdACK{MsgID: id}), "OK")
				t.WantOK(sc, client.Request{Key: q.SndKey, EntityID: q.IDS.SndID, Command: smp.CmdSEND{Notify: true, Body: []byte("after")}})
				id = q.WantMsg(t.WantEvent(rc, "MSG", q.IDS.RcvID), "after")
				t.wantNMSG(nc, n, id)
			}),
		mk("PST-LINK", "persistence", MUST, Positive, from(smp.VersionShortLinks), "SMP-QSTATE-6 SMP-LINK-3",
			"contact link data survives a restart",
			func(t *T) {
				if t.Target.Restart == nil {
					t.Skip("restarting the relay needs --restart-cmd")
				}
				cl := t.Client(t.V)
				q, lnk := t.linkQueue(cl, smp.QueueContact, "fixed", "user")
				cl.Close()
				t.restart()
				wantLNK(t, t.Want(t.Client(t.V), client.Request{EntityID: lnk, Command: smp.CmdLGET{}}, "LNK"), q, "fixed", "user")
			}),
		single(mk("EXP-MESSAGE-TTL", "persistence", MUST, Positive, allVersions, "SMP-EXP-1 SMP-EXP-2",
			"on a relay with a short message time to live, an old message is deleted and a young one kept",
			func(t *T) {
				e := t.Target.Expiring
				if e == nil {
					t.Skip("needs a relay with a short message time to live (smp-conform self)")
				}
				// The case talks to the expiring relay for its whole run.
				t.Target = *e
				cl := t.Client(t.V)
				q := t.NewQueue(cl, NewOpts{SubMode: smp.SubModeOnlyCreate})
				// Timestamps are whole seconds: "old" is older than the TTL
				// by more than a second when "young" is sent.
				t.WantOK(cl, q.Send("old"))
				time.Sleep(e.TTL + 1500*time.Millisecond)
				t.WantOK(cl, q.Send("young"))
				time.Sleep(300 * time.Millisecond)
				rsp := t.Want(cl, q.Rcv(smp.CmdGET{}), "MSG")
				q.WantMsg(rsp, "young")
			})),
	)
}

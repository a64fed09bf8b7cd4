package conformance

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/smpkit/smpkit/reference/client"

	"github.com/smpkit/smpkit/reference/smp"
)

var noMsg = smp.ErrorType{Kind: smp.ErrNOMSG}

func init() {
	register(
		mk("DLV-PUSH", "delivery", MUST, Positive, allVersions, "SMP-DLV-2 SMP-EVT-1",
			"a message sent to an empty queue is pushed to its subscriber with an empty correlation id",
			func(t *T) {
				rc, sc := t.Client(t.V), t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{})
				t.WantOK(sc, q.Send("push"))
				q.WantMsg(t.WantEvent(rc, "MSG", q.IDS.RcvID), "push")
			}),
		mk("DLV-ONE-IN-FLIGHT", "delivery", MUST, Positive, allVersions, "SMP-DLV-1 SMP-DLV-3 SMP-CMD-ACK-2",
			"only one message is in flight; ACK is answered with the next message",
			func(t *T) {
				rc, sc := t.Client(t.V), t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{})
				t.WantOK(sc, q.Send("m1"))
				t.WantOK(sc, q.Send("m2"))
				id1 := q.WantMsg(t.WantEvent(rc, "MSG", q.IDS.RcvID), "m1")
				t.Quiet(rc)
				id2 := q.WantMsg(t.Want(rc, q.Rcv(smp.CmdACK{MsgID: id1}), "MSG"), "m2")
				if bytes.Equal(id1, id2) {
					t.Failf("two messages share id %x", id1)
				}
				t.Want(rc, q.Rcv(smp.CmdACK{MsgID: id2}), "OK")
			}),
		mk("DLV-ACK-WRONG-ID", "delivery", MUST, Negative, allVersions, "SMP-DLV-4",
			"ACK of an id that is not in flight is ERR NO_MSG and changes nothing",
			func(t *T) {
				rc := t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{})
				t.WantOK(rc, q.Send("m"))
				id := q.WantMsg(t.WantEvent(rc, "MSG", q.IDS.RcvID), "m")
				t.WantErr(rc, q.Rcv(smp.CmdACK{MsgID: corrID()}), noMsg)
				t.Want(rc, q.Rcv(smp.CmdACK{MsgID: id}), "OK")
				t.WantErr(rc, q.Rcv(smp.CmdACK{MsgID: id}), noMsg)
			}),
		mk("DLV-ACK-NO-SUB", "delivery", MUST, Negative, allVersions, "SMP-DLV-4",
			"ACK on a connection that neither subscribed nor used GET is ERR NO_MSG",
			func(t *T) {
				rc := t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{})
				t.WantOK(rc, q.Send("m"))
				id := q.WantMsg(t.WantEvent(rc, "MSG", q.IDS.RcvID), "m")
				other := t.Client(t.V)
				t.WantErr(other, q.Rcv(smp.CmdACK{MsgID: id}), noMsg)
			}),
		mk("DLV-RESUB", "delivery", MUST, Positive, allVersions, "SMP-SUBS-2 SMP-MSG-2",
			"SUB again on the subscribed connection redelivers the same message byte for byte, without END",
			func(t *T) {
				rc := t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{})
				t.WantOK(rc, q.Send("again"))
				first := t.WantEvent(rc, "MSG", q.IDS.RcvID).(smp.RspMSG)
				t.WantOK(rc, q.Rcv(smp.CmdSUB{}))
				second := t.WantEvent(rc, "MSG", q.IDS.RcvID).(smp.RspMSG)
				if !bytes.Equal(first.MsgID, second.MsgID) || !bytes.Equal(first.Body, second.Body) {
					t.Failf("redelivery differs: id %x vs %x", first.MsgID, second.MsgID)
				}
				t.Quiet(rc)
			}),
		mk("DLV-END", "delivery", MUST, Both, allVersions, "SMP-SUBS-1 SMP-SUBS-6 SMP-RSP-END-1",
			"SUB from a second connection sends END to the first, whose later ACK is ERR NO_MSG",
			func(t *T) {
				a, b := t.Client(t.V), t.Client(t.V)
				q := t.NewQueue(a, NewOpts{})
				t.WantOK(a, q.Send("m"))
				id := q.WantMsg(t.WantEvent(a, "MSG", q.IDS.RcvID), "m")
				t.WantOK(b, q.Rcv(smp.CmdSUB{}))
				q.WantMsg(t.WantEvent(b, "MSG", q.IDS.RcvID), "m")
				t.WantEvent(a, "END", q.IDS.RcvID)
				t.WantErr(a, q.Rcv(smp.CmdACK{MsgID: id}), noMsg)
				t.Want(b, q.Rcv(smp.CmdACK{MsgID: id}), "OK")
			}),
		mk("DLV-SUB-HEAD", "delivery", MUST, Positive, allVersions, "SMP-DLV-7 SMP-DLV-6",
			"SUB is answered OK/SOK and the oldest stored message; then messages come in order",
			func(t *T) {
				rc := t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{SubMode: smp.SubModeOnlyCreate})
				for i := range 5 {
					t.WantOK(rc, q.Send(fmt.Sprint("m", i)))
				}
				t.WantOK(rc, q.Rcv(smp.CmdSUB{}))
				id := q.WantMsg(t.WantEvent(rc, "MSG", q.IDS.RcvID), "m0")
				for i := 1; i < 5; i++ {
					id = q.WantMsg(t.Want(rc, q.Rcv(smp.CmdACK{MsgID: id}), "MSG"), fmt.Sprint("m", i))
				}
				t.Want(rc, q.Rcv(smp.CmdACK{MsgID: id}), "OK")
			}),
		mk("DLV-GET", "delivery", MUST, Positive, allVersions, "SMP-DLV-5 SMP-CMD-GET-2",
			"GET returns OK on an empty queue, else the head; ACK in GET use is OK, never the next message",
			func(t *T) {
				rc := t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{SubMode: smp.SubModeOnlyCreate})
				t.Want(rc, q.Rcv(smp.CmdGET{}), "OK")
				t.WantOK(rc, q.Send("g1"))
				t.WantOK(rc, q.Send("g2"))
				id := q.WantMsg(t.Want(rc, q.Rcv(smp.CmdGET{}), "MSG"), "g1")
				q.WantMsg(t.Want(rc, q.Rcv(smp.CmdGET{}), "MSG"), "g1")
				t.Want(rc, q.Rcv(smp.CmdACK{MsgID: id}), "OK")
				id = q.WantMsg(t.Want(rc, q.Rcv(smp.CmdGET{}), "MSG"), "g2")
				t.Want(rc, q.Rcv(smp.CmdACK{MsgID: id}), "OK")
				t.Want(rc, q.Rcv(smp.CmdGET{}), "OK")
				t.Quiet(rc)
			}),
		mk("DLV-GET-SUB-EXCLUSIVE", "delivery", MUST, Negative, allVersions, "SMP-SUBS-3",
			"on one connection SUB after GET, and GET while subscribed, are ERR CMD PROHIBITED",
			func(t *T) {
				rc := t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{})
				t.WantErr(rc, q.Rcv(smp.CmdGET{}), smp.CMDProhibited)
				other := t.Client(t.V)
				t.Want(other, q.Rcv(smp.CmdGET{}), "OK")
				t.WantErr(other, q.Rcv(smp.CmdSUB{}), smp.CMDProhibited)
			}),
		mk("DLV-DELD", "delivery", MUST, Positive, allVersions, "SMP-SUBS-7 SMP-RSP-DELD-1 SMP-DEL-3",
			"DEL sends DELD (END below v10) to another subscribed connection and nothing to the deleting one",
			func(t *T) {
				a, b := t.Client(t.V), t.Client(t.V)
				q := t.NewQueue(a, NewOpts{})
				t.WantOK(b, q.Rcv(smp.CmdSUB{}))
				t.WantEvent(a, "END", q.IDS.RcvID)
				t.Want(a, q.Rcv(smp.CmdDEL{}), "OK")
				want := "DELD"
				if t.V < smp.VersionDeletedEvent {
					want = "END"
				}
				t.WantEvent(b, want, q.IDS.RcvID)
				t.Quiet(a)
			}),
		mk("DLV-QUOTA", "delivery", MUST, Both, allVersions, "SMP-QUOTA-1 SMP-QUOTA-2 SMP-QUOTA-3 SMP-MSG-3 SMP-ID-2",
			"a full queue answers ERR QUOTA, delivers a quota marker last, and accepts messages again only when drained",
			func(t *T) {
				rc, sc := t.Client(t.V), t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{SubMode: smp.SubModeOnlyCreate})
				n := 0
				for ; ; n++ {
					if n > 2000 {
						t.Failf("no ERR QUOTA after %d messages", n)
					}
					_, err := t.Do(sc, q.Send(fmt.Sprint("q", n)))
					if err != nil {
						t.wantServerErr(err, smp.ErrorType{Kind: smp.ErrQUOTA})
						break
					}
				}
				t.Logf("quota: %d messages", n)
				t.WantErr(sc, q.Send("refused"), smp.ErrorType{Kind: smp.ErrQUOTA})
				t.WantOK(rc, q.Rcv(smp.CmdSUB{}))
				rsp := t.WantEvent(rc, "MSG", q.IDS.RcvID)
				seen := map[string]bool{}
				for i := 0; i < n; i++ {
					id := q.WantMsg(rsp, fmt.Sprint("q", i))
					if seen[string(id)] {
						t.Failf("message id %x used twice in one queue", id)
					}
					seen[string(id)] = true
					if i == n/2 {
						t.WantErr(sc, q.Send("still full"), smp.ErrorType{Kind: smp.ErrQUOTA})
					}
					rsp = t.Want(rc, q.Rcv(smp.CmdACK{MsgID: id}), "MSG")
				}
				marker := q.Open(rsp)
				if !marker.Quota {
					t.Failf("after %d messages got %q, want the quota marker", n, trim(marker.Body))
				}
				t.WantErr(sc, q.Send("before marker ACK"), smp.ErrorType{Kind: smp.ErrQUOTA})
				t.Want(rc, q.Rcv(smp.CmdACK{MsgID: rsp.(smp.RspMSG).MsgID}), "OK")
				t.WantOK(sc, q.Send("again"))
				q.WantMsg(t.WantEvent(rc, "MSG", q.IDS.RcvID), "again")
			}),
	)
}

// wantServerErr checks an error returned by Do.
func (t *T) wantServerErr(err error, e smp.ErrorType) {
	var se *client.ServerError
	if !errors.As(err, &se) || !se.Err.Equal(e) {
		t.Failf("got %v, want ERR %s", err, e)
	}
}

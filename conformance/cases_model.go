package conformance

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
)

// The state-machine case drives random command sequences over several
// connections and queues with rapid, checking every response and event
// against a model of spec §9. rapid shrinks a failing sequence; the report
// shows it with the seed that replays it (--seed).

// modelQueue is the model of one queue.
type modelQueue struct {
	q        *Queue
	msgs     []string // stored bodies, oldest first
	sub      int      // subscribed connection, -1 for none
	inflight []byte   // id of the message in flight on sub, nil for none
	off, del bool
}

// machine is the relay model and the connections it drives.
type machine struct {
	t      *T
	rc     []*client.Client // recipient connections
	sc     *client.Client   // sender connection
	queues []*modelQueue
	sent   int
}

const modelQueueCap = 40 // stay far below any quota

func (m *machine) expect(rt *rapid.T, cond bool, format string, args ...any) {
	if !cond {
		rt.Fatalf(format, args...)
	}
}

// do runs a command and returns the response or ERR type ("" for none).
func (m *machine) do(cl *client.Client, req client.Request) (smp.Response, string) {
	rsp, err := m.t.Do(cl, req)
	if err != nil {
		if e, ok := errTypeOf(err); ok {
			return nil, e.String()
		}
		return nil, err.Error()
	}
	return rsp, ""
}

func (m *machine) event(rt *rapid.T, conn int, tag string, q *modelQueue) smp.Response {
	select {
	case ev, ok := <-m.rc[conn].Events():
		m.expect(rt, ok, "connection %d closed", conn)
		m.expect(rt, ev.Response.Tag() == tag && bytes.Equal(ev.EntityID, q.q.IDS.RcvID),
			"connection %d: got event %s for %x, model expects %s for %x", conn, describe(ev.Response), ev.EntityID, tag, q.q.IDS.RcvID)
		return ev.Response
	case <-timeAfter(m.t.wait()):
		rt.Fatalf("connection %d: no %s event, model expects one", conn, tag)
	}
	return nil
}

func (m *machine) body(rt *rapid.T, q *modelQueue, rsp smp.Response) ([]byte, string) {
	msg, ok := rsp.(smp.RspMSG)
	m.expect(rt, ok, "got %s, model expects MSG", describe(rsp))
	b, err := smp.OpenMsgBody(q.q.Secret, msg.MsgID, msg.Body)
	m.expect(rt, err == nil, "MSG does not decrypt: %v", err)
	return msg.MsgID, string(b.Body)
}

func (m *machine) actions(rt *rapid.T) map[string]func(*rapid.T) {
	pickQ := func(rt *rapid.T) *modelQueue { return rapid.SampledFrom(m.queues).Draw(rt, "queue") }
	pickC := func(rt *rapid.T) int { return rapid.IntRange(0, len(m.rc)-1).Draw(rt, "conn") }
	return map[string]func(*rapid.T){
		"SEND": func(rt *rapid.T) {
			q := pickQ(rt)
			if len(q.msgs) >= modelQueueCap {
				rt.Skip("queue at model cap")
			}
			m.sent++
			body := fmt.Sprintf("m%d", m.sent)
			_, e := m.do(m.sc, q.q.Send(body))
			if q.del || q.off {
				m.expect(rt, e == "AUTH", "SEND to a deleted or suspended queue: got %q, want AUTH", e)
				return
			}
			m.expect(rt, e == "", "SEND: got ERR %s", e)
			q.msgs = append(q.msgs, body)
			if len(q.msgs) == 1 && q.sub >= 0 && q.inflight == nil {
				id, b := m.body(rt, q, m.event(rt, q.sub, "MSG", q))
				m.expect(rt, b == body, "pushed %q, want %q", b, body)
				q.inflight = id
			}
		},
		"SUB": func(rt *rapid.T) {
			q, c := pickQ(rt), pickC(rt)
			_, e := m.do(m.rc[c], q.q.Rcv(smp.CmdSUB{}))
			if q.del {
				m.expect(rt, e == "AUTH", "SUB to a deleted queue: got %q", e)
				return
			}
			m.expect(rt, e == "", "SUB: got ERR %s", e)
			if q.sub >= 0 && q.sub != c {
				m.event(rt, q.sub, "END", q)
			}
			q.sub, q.inflight = c, nil
			if len(q.msgs) > 0 {
				id, b := m.body(rt, q, m.event(rt, c, "MSG", q))
				m.expect(rt, b == q.msgs[0], "SUB delivered %q, head is %q", b, q.msgs[0])
				q.inflight = id
			}
		},
		"ACK": func(rt *rapid.T) {
			q, c := pickQ(rt), pickC(rt)
			right := rapid.Bool().Draw(rt, "right id")
			id := corrID()
			if right && q.inflight != nil {
				id = q.inflight
			}
			rsp, e := m.do(m.rc[c], q.q.Rcv(smp.CmdACK{MsgID: id}))
			switch {
			case q.del:
				m.expect(rt, e == "AUTH", "ACK on a deleted queue: got %q", e)
			case q.sub != c || q.inflight == nil || !bytes.Equal(id, q.inflight):
				m.expect(rt, e == "NO_MSG", "ACK without a matching delivery: got %q/%v, want NO_MSG", e, rsp)
			default:
				m.expect(rt, e == "", "ACK: got ERR %s", e)
				q.msgs, q.inflight = q.msgs[1:], nil
				if len(q.msgs) == 0 {
					m.expect(rt, rsp.Tag() == "OK", "ACK of the last message: got %s", describe(rsp))
					return
				}
				nid, b := m.body(rt, q, rsp)
				m.expect(rt, b == q.msgs[0], "ACK delivered %q, next is %q", b, q.msgs[0])
				q.inflight = nid
			}
		},
		"OFF": func(rt *rapid.T) {
			q := pickQ(rt)
			_, e := m.do(m.rc[pickC(rt)], q.q.Rcv(smp.CmdOFF{}))
			if q.del {
				m.expect(rt, e == "AUTH", "OFF on a deleted queue: got %q", e)
				return
			}
			m.expect(rt, e == "", "OFF: got ERR %s", e)
			q.off = true
		},
		"DEL": func(rt *rapid.T) {
			q, c := pickQ(rt), pickC(rt)
			_, e := m.do(m.rc[c], q.q.Rcv(smp.CmdDEL{}))
			if q.del {
				m.expect(rt, e == "AUTH", "DEL of a deleted queue: got %q", e)
				return
			}
			m.expect(rt, e == "", "DEL: got ERR %s", e)
			if q.sub >= 0 && q.sub != c {
				want := "DELD"
				if m.t.V < smp.VersionDeletedEvent {
					want = "END"
				}
				m.event(rt, q.sub, want, q)
			}
			q.del, q.sub, q.inflight = true, -1, nil
		},
		"": func(rt *rapid.T) {
			// After every action: nothing unexpected is waiting.
			for i, cl := range m.rc {
				select {
				case ev := <-cl.Events():
					rt.Fatalf("connection %d: unexpected event %s for %x", i, describe(ev.Response), ev.EntityID)
				default:
				}
			}
		},
	}
}

var rapidFlags sync.Once

// rapidTB adapts T to rapid's TB: a rapid failure fails the case.
type rapidTB struct {
	t    *T
	name string
}

func (r rapidTB) Helper()                           {}
func (r rapidTB) Name() string                      { return r.name }
func (r rapidTB) Logf(format string, args ...any)   { r.t.Logf(format, args...) }
func (r rapidTB) Log(args ...any)                   { r.t.Logf("%s", fmt.Sprint(args...)) }
func (r rapidTB) Skipf(format string, args ...any)  { r.t.Skip(format, args...) }
func (r rapidTB) Skip(args ...any)                  { r.t.Skip("%s", fmt.Sprint(args...)) }
func (r rapidTB) SkipNow()                          { r.t.Skip("skipped") }
func (r rapidTB) Errorf(format string, args ...any) { r.t.Failf(format, args...) }
func (r rapidTB) Error(args ...any)                 { r.t.Failf("%s", fmt.Sprint(args...)) }
func (r rapidTB) Fatalf(format string, args ...any) { r.t.Failf(format, args...) }
func (r rapidTB) Fatal(args ...any)                 { r.t.Failf("%s", fmt.Sprint(args...)) }
func (r rapidTB) FailNow()                          { r.t.Failf("failed") }
func (r rapidTB) Fail()                             { r.t.Failf("failed") }
func (r rapidTB) Failed() bool                      { return false }

// setRapidFlags configures rapid through its flags, which it reads from
// the standard flag set, also outside tests.
func setRapidFlags(seed uint64, checks, steps int, shrink time.Duration) {
	rapidFlags.Do(func() {
		if !flag.Parsed() {
			testing.Init()
			flag.CommandLine.Parse(nil)
		}
	})
	flag.Set("rapid.seed", fmt.Sprint(seed))
	flag.Set("rapid.checks", fmt.Sprint(checks))
	flag.Set("rapid.steps", fmt.Sprint(steps))
	flag.Set("rapid.nofailfile", "true")
	flag.Set("rapid.shrinktime", shrink.String())
}

// rapidMu serialises rapid runs: its settings are global.
var rapidMu sync.Mutex

func init() {
	register(mk("SM-DELIVERY-MODEL", "state-machine", MUST, allVersions,
		"SMP-SUBS-1 SMP-SUBS-2 SMP-SUBS-6 SMP-SUBS-7 SMP-DLV-1 SMP-DLV-2 SMP-DLV-3 SMP-DLV-4 SMP-DLV-6 SMP-DLV-7 SMP-CMD-OFF-2 SMP-DEL-2",
		"random SEND/SUB/ACK/OFF/DEL sequences over 3 connections and 3 queues match the model of §9",
		func(t *T) {
			rapidMu.Lock()
			defer rapidMu.Unlock()
			seed := t.Options.Seed
			if seed == 0 {
				seed = 1
			}
			setRapidFlags(seed, t.Options.ModelChecks, 40, t.Options.ModelShrink)
			t.quiet = true
			rapid.Check(rapidTB{t: t, name: "SM-DELIVERY-MODEL"}, func(rt *rapid.T) {
				m := &machine{t: t, sc: t.Client(t.V)}
				for range 2 {
					m.rc = append(m.rc, t.Client(t.V))
				}
				for range 3 {
					q := t.NewQueue(m.rc[0], NewOpts{SubMode: smp.SubModeOnlyCreate})
					m.queues = append(m.queues, &modelQueue{q: q, sub: -1})
				}
				defer func() {
					for _, cl := range append(m.rc, m.sc) {
						cl.Close()
					}
				}()
				rt.Repeat(m.actions(rt))
			})
			t.quiet = false
			t.Logf("model checks passed with seed %d", seed)
		}))
}

func errTypeOf(err error) (smp.ErrorType, bool) {
	var se *client.ServerError
	if errors.As(err, &se) {
		return se.Err, true
	}
	return smp.ErrorType{}, false
}

var timeAfter = time.After

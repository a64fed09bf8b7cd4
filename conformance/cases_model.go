package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
)

// The state-machine case drives random command sequences over several
// connections and queues, checking every response and event against a model
// of spec §9. The sequences come from --seed; a failing one is shrunk by
// dropping steps while it still fails, and the report shows the shortest
// sequence found with the seed that replays it. (No testing or rapid flags
// are involved: the runner is a library and must not touch global flags.)

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

const (
	modelQueueCap = 40 // stay far below any quota
	modelQueues   = 3
	modelConns    = 2
	modelSteps    = 40
)

// step is one command of a sequence.
type step struct {
	Op    string // SEND, SUB, ACK, OFF, DEL
	Q, C  int    // queue and recipient connection
	Right bool   // ACK: the id in flight rather than a random one
}

func (s step) String() string {
	switch s.Op {
	case "SEND", "OFF":
		return fmt.Sprintf("%s q%d", s.Op, s.Q)
	case "ACK":
		which := "random id"
		if s.Right {
			which = "id in flight"
		}
		return fmt.Sprintf("ACK q%d on c%d (%s)", s.Q, s.C, which)
	}
	return fmt.Sprintf("%s q%d on c%d", s.Op, s.Q, s.C)
}

var modelOps = []string{"SEND", "SEND", "SUB", "ACK", "ACK", "OFF", "DEL"}

func genSteps(rnd *rand.Rand, n int) []step {
	out := make([]step, n)
	for i := range out {
		out[i] = step{Op: modelOps[rnd.IntN(len(modelOps))], Q: rnd.IntN(modelQueues), C: rnd.IntN(modelConns), Right: rnd.IntN(4) != 0}
	}
	return out
}

// modelFailure ends a sequence that disagrees with the model.
type modelFailure struct {
	step int
	msg  string
}

func (m *machine) expect(cond bool, format string, args ...any) {
	if !cond {
		panic(modelFailure{msg: fmt.Sprintf(format, args...)})
	}
}

// do runs a command and returns the response or ERR type ("" for none).
func (m *machine) do(cl *client.Client, req client.Request) (smp.Response, string) {
	ctx, cancel := context.WithTimeout(m.t.ctx, m.t.wait())
	defer cancel()
	rsp, err := cl.Do(ctx, req)
	if err != nil {
		if e, ok := errTypeOf(err); ok {
			return nil, e.String()
		}
		m.expect(false, "%s: no response: %v", req.Command.Tag(), err)
	}
	return rsp, ""
}

func (m *machine) event(conn int, tag string, q *modelQueue) smp.Response {
	select {
	case ev, ok := <-m.rc[conn].Events():
		m.expect(ok, "connection %d closed", conn)
		m.expect(ev.Response.Tag() == tag && bytes.Equal(ev.EntityID, q.q.IDS.RcvID),
			"connection %d: got event %s for %x, model expects %s for %x", conn, describe(ev.Response), ev.EntityID, tag, q.q.IDS.RcvID)
		return ev.Response
	case <-time.After(m.t.wait()):
		m.expect(false, "connection %d: no %s event, model expects one", conn, tag)
	}
	return nil
}

func (m *machine) body(q *modelQueue, rsp smp.Response) ([]byte, string) {
	msg, ok := rsp.(smp.RspMSG)
	m.expect(ok, "got %s, model expects MSG", describe(rsp))
	b, err := smp.OpenMsgBody(q.q.Secret, msg.MsgID, msg.Body)
	m.expect(err == nil, "MSG does not decrypt: %v", err)
	return msg.MsgID, string(b.Body)
}

// apply runs one step against the relay and the model.
func (m *machine) apply(s step) {
	q, c := m.queues[s.Q], s.C
	switch s.Op {
	case "SEND":
		if len(q.msgs) >= modelQueueCap {
			return
		}
		m.sent++
		body := fmt.Sprintf("m%d", m.sent)
		_, e := m.do(m.sc, q.q.Send(body))
		if q.del || q.off {
			m.expect(e == "AUTH", "SEND to a deleted or suspended queue: got %q, want AUTH", e)
			return
		}
		m.expect(e == "", "SEND: got ERR %s", e)
		q.msgs = append(q.msgs, body)
		if len(q.msgs) == 1 && q.sub >= 0 && q.inflight == nil {
			id, b := m.body(q, m.event(q.sub, "MSG", q))
			m.expect(b == body, "pushed %q, want %q", b, body)
			q.inflight = id
		}
	case "SUB":
		_, e := m.do(m.rc[c], q.q.Rcv(smp.CmdSUB{}))
		if q.del {
			m.expect(e == "AUTH", "SUB to a deleted queue: got %q", e)
			return
		}
		m.expect(e == "", "SUB: got ERR %s", e)
		if q.sub >= 0 && q.sub != c {
			m.event(q.sub, "END", q)
		}
		q.sub, q.inflight = c, nil
		if len(q.msgs) > 0 {
			id, b := m.body(q, m.event(c, "MSG", q))
			m.expect(b == q.msgs[0], "SUB delivered %q, head is %q", b, q.msgs[0])
			q.inflight = id
		}
	case "ACK":
		id := corrID()
		if s.Right && q.inflight != nil {
			id = q.inflight
		}
		rsp, e := m.do(m.rc[c], q.q.Rcv(smp.CmdACK{MsgID: id}))
		switch {
		case q.del:
			m.expect(e == "AUTH", "ACK on a deleted queue: got %q", e)
		case q.sub != c || q.inflight == nil || !bytes.Equal(id, q.inflight):
			m.expect(e == "NO_MSG", "ACK without a matching delivery: got %q/%v, want NO_MSG", e, rsp)
		default:
			m.expect(e == "", "ACK: got ERR %s", e)
			q.msgs, q.inflight = q.msgs[1:], nil
			if len(q.msgs) == 0 {
				m.expect(rsp.Tag() == "OK", "ACK of the last message: got %s", describe(rsp))
				return
			}
			nid, b := m.body(q, rsp)
			m.expect(b == q.msgs[0], "ACK delivered %q, next is %q", b, q.msgs[0])
			q.inflight = nid
		}
	case "OFF":
		_, e := m.do(m.rc[c], q.q.Rcv(smp.CmdOFF{}))
		if q.del {
			m.expect(e == "AUTH", "OFF on a deleted queue: got %q", e)
			return
		}
		m.expect(e == "", "OFF: got ERR %s", e)
		q.off = true
	case "DEL":
		_, e := m.do(m.rc[c], q.q.Rcv(smp.CmdDEL{}))
		if q.del {
			m.expect(e == "AUTH", "DEL of a deleted queue: got %q", e)
			return
		}
		m.expect(e == "", "DEL: got ERR %s", e)
		if q.sub >= 0 && q.sub != c {
			want := "DELD"
			if m.t.V < smp.VersionDeletedEvent {
				want = "END"
			}
			m.event(q.sub, want, q)
		}
		q.del, q.sub, q.inflight = true, -1, nil
	}
	// After every step: nothing unexpected is waiting.
	for i, cl := range m.rc {
		select {
		case ev := <-cl.Events():
			m.expect(false, "connection %d: unexpected event %s for %x", i, describe(ev.Response), ev.EntityID)
		default:
		}
	}
}

// runSequence plays steps on fresh connections and queues and returns the
// first disagreement with the model, nil when there is none.
func runSequence(t *T, steps []step) (f *modelFailure) {
	m := &machine{t: t, sc: t.Client(t.V)}
	for range modelConns {
		m.rc = append(m.rc, t.Client(t.V))
	}
	for range modelQueues {
		q := t.NewQueue(m.rc[0], NewOpts{SubMode: smp.SubModeOnlyCreate})
		m.queues = append(m.queues, &modelQueue{q: q, sub: -1})
	}
	defer func() {
		for _, cl := range append(m.rc, m.sc) {
			cl.Close()
		}
	}()
	i := 0
	defer func() {
		if p := recover(); p != nil {
			mf, ok := p.(modelFailure)
			if !ok {
				panic(p)
			}
			mf.step = i
			f = &mf
		}
	}()
	for i = range steps {
		m.apply(steps[i])
	}
	return nil
}

// shrink drops chunks of steps while the sequence still fails, until no
// single step can go or the time is up.
func shrink(t *T, steps []step, f *modelFailure, budget time.Duration) ([]step, *modelFailure) {
	deadline := time.Now().Add(budget)
	steps = steps[:f.step+1]
	for chunk := max(len(steps)/2, 1); chunk >= 1; chunk /= 2 {
		for i := 0; i < len(steps) && time.Now().Before(deadline); {
			try := append(append([]step(nil), steps[:i]...), steps[min(i+chunk, len(steps)):]...)
			if g := runSequence(t, try); g != nil {
				steps, f = try[:g.step+1], g
				continue
			}
			i += chunk
		}
	}
	return steps, f
}

func init() {
	register(mk("SM-DELIVERY-MODEL", "state-machine", MUST, Both, allVersions,
		"SMP-SUBS-1 SMP-SUBS-2 SMP-SUBS-6 SMP-SUBS-7 SMP-DLV-1 SMP-DLV-2 SMP-DLV-3 SMP-DLV-4 SMP-DLV-6 SMP-DLV-7 SMP-CMD-OFF-2 SMP-DEL-2",
		"random SEND/SUB/ACK/OFF/DEL sequences over 3 connections and 3 queues match the model of §9",
		func(t *T) {
			seed := t.Options.Seed
			t.quiet = true
			defer func() { t.quiet = false }()
			for check := range t.Options.ModelChecks {
				rnd := rand.New(rand.NewPCG(seed, uint64(check)))
				steps := genSteps(rnd, modelSteps)
				f := runSequence(t, steps)
				if f == nil {
					continue
				}
				first := f.msg
				steps, f = shrink(t, steps, f, t.Options.ModelShrink)
				var b strings.Builder
				fmt.Fprintf(&b, "the relay disagrees with the model of §9 (sequence %d of --seed %d): %s\n", check+1, seed, f.msg)
				if f.msg != first {
					fmt.Fprintf(&b, "(first seen as: %s)\n", first)
				}
				fmt.Fprintf(&b, "shrunk sequence of %d step(s), on fresh queues q0..q%d and connections c0..c%d:\n", len(steps), modelQueues-1, modelConns-1)
				for i, s := range steps {
					fmt.Fprintf(&b, "  %2d. %s\n", i+1, s)
				}
				fmt.Fprintf(&b, "replay with: --run '^SM-DELIVERY-MODEL$' --seed %d", seed)
				t.Failf("%s", b.String())
			}
			t.Logf("%d sequences of %d steps agree with the model (--seed %d)", t.Options.ModelChecks, modelSteps, seed)
		}))
}

func errTypeOf(err error) (smp.ErrorType, bool) {
	var se *client.ServerError
	if errors.As(err, &se) {
		return se.Err, true
	}
	return smp.ErrorType{}, false
}

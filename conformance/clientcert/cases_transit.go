package clientcert

import (
	"context"
	"errors"
	"fmt"

	"github.com/smpkit/smpkit/internal/driver"
)

func init() {
	register(
		&Case{ID: "TRANSIT-REORDER", Group: "agent", Level: MUST, Spec: []string{"GC-RATCHET-8", "GC-RATCHET-9", "GC-ENV-3", "DRV-EVT-1"},
			Title: "messages the relay delivers out of order are each reported once, with their own ids", Run: transit("reorder")},
		&Case{ID: "TRANSIT-LOSS", Group: "agent", Level: MUST, Spec: []string{"GC-RATCHET-9", "GC-ENV-3", "DRV-EVT-1"},
			Title: "after a message lost in transit the later ones still decrypt and the connection goes on", Run: transit("loss")},
	)
}

// holdAtRelay holds deliveries on the shim's recording relay, has the
// peer send bodies, rewrites the shim's queue with rearrange, and lets the
// relay deliver again. It returns the peer's ids. (Holding at the relay,
// not by cutting the shim off, works as well for clients that reconnect
// by themselves.)
func (t *T) holdAtRelay(ctx context.Context, p pair, bodies []string, rearrange func([]oMsg) []oMsg) ([]int64, error) {
	o := t.OS
	o.mu.Lock()
	q := o.bySnd[string(p.inv.Queues[0].SenderID)]
	o.mu.Unlock()
	if q == nil {
		return nil, errors.New("runner: the shim's queue is not at the recording relay")
	}
	// Everything before is acknowledged (GC-DUPLEX-4), so the queue
	// holds only what is sent now.
	if err := t.eventually(ctx, "the shim's queue does not drain (GC-DUPLEX-4)", func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		if len(q.msgs) == 0 && !q.inflight {
			o.hold = true
			return true
		}
		return false
	}); err != nil {
		return nil, err
	}
	var ids []int64
	for _, b := range bodies {
		id, err := t.peer.ag.Send(ctx, p.peer, []byte(b))
		if err != nil {
			return nil, fmt.Errorf("peer send: %w", err)
		}
		ids = append(ids, id)
	}
	if err := t.eventually(ctx, "runner: the peer's messages did not reach the relay", func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return len(q.msgs) == len(bodies)
	}); err != nil {
		return nil, err
	}
	o.mu.Lock()
	q.msgs = rearrange(append([]oMsg(nil), q.msgs...))
	o.mu.Unlock()
	o.release()
	return ids, nil
}

func transit(kind string) func(context.Context, *T) error {
	return func(ctx context.Context, t *T) error {
		if err := t.observe(ctx); err != nil {
			return err
		}
		p, err := t.connect(ctx, "fast", true)
		if err != nil {
			return err
		}
		bodies := []string{"first", "second", "third"}
		var order []int // indexes of bodies as delivered
		var rearrange func([]oMsg) []oMsg
		switch kind {
		case "reorder":
			order = []int{1, 2, 0}
			rearrange = func(ms []oMsg) []oMsg { return []oMsg{ms[1], ms[2], ms[0]} }
		case "loss":
			order = []int{0, 2}
			rearrange = func(ms []oMsg) []oMsg { return []oMsg{ms[0], ms[2]} }
		}
		ids, err := t.holdAtRelay(ctx, p, bodies, rearrange)
		if err != nil {
			return err
		}
		for _, i := range order {
			m, err := t.shimEvent(ctx, driver.EvMsg, p.shim)
			if err != nil {
				return fmt.Errorf("%s: message %q: %w", kind, bodies[i], err)
			}
			if driver.Val(m.Body) != bodies[i] || m.MsgID != ids[i] {
				return fmt.Errorf("%s: got %s, want %q with msg_id %d (GC-RATCHET-9, GC-ENV-3)", kind, brief(m), bodies[i], ids[i])
			}
		}
		if _, _, err := t.sendToShim(ctx, p, "after "+kind); err != nil {
			return err
		}
		if kind == "loss" && t.msgCount("second") != 0 {
			return fmt.Errorf("the shim reported a message that never arrived")
		}
		_, _, err = t.sendToPeer(ctx, p, "the shim still sends after "+kind)
		return err
	}
}

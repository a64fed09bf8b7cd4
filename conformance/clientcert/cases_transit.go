package clientcert

import (
	"context"
	"fmt"

	"github.com/smpkit/smpkit/internal/driver"
	"github.com/smpkit/smpkit/reference/store"
)

func init() {
	register(
		&Case{ID: "TRANSIT-REORDER", Group: "agent", Level: MUST, Spec: []string{"GC-RATCHET-8", "GC-RATCHET-9", "GC-ENV-3", "DRV-EVT-1"},
			Title: "messages the relay delivers out of order are each reported once, with their own ids", Run: transit("reorder")},
		&Case{ID: "TRANSIT-LOSS", Group: "agent", Level: MUST, Spec: []string{"GC-RATCHET-9", "GC-ENV-3", "DRV-EVT-1"},
			Title: "after a message lost in transit the later ones still decrypt and the connection goes on", Run: transit("loss")},
	)
}

// holdAtRelay cuts the shim off its relay, has the peer send bodies, and
// rewrites the shim's queue with rearrange while the relay is stopped;
// then the shim is told to subscribe again. It returns the peer's ids.
func (t *T) holdAtRelay(ctx context.Context, p pair, bodies []string, rearrange func([]store.Message) []store.Message) ([]int64, error) {
	q, err := queueBySender(t.S.store(), p.inv.Queues[0].SenderID)
	if err != nil {
		return nil, err
	}
	// Everything before is acknowledged (GC-DUPLEX-4), so the queue
	// holds only what is sent now.
	if err := t.eventually(ctx, "the shim's queue does not drain (GC-DUPLEX-4)", func() bool {
		n, _ := t.S.store().Size(q.RecipientID)
		return n == 0
	}); err != nil {
		return nil, err
	}
	t.S.stop()
	if err := t.S.start(); err != nil {
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
	if err := t.S.withStopped(func(st *store.Store) error {
		var held []store.Message
		for {
			m, ok := st.Head(q.RecipientID)
			if !ok {
				break
			}
			held = append(held, m)
			if _, err := st.DeleteHead(q.RecipientID, m.ID); err != nil {
				return err
			}
		}
		if len(held) != len(bodies) {
			return fmt.Errorf("runner: %d messages held at the relay, want %d", len(held), len(bodies))
		}
		for _, m := range rearrange(held) {
			if err := st.AddMessage(q.RecipientID, m); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return ids, t.resubscribe(ctx)
}

func transit(kind string) func(context.Context, *T) error {
	return func(ctx context.Context, t *T) error {
		p, err := t.connect(ctx, "fast", true)
		if err != nil {
			return err
		}
		bodies := []string{"first", "second", "third"}
		var order []int // indexes of bodies as delivered
		var rearrange func([]store.Message) []store.Message
		switch kind {
		case "reorder":
			order = []int{1, 2, 0}
			rearrange = func(ms []store.Message) []store.Message { return []store.Message{ms[1], ms[2], ms[0]} }
		case "loss":
			order = []int{0, 2}
			rearrange = func(ms []store.Message) []store.Message { return []store.Message{ms[0], ms[2]} }
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

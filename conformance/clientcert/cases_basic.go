package clientcert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/smpkit/smpkit/conformance"
	"github.com/smpkit/smpkit/internal/driver"
	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/smp"
)

const (
	MUST   = conformance.MUST
	SHOULD = conformance.SHOULD
)

func init() {
	register(
		&Case{ID: "DRV-HELLO", Group: "driver", Level: MUST, Spec: []string{"DRV-VER-1", "DRV-VER-2", "DRV-FRAME-2", "DRV-FRAME-5"},
			Title: "the shim negotiates the driver version and refuses a range it does not speak", Run: driverHello},
		&Case{ID: "DUPLEX-FAST-INITIATOR", Group: "duplex", Level: MUST, Spec: []string{"GC-LINK-1", "GC-DUPLEX-1", "GC-DUPLEX-2", "GC-DUPLEX-3", "GC-QUEUE-1", "GC-QUEUE-3", "GC-ENV-2"},
			Title: "fast procedure, shim initiates: link, CONF, allow, CON both sides", Run: duplex("fast", true)},
		&Case{ID: "DUPLEX-FAST-JOINER", Group: "duplex", Level: MUST, Spec: []string{"GC-DUPLEX-1", "GC-DUPLEX-3", "GC-QUEUE-1", "GC-QUEUE-3", "GC-ENV-2"},
			Title: "fast procedure, shim joins: SKEY before the confirmation, INFO, CON both sides", Run: duplex("fast", false)},
		&Case{ID: "DUPLEX-STD-INITIATOR", Group: "duplex", Level: MUST, Spec: []string{"GC-LINK-1", "GC-DUPLEX-2", "GC-DUPLEX-3", "GC-DUPLEX-5", "GC-QUEUE-3"},
			Title: "standard procedure, shim initiates: no q=m, KEY on its own queue before its confirmation", Run: duplex("standard", true)},
		&Case{ID: "DUPLEX-STD-JOINER", Group: "duplex", Level: MUST, Spec: []string{"GC-DUPLEX-3", "GC-DUPLEX-5", "GC-QUEUE-1", "GC-QUEUE-3"},
			Title: "standard procedure, shim joins: no SKEY on the initiator's queue, CON both sides", Run: duplex("standard", false)},
		&Case{ID: "MSG-TO-PEER", Group: "messages", Level: MUST, Spec: []string{"GC-ENV-3", "GC-ENV-4"},
			Title: "messages from the shim arrive once, unchanged, with consecutive message ids", Run: msgToPeer},
		&Case{ID: "MSG-FROM-PEER", Group: "messages", Level: MUST, Spec: []string{"GC-ENV-3", "DRV-EVT-1", "GC-RATCHET-3"},
			Title: "messages from the peer are reported once, unchanged, with the sender's message id", Run: msgFromPeer},
		&Case{ID: "MSG-RECEIPTS", Group: "messages", Level: MUST, Spec: []string{"GC-ENV-3", "GC-ENV-4"},
			Title: "receipts both ways: ack sends a receipt the peer matches; the peer's receipts are reported", Run: msgReceipts},
		&Case{ID: "MSG-QUEUE-LAYER", Group: "messages", Level: MUST, Spec: []string{"SMP-ENV-1", "GC-QUEUE-1", "GC-QUEUE-3"},
			Title: "per-queue layer as the peer receives it: key only in the first envelope, 15904/16000 padding", Run: msgQueueLayer},
		&Case{ID: "MSG-ACK-RELAY", Group: "messages", Level: MUST, Spec: []string{"GC-DUPLEX-4", "SMP-DLV-1"},
			Title: "every message delivered to the shim is acknowledged to the relay (its queues drain)", Run: msgAckRelay},
	)
}

func driverHello(ctx context.Context, t *T) error {
	s, err := t.launch(ctx)
	if err != nil {
		return err
	}
	for c := range s.unsupported {
		if !contains(driver.Optional, c) {
			return fmt.Errorf("the shim declares %q unsupported; only %v may be (DRV-VER-2)", c, driver.Optional)
		}
	}
	// A second hello with a range above every version must be refused.
	rb, _ := json.Marshal(driver.Range{Min: driver.Version + 100, Max: driver.Version + 101})
	_, err = s.call(ctx, driver.Msg{Cmd: driver.CmdHello, Driver: rb})
	var se *ShimError
	if !errors.As(err, &se) {
		return fmt.Errorf("hello with driver versions %d-%d was not refused (DRV-VER-1): %v", driver.Version+100, driver.Version+101, err)
	}
	// quit is answered and the shim exits (DRV-FRAME-5).
	if err := s.close(); err != nil {
		return err
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func duplex(proc string, shimInitiates bool) func(context.Context, *T) error {
	return func(ctx context.Context, t *T) error {
		p, err := t.connect(ctx, proc, shimInitiates)
		if err != nil {
			return err
		}
		if _, _, err := t.sendToPeer(ctx, p, "ping"); err != nil {
			return err
		}
		_, _, err = t.sendToShim(ctx, p, "pong")
		return err
	}
}

func msgToPeer(ctx context.Context, t *T) error {
	p, err := t.connect(ctx, "fast", true)
	if err != nil {
		return err
	}
	var prev int64
	for i := 0; i < 4; i++ {
		_, e, err := t.sendToPeer(ctx, p, fmt.Sprintf("message %d from the shim", i))
		if err != nil {
			return err
		}
		if prev != 0 && e.MsgID != prev+1 {
			return fmt.Errorf("the peer saw message id %d after %d: ids must be consecutive (GC-ENV-3)", e.MsgID, prev)
		}
		prev = e.MsgID
	}
	return t.noExtra(ctx, p)
}

// noExtra checks that no message arrived twice at the peer.
func (t *T) noExtra(ctx context.Context, p pair) error {
	if _, err := t.peer.events.wait(ctx, t.opts.Wait/10, func(e agent.Event) bool { return e.Kind == agent.EventMsg && e.ConnID == p.peer }); err == nil {
		return errors.New("the peer got a message the shim did not send (a duplicate?)")
	}
	return nil
}

func msgFromPeer(ctx context.Context, t *T) error {
	p, err := t.connect(ctx, "fast", true)
	if err != nil {
		return err
	}
	for i := 0; i < 4; i++ {
		if _, _, err := t.sendToShim(ctx, p, fmt.Sprintf("message %d from the peer", i)); err != nil {
			return err
		}
	}
	if _, err := t.shim.events.wait(ctx, t.opts.Wait/10, func(m driver.Msg) bool { return m.Event == driver.EvMsg }); err == nil {
		return errors.New("the shim reported a message the peer did not send (a duplicate? DRV-EVT-1)")
	}
	return nil
}

func msgReceipts(ctx context.Context, t *T) error {
	p, err := t.connect(ctx, "fast", false)
	if err != nil {
		return err
	}
	for i := 0; i < 2; i++ {
		id, e, err := t.sendToPeer(ctx, p, fmt.Sprintf("receipt me %d", i))
		if err != nil {
			return err
		}
		if err := t.peer.ag.Ack(ctx, p.peer, e.MsgID); err != nil {
			return fmt.Errorf("peer ack: %w", err)
		}
		r, err := t.shimEvent(ctx, driver.EvRcvd, p.shim)
		if err != nil {
			return fmt.Errorf("the peer's receipt: %w", err)
		}
		if r.MsgID != id {
			return fmt.Errorf("rcvd names msg_id %d, the send reply said %d (GC-ENV-3)", r.MsgID, id)
		}
	}
	for i := 0; i < 2; i++ {
		id, _, err := t.sendToShim(ctx, p, fmt.Sprintf("ack me %d", i))
		if err != nil {
			return err
		}
		if _, err := t.call(ctx, driver.Msg{Cmd: driver.CmdAck, Conn: p.shim, MsgID: id}); err != nil {
			return err
		}
		r, err := t.peerEvent(ctx, agent.EventRcvd, p.peer)
		if err != nil {
			return fmt.Errorf("after ack, no receipt at the peer (GC-ENV-3): %w", err)
		}
		if r.MsgID != id {
			return fmt.Errorf("the shim's receipt names message %d, it acknowledged %d (GC-ENV-3)", r.MsgID, id)
		}
	}
	return nil
}

func msgQueueLayer(ctx context.Context, t *T) error {
	p, err := t.connect(ctx, "fast", true)
	if err != nil {
		return err
	}
	for i := 0; i < 3; i++ {
		if _, _, err := t.sendToPeer(ctx, p, fmt.Sprintf("layer %d", i)); err != nil {
			return err
		}
	}
	// connect consumed the confirmation; every later envelope is a message.
	n := 0
	for {
		e, err := t.peer.envs.wait(ctx, t.opts.Wait/10, func(e envelope) bool { return e.conn == p.peer })
		if err != nil {
			break
		}
		n++
		ce, err := smp.ParseClientMsgEnvelope(e.body)
		if err != nil {
			return fmt.Errorf("envelope %d: not a client message envelope (SMP-ENV-1): %w", n, err)
		}
		if ce.DHKey != nil {
			return fmt.Errorf("envelope %d after the confirmation carries an X25519 key (GC-QUEUE-1: later envelopes MUST omit it)", n)
		}
		if len(ce.Body) != messageBytes {
			return fmt.Errorf("envelope %d: ciphertext of %d bytes, want %d (16000 padded, GC-QUEUE-3)", n, len(ce.Body), messageBytes)
		}
	}
	if n < 3 { // the three messages (and HELLO where the procedure has one, GC-DUPLEX-3)
		return fmt.Errorf("the peer observed %d envelopes after the confirmation, want at least 3", n)
	}
	return nil
}

func msgAckRelay(ctx context.Context, t *T) error {
	p, err := t.connect(ctx, "fast", true)
	if err != nil {
		return err
	}
	for i := 0; i < 5; i++ {
		if _, _, err := t.sendToShim(ctx, p, fmt.Sprintf("drain %d", i)); err != nil {
			return err
		}
	}
	return t.eventually(ctx, "messages stay at the shim's relay after the shim reported them: it did not ACK every MSG (GC-DUPLEX-4)", func() bool {
		st := t.S.store()
		if st == nil {
			return false
		}
		_, msgs := st.Counts()
		return msgs == 0
	})
}

package clientcert

import (
	"context"
	"errors"
	"fmt"

	"github.com/smpkit/smpkit/internal/driver"
	"github.com/smpkit/smpkit/reference/agent"
)

func init() {
	register(
		&Case{ID: "QUOTA-SENDER", Group: "agent", Level: MUST, Spec: []string{"SMP-QUOTA-1", "GC-ENV-4", "DRV-CMD-1"},
			Title: "after ERR QUOTA the shim delivers the rest once the recipient drains: none lost, none twice, in order", Run: quotaSender},
		&Case{ID: "QUOTA-RECIPIENT", Group: "agent", Level: MUST, Spec: []string{"SMP-MSG-4", "GC-DUPLEX-4", "DRV-EVT-1"},
			Title: "the shim acknowledges a QUOTA marker without reporting it, and receives what follows", Run: quotaRecipient},
	)
}

const quotaN = 3

// fillAndDrain has from send bodies to a held relay with a quota, waits
// until the quota marker is stored, releases, and returns the bodies.
func (t *T) fillAndDrain(ctx context.Context, o *obsRelay, send func(body string) error) ([]string, error) {
	o.mu.Lock()
	o.quota, o.hold = quotaN, true
	o.mu.Unlock()
	bodies := make([]string, quotaN+2)
	errs := make(chan error, 1)
	go func() {
		for i := range bodies {
			bodies[i] = fmt.Sprintf("quota %d", i)
			if err := send(bodies[i]); err != nil {
				errs <- fmt.Errorf("send %d: %w", i, err)
				return
			}
		}
		errs <- nil
	}()
	if err := t.eventually(ctx, "the queue never reached its quota", func() bool {
		_, markers := o.queued()
		return markers == 1
	}); err != nil {
		return nil, err
	}
	o.release()
	if err := <-errs; err != nil {
		return nil, fmt.Errorf("after ERR QUOTA and the recipient draining: %w", err)
	}
	return bodies, nil
}

func quotaSender(ctx context.Context, t *T) error {
	if err := t.observe(ctx); err != nil {
		return err
	}
	p, err := t.connect(ctx, "fast", true)
	if err != nil {
		return err
	}
	bodies, err := t.fillAndDrain(ctx, t.OP, func(b string) error {
		_, err := t.call(ctx, driver.Msg{Cmd: driver.CmdSend, Conn: p.shim, Body: driver.Str(b)})
		return err
	})
	if err != nil {
		return err
	}
	for _, b := range bodies {
		e, err := t.peerEvent(ctx, agent.EventMsg, p.peer)
		if err != nil {
			return fmt.Errorf("message %q: %w", b, err)
		}
		if string(e.Body) != b {
			return fmt.Errorf("the peer got %q, want %q: lost, repeated or reordered after ERR QUOTA", e.Body, b)
		}
	}
	return t.noExtra(ctx, p)
}

func quotaRecipient(ctx context.Context, t *T) error {
	if err := t.observe(ctx); err != nil {
		return err
	}
	p, err := t.connect(ctx, "fast", true)
	if err != nil {
		return err
	}
	bodies, err := t.fillAndDrain(ctx, t.OS, func(b string) error {
		_, err := t.peer.ag.Send(ctx, p.peer, []byte(b))
		return err
	})
	if err != nil {
		return err
	}
	for _, b := range bodies {
		m, err := t.shimEvent(ctx, driver.EvMsg, p.shim)
		if err != nil {
			return fmt.Errorf("message %q behind a QUOTA marker: %w (SMP-MSG-4)", b, err)
		}
		if driver.Val(m.Body) != b {
			return fmt.Errorf("the shim reported %s, want %q (DRV-EVT-1)", brief(m), b)
		}
	}
	if err := t.eventually(ctx, "", func() bool {
		msgs, markers := t.OS.queued()
		return msgs+markers == 0
	}); err != nil {
		return errors.New("the QUOTA marker or a message stays unacknowledged at the shim's relay (SMP-MSG-4, GC-DUPLEX-4)")
	}
	return nil
}

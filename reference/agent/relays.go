package agent

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
)

// relayPool keeps one client per relay. Each relay has a supervisor that
// dials it, resubscribes every queue the agent receives on there, and, when
// the connection drops, redials with exponential backoff and jitter. Nothing
// holds a lock of the agent while talking to a relay: callers of do wait
// only for their own relay.
type relayPool struct {
	cfg      client.Config
	min, max time.Duration
	// subs lists the SUB requests for every receiving queue on srv.
	subs func(srv smp.Server) []client.Request
	// event is called for each event of a relay, on that relay's reader;
	// it must not wait for a relay.
	event func(srv smp.Server, ev client.Event)

	mu     sync.Mutex
	relays map[string]*relayConn
	closed bool
	stop   chan struct{}
	wg     sync.WaitGroup
}

type relayConn struct {
	srv  smp.Server
	kick chan struct{} // try to connect now

	mu      sync.Mutex
	cl      *client.Client // nil while down
	changed chan struct{}  // closed and replaced on every change of state
	tries   int            // finished connection attempts
	lastErr error
}

func newRelayPool(cfg client.Config, min, max time.Duration) *relayPool {
	return &relayPool{cfg: cfg, min: min, max: max, relays: map[string]*relayConn{}, stop: make(chan struct{})}
}

var errPoolClosed = errors.New("agent: closed")

// watch starts supervising srv (if not yet): the agent has queues there.
func (p *relayPool) watch(srv smp.Server) *relayConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := srv.String()
	rc := p.relays[k]
	if rc == nil && !p.closed {
		rc = &relayConn{srv: srv, kick: make(chan struct{}, 1), changed: make(chan struct{})}
		p.relays[k] = rc
		p.wg.Add(1)
		go p.supervise(rc)
	}
	return rc
}

// resubscribe subscribes queues on srv if it is connected now; otherwise
// its next connection will.
func (p *relayPool) resubscribe(srv smp.Server, reqs []client.Request) {
	rc := p.watch(srv)
	if rc == nil {
		return
	}
	rc.mu.Lock()
	cl := rc.cl
	rc.mu.Unlock()
	if cl != nil {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			subscribeAll(cl, reqs)
		}()
	}
}

func (rc *relayConn) set(cl *client.Client, err error) {
	rc.mu.Lock()
	rc.cl = cl
	if cl == nil {
		rc.tries++
		rc.lastErr = err
	}
	close(rc.changed)
	rc.changed = make(chan struct{})
	rc.mu.Unlock()
}

func (p *relayPool) supervise(rc *relayConn) {
	defer p.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-p.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	backoff := p.min
	for {
		cl, err := client.Dial(ctx, rc.srv, p.cfg)
		if err != nil {
			rc.set(nil, err)
			// Full jitter over [backoff/2, backoff): relays coming back are
			// not hit by every agent at once.
			wait := backoff/2 + rand.N(backoff/2+1)
			backoff = min(2*backoff, p.max)
			select {
			case <-time.After(wait):
			case <-rc.kick:
			case <-p.stop:
				return
			}
			continue
		}
		backoff = p.min
		rc.set(cl, nil)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ev := range cl.Events() {
				p.event(rc.srv, ev)
			}
		}()
		subscribeAll(cl, p.subs(rc.srv))
		select {
		case <-cl.Done():
		case <-p.stop:
			cl.Close()
			<-done
			return
		}
		cl.Close()
		<-done
		rc.set(nil, fmt.Errorf("agent: relay %s: %w", rc.srv.Hosts, cl.Err()))
	}
}

// subscribeAll sends SUBs in batches; a MSG waiting on a queue follows as
// an event. Errors are left to the next reconnection (a queue that is gone
// answers AUTH every time, and is then deleted by its owner).
func subscribeAll(cl *client.Client, reqs []client.Request) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for len(reqs) > 0 {
		n := min(len(reqs), 128)
		if _, err := cl.DoBatch(ctx, reqs[:n]); err != nil {
			return
		}
		reqs = reqs[n:]
	}
}

// client returns srv's live client. While the relay is down it asks for an
// attempt now and waits for it: it fails with that attempt's error rather
// than wait through the backoff.
func (p *relayPool) client(ctx context.Context, srv smp.Server) (*client.Client, error) {
	rc := p.watch(srv)
	if rc == nil {
		return nil, errPoolClosed
	}
	rc.mu.Lock()
	tries := rc.tries
	rc.mu.Unlock()
	for {
		rc.mu.Lock()
		cl, changed, failed, lastErr := rc.cl, rc.changed, rc.tries > tries, rc.lastErr
		rc.mu.Unlock()
		if cl != nil {
			select {
			case <-cl.Done():
			default:
				return cl, nil
			}
		} else if failed {
			return nil, lastErr
		}
		select {
		case rc.kick <- struct{}{}:
		default:
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.stop:
			return nil, errPoolClosed
		}
	}
}

// waitUp waits until srv is connected (through as many attempts as it
// takes), for work that must wait for the relay: delivery and ACKs.
func (p *relayPool) waitUp(ctx context.Context, srv smp.Server) (*client.Client, error) {
	rc := p.watch(srv)
	if rc == nil {
		return nil, errPoolClosed
	}
	for {
		rc.mu.Lock()
		cl, changed := rc.cl, rc.changed
		rc.mu.Unlock()
		if cl != nil {
			select {
			case <-cl.Done():
			default:
				return cl, nil
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.stop:
			return nil, errPoolClosed
		}
	}
}

func (p *relayPool) do(ctx context.Context, srv smp.Server, req client.Request) (smp.Response, error) {
	cl, err := p.client(ctx, srv)
	if err != nil {
		return nil, err
	}
	return cl.Do(ctx, req)
}

// close stops every supervisor and closes every client.
func (p *relayPool) close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.stop)
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// stopping is closed when the pool closes.
func (p *relayPool) stopping() <-chan struct{} { return p.stop }

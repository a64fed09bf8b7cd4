package agent_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/agent"
)

// router reads an agent's events and files them by connection, so that
// many connections can be driven at once.
type router struct {
	mu      sync.Mutex
	evs     map[string][]agent.Event
	changed chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

func route(t testing.TB, a *agent.Agent) *router {
	r := newRouter(a)
	t.Cleanup(func() { r.close(); <-r.done })
	return r
}

func newRouter(a *agent.Agent) *router {
	r := &router{evs: map[string][]agent.Event{}, changed: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			select {
			case ev := <-a.Events():
				r.mu.Lock()
				r.evs[ev.ConnID] = append(r.evs[ev.ConnID], ev)
				close(r.changed)
				r.changed = make(chan struct{})
				r.mu.Unlock()
			case <-r.stop:
				return
			}
		}
	}()
	return r
}

// close stops the router and waits until it reads no more events.
func (r *router) close() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	<-r.done
}

// wait takes the first event of kind for conn; an error event for conn
// fails.
func (r *router) wait(conn string, kind agent.EventKind) (agent.Event, error) {
	deadline := time.After(60 * time.Second)
	for {
		r.mu.Lock()
		evs := r.evs[conn]
		for i, ev := range evs {
			if ev.Kind == kind || ev.Kind == agent.EventErr {
				r.evs[conn] = append(evs[:i:i], evs[i+1:]...)
				r.mu.Unlock()
				if ev.Kind == agent.EventErr {
					return ev, fmt.Errorf("%s: %v", conn, ev.Err)
				}
				return ev, nil
			}
		}
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			return agent.Event{}, fmt.Errorf("%s: no %s event", conn, kind)
		}
	}
}

type pair struct{ a, b string }

// parallel runs f(i) for i < n, width at a time, and fails on the first
// error.
func parallel(t testing.TB, n, width int, f func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, width)
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(i); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// connectMany establishes n connections between alice and bob.
func connectMany(t testing.TB, alice, bob *agent.Agent, n int) []pair {
	t.Helper()
	ra, rb := route(t, alice), route(t, bob)
	defer ra.close()
	defer rb.close()
	ctx := context.Background()
	pairs := make([]pair, n)
	parallel(t, n, 16, func(i int) error {
		aConn, link, err := alice.CreateInvitation(ctx)
		if err != nil {
			return err
		}
		bConn, err := bob.Join(ctx, link, []byte("bob"))
		if err != nil {
			return err
		}
		if _, err := ra.wait(aConn, agent.EventConf); err != nil {
			return err
		}
		if err := alice.Allow(ctx, aConn, []byte("alice")); err != nil {
			return err
		}
		if _, err := ra.wait(aConn, agent.EventCon); err != nil {
			return err
		}
		if _, err := rb.wait(bConn, agent.EventCon); err != nil {
			return err
		}
		pairs[i] = pair{aConn, bConn}
		return nil
	})
	return pairs
}

// exchangeAll sends one message each way on every connection.
func exchangeAll(t testing.TB, alice, bob *agent.Agent, pairs []pair, prefix string) {
	t.Helper()
	ra, rb := route(t, alice), route(t, bob)
	defer ra.close()
	defer rb.close()
	ctx := context.Background()
	parallel(t, len(pairs), 32, func(i int) error {
		p := pairs[i]
		body := fmt.Sprint(prefix, i)
		if _, err := alice.Send(ctx, p.a, []byte(body)); err != nil {
			return err
		}
		if _, err := bob.Send(ctx, p.b, []byte(body)); err != nil {
			return err
		}
		for _, w := range []struct {
			r    *router
			conn string
		}{{rb, p.b}, {ra, p.a}} {
			ev, err := w.r.wait(w.conn, agent.EventMsg)
			if err != nil {
				return err
			}
			if string(ev.Body) != body {
				return fmt.Errorf("%s: got %q, want %q", w.conn, ev.Body, body)
			}
		}
		return nil
	})
}

func dirSize(t testing.TB, dir string) int64 {
	t.Helper()
	var n int64
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		fi, err := os.Stat(filepath.Join(dir, e.Name()))
		if err == nil {
			n += fi.Size()
		}
	}
	return n
}

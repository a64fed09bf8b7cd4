package relay

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/smpkit/smpkit/conformance"
	"github.com/smpkit/smpkit/reference/store"
)

// Persistence mutants: relays that lose something when restarted. The
// mutant relay runs on a store in a temporary directory and restarts on
// the same port; afterRestart applies the fault to the reopened store.

var restartMutants = []mutant{
	{"messages-not-durable", "keeps messages only in memory: a restart loses every message answered OK", func() *hooks {
		var h hooks
		h.afterRestart = func(st *store.Store) { st.ExpireMessages(time.Now().Add(time.Hour).Unix()) }
		return &h
	}},
}

func init() { mutants = append(mutants, restartMutants...) }

func startRestartable(t *testing.T, cfg Config, h *hooks) conformance.Target {
	dir := t.TempDir()
	var mu sync.Mutex
	var r *Relay
	var st *store.Store
	var done chan error
	addr := "127.0.0.1:0"
	start := func(restarted bool) error {
		s, _, err := store.Open(dir, store.Options{})
		if err != nil {
			return err
		}
		if restarted {
			h.afterRestart(s)
		}
		c := cfg
		c.Store = s
		nr, err := New(c)
		if err != nil {
			s.Close()
			return err
		}
		nr.hooks = h
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			nr.Close()
			s.Close()
			return err
		}
		addr = ln.Addr().String()
		d := make(chan error, 1)
		go func() { d <- nr.Serve(ln) }()
		mu.Lock()
		r, st, done = nr, s, d
		mu.Unlock()
		return nil
	}
	stop := func() {
		mu.Lock()
		defer mu.Unlock()
		if r == nil {
			return
		}
		r.Close()
		if err := <-done; err != nil && !errors.Is(err, net.ErrClosed) {
			t.Log(err)
		}
		st.Close()
		r = nil
	}
	if err := start(false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return conformance.Target{HostPort: addr, KeyHash: cfg.Credentials.Identity(), Password: mutantPassword, Display: "restartable mutant",
		Restart: func(ctx context.Context) error {
			stop()
			var err error
			for range 50 {
				if err = start(true); err == nil {
					return nil
				}
				time.Sleep(100 * time.Millisecond)
			}
			return err
		}}
}

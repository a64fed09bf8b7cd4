package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/smpkit/smpkit/conformance"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/transport"
)

// selfRelay is the reference relay started in-process on loopback, with a
// store in a temporary directory removed when it stops. It can restart
// (same port, identity and store) for the persistence cases, and runs a
// second relay with a short message time to live for the expiry case.
type selfRelay struct {
	target conformance.Target
	dir    string
	cfg    relay.Config
	addr   string

	mu   sync.Mutex
	r    *relay.Relay
	st   *store.Store
	done chan error

	expiring *relay.Loopback
}

// expiryTTL is the message time to live of the expiring relay.
const expiryTTL = time.Second

func startSelf(password string) (*selfRelay, error) {
	creds, err := transport.GenerateCredentials("localhost", rand.Reader)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "smp-conform-self-")
	if err != nil {
		return nil, err
	}
	s := &selfRelay{dir: dir, cfg: relay.Config{Credentials: creds, Password: password, Proxy: &relay.ProxyConfig{AllowPrivate: true}}, addr: "127.0.0.1:0"}
	if err := s.start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ex, err := relay.StartLoopback(relay.Config{Password: password, MessageTTL: expiryTTL, ExpireInterval: 100 * time.Millisecond})
	if err != nil {
		s.Close()
		return nil, err
	}
	s.expiring = ex
	exHP := net.JoinHostPort(ex.Server.Hosts[0], ex.Server.Port)
	s.target = conformance.Target{
		HostPort: s.addr,
		KeyHash:  creds.Identity(),
		Password: password,
		Display:  "reference relay on " + s.addr,
		Restart:  s.restart,
		Expiring: &conformance.Target{HostPort: exHP, KeyHash: ex.Server.KeyHash, Password: password, Display: "expiring reference relay on " + exHP},
	}
	s.target.Expiring.TTL = expiryTTL
	return s, nil
}

func (s *selfRelay) start() error {
	st, _, err := store.Open(s.dir, store.Options{})
	if err != nil {
		return err
	}
	cfg := s.cfg
	cfg.Store = st
	r, err := relay.New(cfg)
	if err != nil {
		st.Close()
		return err
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		r.Close()
		st.Close()
		return err
	}
	s.addr = ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- r.Serve(ln) }()
	s.mu.Lock()
	s.r, s.st, s.done = r, st, done
	s.mu.Unlock()
	return nil
}

func (s *selfRelay) stop() error {
	s.mu.Lock()
	r, st, done := s.r, s.st, s.done
	s.r = nil
	s.mu.Unlock()
	if r == nil {
		return nil
	}
	err := r.Close()
	if serr := <-done; serr != nil && !errors.Is(serr, net.ErrClosed) {
		err = errors.Join(err, serr)
	}
	return errors.Join(err, st.Close())
}

// restart stops the relay and starts it again on the same port with the
// same identity and store.
func (s *selfRelay) restart(ctx context.Context) error {
	if err := s.stop(); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	var err error
	for range 50 { // the port may take a moment to be free again
		if err = s.start(); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("start again: %w", err)
}

// Store is the current store (tests count what a run leaves behind).
func (s *selfRelay) Store() *store.Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

func (s *selfRelay) Close() error {
	err := s.stop()
	if s.expiring != nil {
		s.expiring.Close()
	}
	os.RemoveAll(s.dir)
	return err
}

// restartCommand makes a Target.Restart that runs cmd with sh -c.
func restartCommand(cmd string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		c := exec.CommandContext(ctx, "sh", "-c", cmd)
		c.Stdout, c.Stderr = os.Stderr, os.Stderr
		if err := c.Run(); err != nil {
			return fmt.Errorf("--restart-cmd %q: %w", cmd, err)
		}
		return nil
	}
}

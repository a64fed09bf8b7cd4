package main

import (
	"crypto/rand"
	"net"

	"github.com/smpkit/smpkit/conformance"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/transport"
)

// selfRelay is the reference relay started in-process on loopback.
type selfRelay struct {
	relay  *relay.Relay
	target conformance.Target
	done   chan error
}

func startSelf(password string) (*selfRelay, error) {
	creds, err := transport.GenerateCredentials("localhost", rand.Reader)
	if err != nil {
		return nil, err
	}
	r, err := relay.New(relay.Config{Credentials: creds, Password: password})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &selfRelay{relay: r, done: make(chan error, 1)}
	go func() { s.done <- r.Serve(ln) }()
	s.target = conformance.Target{
		HostPort: ln.Addr().String(),
		KeyHash:  creds.Identity(),
		Password: password,
		Display:  "reference relay on " + ln.Addr().String(),
	}
	return s, nil
}

func (s *selfRelay) Close() error {
	err := s.relay.Close()
	<-s.done
	return err
}

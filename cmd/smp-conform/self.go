package main

import (
	"net"

	"github.com/smpkit/smpkit/conformance"
	"github.com/smpkit/smpkit/reference/relay"
)

// selfRelay is the reference relay started in-process on loopback, with a
// temporary store removed when it stops.
type selfRelay struct {
	*relay.Loopback
	target conformance.Target
}

func startSelf(password string) (*selfRelay, error) {
	l, err := relay.StartLoopback(relay.Config{Password: password})
	if err != nil {
		return nil, err
	}
	hostPort := net.JoinHostPort(l.Server.Hosts[0], l.Server.Port)
	return &selfRelay{Loopback: l, target: conformance.Target{
		HostPort: hostPort,
		KeyHash:  l.Server.KeyHash,
		Password: password,
		Display:  "reference relay on " + hostPort,
	}}, nil
}

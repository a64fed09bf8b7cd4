package main

import (
	"fmt"
	"net"

	"github.com/smpkit/smpkit/conformance"
	"github.com/smpkit/smpkit/reference/smp"
)

// parseTarget turns an smp:// address into a target. A password in the
// address is used unless --password overrides it.
func parseTarget(addr, password string) (conformance.Target, error) {
	s, err := smp.ParseServerWithAuth(addr)
	if err != nil {
		return conformance.Target{}, err
	}
	if password == "" && s.HasAuth {
		password = s.BasicAuth
	}
	port := s.Server.Port
	if port == "" {
		port = smp.DefaultPort
	}
	if len(s.Server.Hosts) == 0 {
		return conformance.Target{}, fmt.Errorf("address %q has no host", addr)
	}
	return conformance.Target{
		HostPort: net.JoinHostPort(s.Server.Hosts[0], port),
		KeyHash:  s.Server.KeyHash,
		Password: password,
		Display:  s.Server.String(),
	}, nil
}

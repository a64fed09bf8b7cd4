package smp

import (
	"fmt"

	"github.com/smpkit/smpkit/reference/wire"
)

// KeyHashSize is the length of a relay identity: SHA-256 of the DER of the
// identity certificate.
const KeyHashSize = 32

// DefaultPort is the SMP port used when an address has none.
const DefaultPort = "5223"

// Server is an SMP relay address: its hosts (tried in order), its port (""
// means DefaultPort), and its identity (KeyHash). Its text form,
// smp://identity@host1,host2:port, is handled in address.go.
type Server struct {
	Hosts   []string
	Port    string
	KeyHash []byte
}

// AppendBinary writes the binary form used inside commands and queue
// information: NonEmpty(short host) ‖ short port ‖ short keyHash
// (spec: SMP-ADDR-BIN-1).
func (s Server) AppendBinary(b *wire.Builder) {
	b.Count(len(s.Hosts), true)
	for _, h := range s.Hosts {
		b.Short([]byte(h))
	}
	b.Short([]byte(s.Port))
	b.Short(s.KeyHash)
}

// ParseServerBinary reads the binary form written by AppendBinary. Each host
// must be a valid host (ValidHost) and the port decimal or empty.
func ParseServerBinary(p *wire.Parser) Server {
	n := p.Count(true)
	var s Server
	for i := 0; i < n && p.Err() == nil; i++ {
		h := p.Short()
		if p.Err() == nil {
			if err := ValidHost(string(h)); err != nil {
				p.Failf("server host %d: %v", i, err)
			}
		}
		s.Hosts = append(s.Hosts, string(h))
	}
	s.Port = string(p.Short())
	if p.Err() == nil {
		if err := validPort(s.Port); err != nil {
			p.Failf("server port: %v", err)
		}
	}
	s.KeyHash = p.Short()
	if p.Err() != nil {
		return Server{}
	}
	return s
}

func validPort(port string) error {
	if port == "" {
		return nil
	}
	if len(port) > 5 {
		return fmt.Errorf("port %q: not a number 0-65535", port)
	}
	n := 0
	for _, c := range port {
		if c < '0' || c > '9' {
			return fmt.Errorf("port %q: not a decimal number", port)
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return fmt.Errorf("port %q: above 65535", port)
	}
	return nil
}

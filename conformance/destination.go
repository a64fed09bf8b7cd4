package conformance

import (
	"context"
	"crypto/rand"
	"net"
	"time"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/transport"
)

// The runner's own destination relay, for the proxy cases: a TLS listener
// with fresh credentials that runs the relay side of the SMP handshake
// (package transport) and hands each session to the case, so that what a
// proxying relay sends to a destination (its hello, its proxy flag, its
// key, whether blocks are encrypted, the RFWD it forwards) is observed
// directly. It must be reachable from the relay under test:
// Options.DestListen and Options.DestHost (--dest-listen, --dest-host).

type destination struct {
	server   smp.Server
	sessions chan *transport.Session
}

// Destination starts the runner's destination relay offering versions vr;
// it stops when the case ends.
func (t *T) Destination(vr smp.VersionRange) *destination {
	creds, err := transport.GenerateCredentials("destination", rand.Reader)
	t.Check(err, "destination credentials")
	addr := t.Options.DestListen
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	t.Check(err, "destination listener")
	t.Cleanup(ln)
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if t.Options.DestHost != "" {
		host = t.Options.DestHost
	}
	d := &destination{server: smp.Server{Hosts: []string{host}, Port: port, KeyHash: creds.Identity()}, sessions: make(chan *transport.Session, 4)}
	tlsCfg := transport.ServerTLSConfig(creds)
	go func() {
		for {
			raw, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(raw)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c := transport.TLSServer(raw, tlsCfg)
				if c.Handshake(ctx) != nil {
					raw.Close()
					return
				}
				sess, err := transport.ServerHandshake(ctx, c, transport.ServerConfig{Credentials: creds, Versions: vr})
				if err != nil {
					raw.Close()
					return
				}
				select {
				case d.sessions <- sess:
				default:
					sess.Close()
				}
			}()
		}
	}()
	return d
}

// session waits for the proxying relay's connection.
func (d *destination) session(t *T) *transport.Session {
	select {
	case s := <-d.sessions:
		t.Cleanup(s)
		return s
	case <-time.After(t.wait()):
		t.Failf("the relay under test did not connect to the runner's destination relay at %s:%s (is it reachable from the relay? --dest-host, --dest-listen)", d.server.Hosts[0], d.server.Port)
	}
	return nil
}

package clientcert

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/transport"
)

// scripted is a relay of the runner's own that misbehaves on purpose; it
// records what each connection got to, for the case to judge.
type scripted struct {
	ln     net.Listener
	Server smp.Server
	notes  *eventLog[string]
	wg     sync.WaitGroup
}

func startScripted(keyHash []byte, handle func(ctx context.Context, c net.Conn, note func(string))) (*scripted, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	s := &scripted{ln: ln, Server: smp.Server{Hosts: []string{"127.0.0.1"}, Port: port, KeyHash: keyHash}, notes: newEventLog[string]()}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				handle(ctx, c, s.notes.add)
			}()
		}
	}()
	return s, nil
}

func (s *scripted) close() {
	s.ln.Close()
	s.wg.Wait()
}

// oneCertRelay presents a TLS chain of one self-issued certificate, whose
// hash the address carries: a client MUST refuse it (SMP-TLS-5, SMP-TLS-6,
// SMP-HS-8). It notes "tls-accepted" when the client finished TLS.
func oneCertRelay() (*scripted, error) {
	creds, err := transport.GenerateCredentials("localhost", rand.Reader)
	if err != nil {
		return nil, err
	}
	cfg := transport.ServerTLSConfig(creds)
	cfg = cfg.Clone()
	cfg.Certificates = []tls.Certificate{{Certificate: [][]byte{creds.Cert.Raw}, PrivateKey: creds.CertKey}}
	h := sha256.Sum256(creds.Cert.Raw)
	return startScripted(h[:], func(ctx context.Context, c net.Conn, note func(string)) {
		tc := transport.TLSServer(c, cfg)
		if err := tc.Handshake(ctx); err != nil {
			note("tls-refused: " + err.Error())
			return
		}
		note("tls-accepted")
		// Serve the SMP handshake too, so that a client that does not
		// check the chain gets as far as it would with a real relay.
		if _, err := transport.ServerHandshake(ctx, tc, transport.ServerConfig{Credentials: creds}); err != nil {
			note("smp-handshake: " + err.Error())
			return
		}
		note("smp-accepted")
	})
}

// versionRelay is a real TLS identity whose SMP hello offers only
// versions outside every client range (SMP-HS-5): a client MUST close the
// connection instead of proposing a version. It notes "hello-accepted" if
// a client hello arrived and was accepted.
func versionRelay(offer smp.VersionRange) (*scripted, error) {
	creds, err := transport.GenerateCredentials("localhost", rand.Reader)
	if err != nil {
		return nil, err
	}
	cfg := transport.ServerTLSConfig(creds)
	return startScripted(creds.Identity(), func(ctx context.Context, c net.Conn, note func(string)) {
		tc := transport.TLSServer(c, cfg)
		if err := tc.Handshake(ctx); err != nil {
			note("tls-refused: " + err.Error())
			return
		}
		if _, err := transport.ServerHandshake(ctx, tc, transport.ServerConfig{Credentials: creds, Versions: offer}); err != nil {
			note("smp-handshake: " + err.Error())
			return
		}
		note(fmt.Sprintf("hello-accepted for a range %v", offer))
	})
}

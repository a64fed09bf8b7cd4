package transport

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/smp"
)

// pair runs the TLS and SMP handshakes over a loopback TCP connection and
// returns both sessions, or the error of each side.
type hsResult struct {
	s   *Session
	err error
}

func smpPair(t *testing.T, creds *Credentials, scfg ServerConfig, noALPN bool, ccfg ClientConfig) (srv, cli hsResult) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	scfg.Credentials = creds
	sc := make(chan hsResult, 1)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			sc <- hsResult{err: err}
			return
		}
		tc := TLSServer(raw, ServerTLSConfig(creds))
		if err := tc.Handshake(ctx); err != nil {
			raw.Close()
			sc <- hsResult{err: err}
			return
		}
		s, err := ServerHandshake(ctx, tc, scfg)
		if err != nil {
			raw.Close()
		}
		sc <- hsResult{s, err}
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if ccfg.KeyHash == nil {
		ccfg.KeyHash = creds.Identity()
	}
	tc := TLSClient(raw, ClientTLSConfig(creds.Identity(), noALPN, nil))
	if err := tc.Handshake(ctx); err != nil {
		raw.Close()
		cli = hsResult{err: err}
	} else {
		s, err := ClientHandshake(ctx, tc, ccfg)
		if err != nil {
			raw.Close()
		}
		cli = hsResult{s, err}
	}
	srv = <-sc
	t.Cleanup(func() {
		if srv.s != nil {
			srv.s.Close()
		}
		if cli.s != nil {
			cli.s.Close()
		}
	})
	return srv, cli
}

func testCreds(t *testing.T) *Credentials {
	t.Helper()
	c, err := GenerateCredentials("localhost", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestHandshakeEveryVersion pins the client to each version 6..18 and checks
// both ends agree on the version, the session id, the session secret and
// block encryption, then exchanges blocks both ways.
func TestHandshakeEveryVersion(t *testing.T) {
	creds := testCreds(t)
	for v := smp.VersionMin; v <= smp.VersionMax; v++ {
		for _, noKey := range []bool{false, true} {
			if noKey && v < smp.VersionAuthCmds {
				continue
			}
			name := v.String()
			if noKey {
				name += "-nokey"
			}
			t.Run("v"+name, func(t *testing.T) {
				srv, cli := smpPair(t, creds, ServerConfig{}, false,
					ClientConfig{Versions: smp.VersionRange{Min: v, Max: v}, NoDHKey: noKey})
				if srv.err != nil || cli.err != nil {
					t.Fatalf("server: %v, client: %v", srv.err, cli.err)
				}
				s, c := srv.s, cli.s
				if s.Version != v || c.Version != v {
					t.Fatalf("versions %d/%d, want %d", s.Version, c.Version, v)
				}
				if !bytes.Equal(s.SessionID, c.SessionID) || len(s.SessionID) != 32 {
					t.Fatalf("session ids differ: %x / %x", s.SessionID, c.SessionID)
				}
				if !bytes.Equal(s.Secret, c.Secret) {
					t.Fatal("session secrets differ")
				}
				wantKey := v >= smp.VersionAuthCmds && !noKey
				if (s.Secret != nil) != wantKey {
					t.Fatalf("secret present = %v, want %v", s.Secret != nil, wantKey)
				}
				wantEnc := v >= smp.VersionEncryptedBlock && !noKey
				if s.Encrypted() != wantEnc || c.Encrypted() != wantEnc {
					t.Fatalf("encryption server %v client %v, want %v", s.Encrypted(), c.Encrypted(), wantEnc)
				}
				if !c.ServerKey.Equal(s.ServerPrivateKey().Public()) {
					t.Fatal("client did not get the relay session key")
				}
				exchange(t, s, c)
			})
		}
	}
}

// exchange sends a few blocks each way and checks they arrive intact, which
// also proves the two chains are in step.
func exchange(t *testing.T, s, c *Session) {
	t.Helper()
	for i := 0; i < 3; i++ {
		msg := bytes.Repeat([]byte{byte('a' + i)}, 100*i+1)
		for _, dir := range []struct{ from, to *Session }{{c, s}, {s, c}} {
			errc := make(chan error, 1)
			go func() { errc <- dir.from.WriteBlock(msg) }()
			got, err := dir.to.ReadBlock()
			if err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, msg) {
				t.Fatalf("block %d: got %d bytes, want %d", i, len(got), len(msg))
			}
		}
	}
}

func TestHandshakeNoALPN(t *testing.T) {
	creds := testCreds(t)
	srv, cli := smpPair(t, creds, ServerConfig{}, true, ClientConfig{})
	if srv.err != nil || cli.err != nil {
		t.Fatalf("server: %v, client: %v", srv.err, cli.err)
	}
	if cli.s.Offered != smp.LegacyRange || cli.s.Version != 6 || srv.s.Version != 6 {
		t.Fatalf("offered %v, agreed %d", cli.s.Offered, cli.s.Version)
	}
	exchange(t, srv.s, cli.s)
}

func TestHandshakeNoCommonVersion(t *testing.T) {
	creds := testCreds(t)
	srv, cli := smpPair(t, creds, ServerConfig{Versions: smp.VersionRange{Min: 6, Max: 9}}, false,
		ClientConfig{Versions: smp.VersionRange{Min: 10, Max: 18}})
	if !errors.Is(cli.err, ErrVersion) {
		t.Fatalf("client error %v, want VERSION", cli.err)
	}
	if srv.err == nil {
		t.Fatal("server accepted a connection whose client gave up")
	}
}

func TestHandshakeWrongIdentityInHello(t *testing.T) {
	// The client hello names another relay: the relay must close without
	// sending anything.
	creds := testCreds(t)
	other := testCreds(t)
	s, srvErr := rawClient(t, creds, ServerConfig{})
	hello, err := smp.EncodeClientHello(smp.ClientHello{Version: 18, KeyHash: other.Identity()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBlock(hello); err != nil {
		t.Fatal(err)
	}
	if err := <-srvErr; !errors.Is(err, ErrIdentityHS) {
		t.Fatalf("server error %v, want HANDSHAKE IDENTITY", err)
	}
}

func TestHandshakeVersionNotOffered(t *testing.T) {
	creds := testCreds(t)
	s, srvErr := rawClient(t, creds, ServerConfig{Versions: smp.VersionRange{Min: 6, Max: 12}})
	hello, err := smp.EncodeClientHello(smp.ClientHello{Version: 13, KeyHash: creds.Identity()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBlock(hello); err != nil {
		t.Fatal(err)
	}
	if err := <-srvErr; !errors.Is(err, ErrVersion) {
		t.Fatalf("server error %v, want VERSION", err)
	}
}

// rawClient connects with TLS only, reads the server hello, and returns a
// session with no SMP state for hand-made hellos, and the server's result.
func rawClient(t *testing.T, creds *Credentials, scfg ServerConfig) (*Session, chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	scfg.Credentials = creds
	errc := make(chan error, 1)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer raw.Close()
		tc := TLSServer(raw, ServerTLSConfig(creds))
		if err := tc.Handshake(ctx); err != nil {
			errc <- err
			return
		}
		_, err = ServerHandshake(ctx, tc, scfg)
		errc <- err
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	tc := TLSClient(raw, ClientTLSConfig(creds.Identity(), false, nil))
	if err := tc.Handshake(ctx); err != nil {
		t.Fatal(err)
	}
	s := &Session{conn: tc, SessionID: tc.SessionID()}
	if _, err := s.ReadBlock(); err != nil {
		t.Fatal(err)
	}
	return s, errc
}

func TestHandshakeProxyFlag(t *testing.T) {
	creds := testCreds(t)
	srv, cli := smpPair(t, creds, ServerConfig{}, false, ClientConfig{ProxyServer: true})
	if srv.err != nil || cli.err != nil {
		t.Fatalf("server: %v, client: %v", srv.err, cli.err)
	}
	if !srv.s.ProxyClient || srv.s.Encrypted() || cli.s.Encrypted() {
		t.Fatalf("proxy flag %v, encryption %v/%v: want flag on, encryption off", srv.s.ProxyClient, srv.s.Encrypted(), cli.s.Encrypted())
	}
	if srv.s.Secret == nil || !bytes.Equal(srv.s.Secret, cli.s.Secret) {
		t.Fatal("proxy session needs the shared secret")
	}
	exchange(t, srv.s, cli.s)
}

// TestHandshakeProxyToOldRelay: a proxy facing a relay that offers at most
// v13 caps itself at v10 (SMP-PROXY-11).
func TestHandshakeProxyToOldRelay(t *testing.T) {
	creds := testCreds(t)
	srv, cli := smpPair(t, creds, ServerConfig{Versions: smp.VersionRange{Min: 6, Max: 13}}, false, ClientConfig{ProxyServer: true})
	if srv.err != nil || cli.err != nil {
		t.Fatalf("server: %v, client: %v", srv.err, cli.err)
	}
	if cli.s.Version != smp.VersionDeletedEvent {
		t.Fatalf("agreed v%d, want 10", cli.s.Version)
	}
}

func TestServiceRejectedWithoutRegistry(t *testing.T) {
	// A hello announcing a service without a TLS client certificate gets
	// an E reply and the handshake fails on both ends.
	creds := testCreds(t)
	s, errc := rawClient(t, creds, ServerConfig{})
	hello, err := smp.EncodeClientHello(smp.ClientHello{Version: 16, KeyHash: creds.Identity(),
		Service: &smp.HelloService{Role: smp.RoleMessaging, Key: smp.CertKey{Chain: [][]byte{{1}}, SignedKey: []byte{2}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBlock(hello); err != nil {
		t.Fatal(err)
	}
	b, err := s.ReadBlock()
	if err != nil {
		t.Fatal(err)
	}
	r, err := smp.ParseServiceReply(b)
	if err != nil || r.Err != "HANDSHAKE BAD_AUTH" {
		t.Fatalf("reply %+v, %v; want E HANDSHAKE BAD_AUTH", r, err)
	}
	if err := <-errc; !errors.Is(err, ErrBadAuth) {
		t.Fatalf("server error %v, want BAD_AUTH", err)
	}
}

// TestClientRejectsBadHello feeds the client hand-made server hellos.
func TestClientRejectsBadHello(t *testing.T) {
	creds := testCreds(t)
	other := testCreds(t)
	cases := []struct {
		name  string
		hello func(sessID []byte) smp.ServerHello
		want  error
	}{
		{"wrong session id", func(id []byte) smp.ServerHello {
			return smp.ServerHello{Versions: smp.SupportedRange, SessionID: bytes.Repeat([]byte{1}, 32)}
		}, ErrSession},
		{"no common version", func(id []byte) smp.ServerHello {
			return smp.ServerHello{Versions: smp.VersionRange{Min: 19, Max: 20}, SessionID: id}
		}, ErrVersion},
		{"chain of one", func(id []byte) smp.ServerHello {
			return smp.ServerHello{Versions: smp.SupportedRange, SessionID: id,
				Key: &smp.CertKey{Chain: [][]byte{creds.Cert.Raw}, SignedKey: []byte{0x30, 0}}}
		}, ErrBadAuth},
		{"other identity in hello chain", func(id []byte) smp.ServerHello {
			return smp.ServerHello{Versions: smp.SupportedRange, SessionID: id,
				Key: &smp.CertKey{Chain: other.Chain(), SignedKey: []byte{0x30, 0}}}
		}, ErrBadAuth},
		{"bad signed key", func(id []byte) smp.ServerHello {
			return smp.ServerHello{Versions: smp.SupportedRange, SessionID: id,
				Key: &smp.CertKey{Chain: creds.Chain(), SignedKey: []byte{0x30, 0}}}
		}, ErrBadAuth},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			got := make(chan []byte, 1)
			go func() {
				raw, err := ln.Accept()
				if err != nil {
					return
				}
				defer raw.Close()
				c := TLSServer(raw, ServerTLSConfig(creds))
				if c.Handshake(ctx) != nil {
					return
				}
				s := &Session{conn: c, SessionID: c.SessionID()}
				b, _ := smp.EncodeServerHello(tc.hello(c.SessionID()))
				s.WriteBlock(b)
				// Anything the client sends after a bad hello is a failure.
				c.SetReadDeadline(time.Now().Add(2 * time.Second))
				buf := make([]byte, 1)
				n, _ := c.Read(buf)
				got <- buf[:n]
			}()
			raw, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			c := TLSClient(raw, ClientTLSConfig(creds.Identity(), false, nil))
			if err := c.Handshake(ctx); err != nil {
				t.Fatal(err)
			}
			_, err = ClientHandshake(ctx, c, ClientConfig{KeyHash: creds.Identity()})
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			raw.Close()
			if b := <-got; len(b) != 0 {
				t.Fatal("client sent data after rejecting the hello")
			}
		})
	}
}

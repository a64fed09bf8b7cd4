package transport

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"
)

// issue makes a certificate for a fresh key, signed by parent (or self).
func issue(t *testing.T, cn string, isCA bool, parent *x509.Certificate, parentKey ed25519.PrivateKey) (*x509.Certificate, ed25519.PrivateKey) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  isCA,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func fingerprint(der []byte) []byte { h := sha256.Sum256(der); return h[:] }

func TestVerifyChainLengths(t *testing.T) {
	ca, caKey := issue(t, "ca", true, nil, nil)
	mid, midKey := issue(t, "mid", true, ca, caKey)
	id, idKey := issue(t, "identity", true, mid, midKey)
	leaf2, _ := issue(t, "leaf2", false, ca, caKey)
	leaf3, _ := issue(t, "leaf3", false, mid, midKey)
	leaf4, _ := issue(t, "leaf4", false, id, idKey)

	cases := []struct {
		name  string
		chain [][]byte
		hash  []byte
		want  error
	}{
		{"2 certs", [][]byte{leaf2.Raw, ca.Raw}, fingerprint(ca.Raw), nil},
		{"3 certs", [][]byte{leaf3.Raw, mid.Raw, ca.Raw}, fingerprint(mid.Raw), nil},
		{"4 certs", [][]byte{leaf4.Raw, id.Raw, mid.Raw, ca.Raw}, fingerprint(id.Raw), nil},
		{"1 cert", [][]byte{ca.Raw}, fingerprint(ca.Raw), ErrChainLength},
		{"5 certs", [][]byte{leaf4.Raw, id.Raw, mid.Raw, ca.Raw, ca.Raw}, fingerprint(id.Raw), ErrChainLength},
		{"identity is the leaf", [][]byte{leaf2.Raw, ca.Raw}, fingerprint(leaf2.Raw), ErrIdentity},
		{"wrong identity", [][]byte{leaf2.Raw, ca.Raw}, fingerprint(mid.Raw), ErrIdentity},
		{"leaf not signed by CA", [][]byte{leaf3.Raw, ca.Raw}, fingerprint(ca.Raw), ErrChain},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := VerifyChain(c.chain, c.hash)
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("VerifyChain = %v, want %v", err, c.want)
			}
		})
	}
}

func TestCredentialsSaveLoad(t *testing.T) {
	dir := t.TempDir()
	c, err := GenerateCredentials("localhost", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Save(dir); err != nil {
		t.Fatal(err)
	}
	l, err := LoadCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(l.Identity(), c.Identity()) || !bytes.Equal(l.Cert.Raw, c.Cert.Raw) || l.CAKey == nil {
		t.Fatal("loaded credentials differ")
	}
	id := c.Identity()
	if err := l.Rotate("localhost", rand.Reader); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(l.Identity(), id) || bytes.Equal(l.Cert.Raw, c.Cert.Raw) {
		t.Fatal("rotation must keep the identity and change the online certificate")
	}
	if err := VerifyChain(l.Chain(), id); err != nil {
		t.Fatal(err)
	}
}

// dialPair runs a relay-side TLS handshake against a client config.
func dialPair(t *testing.T, creds *Credentials, keyHash []byte, noALPN bool) (srv, cli *TLSConn, cliErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan *TLSConn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- nil
			return
		}
		s := TLSServer(c, ServerTLSConfig(creds))
		if s.Handshake(ctx) != nil {
			s.Close()
			done <- nil
			return
		}
		s.Write([]byte{0})
		done <- s
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cli = TLSClient(raw, ClientTLSConfig(keyHash, noALPN, nil))
	cliErr = cli.Handshake(ctx)
	if cliErr == nil {
		cli.Read(make([]byte, 1))
	} else {
		cli.Close()
	}
	srv = <-done
	t.Cleanup(func() {
		cli.Close()
		if srv != nil {
			srv.Close()
		}
	})
	return srv, cli, cliErr
}

func TestRelayTLS(t *testing.T) {
	creds, err := GenerateCredentials("localhost", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("alpn", func(t *testing.T) {
		srv, cli, err := dialPair(t, creds, creds.Identity(), false)
		if err != nil {
			t.Fatal(err)
		}
		if p := cli.ConnectionState().NegotiatedProtocol; p != ALPN {
			t.Fatalf("ALPN %q", p)
		}
		if !bytes.Equal(srv.SessionID(), cli.SessionID()) || len(cli.SessionID()) != 32 {
			t.Fatalf("session ids differ: %x %x", srv.SessionID(), cli.SessionID())
		}
	})
	t.Run("no alpn", func(t *testing.T) {
		srv, cli, err := dialPair(t, creds, creds.Identity(), true)
		if err != nil {
			t.Fatal(err)
		}
		if p := srv.ConnectionState().NegotiatedProtocol; p != "" {
			t.Fatalf("ALPN %q", p)
		}
		if !bytes.Equal(srv.SessionID(), cli.SessionID()) {
			t.Fatal("session ids differ")
		}
	})
	t.Run("wrong identity", func(t *testing.T) {
		bad := bytes.Repeat([]byte{1}, 32)
		_, _, err := dialPair(t, creds, bad, false)
		if !errors.Is(err, ErrIdentity) {
			t.Fatalf("handshake with a wrong identity: %v", err)
		}
	})
}

package transport

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCert makes a self-signed Ed25519 certificate for tests.
func testCert(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}
}

// tap records both directions of a raw connection for the independent check.
type tap struct {
	net.Conn
	mu      sync.Mutex
	in, out []byte
}

func (t *tap) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	t.mu.Lock()
	t.in = append(t.in, p[:n]...)
	t.mu.Unlock()
	return n, err
}

func (t *tap) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.out = append(t.out, p...)
	t.mu.Unlock()
	return t.Conn.Write(p)
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) secret(t *testing.T, label string) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.Split(l.b.String(), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == label {
			s, err := hex.DecodeString(f[2])
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	t.Fatalf("no %s in key log", label)
	return nil
}

type pairResult struct {
	server, client *TLSConn
	clientTap      *tap
	keyLog         *lockedBuf
}

// handshakePair connects a TLSClient to a TLSServer over loopback TCP.
func handshakePair(t *testing.T, version uint16, clientCert bool) pairResult {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	keyLog := &lockedBuf{}
	srvCfg := &tls.Config{
		Certificates: []tls.Certificate{testCert(t, "relay")},
		MinVersion:   version, MaxVersion: version,
		ClientAuth:             tls.RequestClientCert,
		SessionTicketsDisabled: true,
		CipherSuites:           []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
	}
	cliCfg := &tls.Config{
		InsecureSkipVerify: true, // identity is checked by SMP, not by web PKI
		MinVersion:         version, MaxVersion: version,
		KeyLogWriter: keyLog,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
	}
	if clientCert {
		cliCfg.Certificates = []tls.Certificate{testCert(t, "service")}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srvDone := make(chan error, 1)
	var srv *TLSConn
	go func() {
		c, err := ln.Accept()
		if err != nil {
			srvDone <- err
			return
		}
		srv = TLSServer(c, srvCfg)
		err = srv.Handshake(ctx)
		if err == nil {
			_, err = srv.Write([]byte{1}) // completes the client's view of the handshake
		}
		srvDone <- err
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	tp := &tap{Conn: raw}
	cli := TLSClient(tp, cliCfg)
	if err := cli.Handshake(ctx); err != nil {
		t.Fatal(err)
	}
	one := make([]byte, 1)
	if _, err := cli.Read(one); err != nil {
		t.Fatal(err)
	}
	if err := <-srvDone; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close(); srv.Close() })
	return pairResult{server: srv, client: cli, clientTap: tp, keyLog: keyLog}
}

// handshakeMessages splits plaintext handshake records into messages.
func plaintextHandshake(raw []byte) [][]byte {
	var buf []byte
	for _, rec := range records(raw) {
		if rec[0] == recordTypeHandshake {
			buf = append(buf, rec[5:]...)
		}
	}
	var msgs [][]byte
	for len(buf) >= 4 {
		n := 4 + (int(buf[1])<<16 | int(buf[2])<<8 | int(buf[3]))
		if n > len(buf) {
			break
		}
		msgs = append(msgs, buf[:n])
		buf = buf[n:]
	}
	return msgs
}

// serverHandshake13 decrypts the server's encrypted flight up to its Finished.
func serverHandshake13(t *testing.T, suite uint16, secret, raw []byte) [][]byte {
	o, err := newHandshakeOpener(suite, secret)
	if err != nil {
		t.Fatal(err)
	}
	var buf []byte
	var msgs [][]byte
	for _, rec := range records(raw) {
		if rec[0] != recordTypeApplicationData {
			continue
		}
		typ, content, err := o.open(rec)
		if err != nil {
			t.Fatal(err)
		}
		if typ != recordTypeHandshake {
			continue
		}
		buf = append(buf, content...)
		for len(buf) >= 4 {
			n := 4 + (int(buf[1])<<16 | int(buf[2])<<8 | int(buf[3]))
			if n > len(buf) {
				break
			}
			msgs = append(msgs, buf[:n])
			done := buf[0] == handshakeTypeFinished
			buf = buf[n:]
			if done {
				return msgs
			}
		}
	}
	t.Fatal("no server Finished")
	return nil
}

// TestSessionIDMatchesTranscript checks tls-unique on both ends against the
// client Finished recomputed from the handshake transcript as RFC 8446
// §4.4.4 defines it: HMAC(finished_key, Hash(ClientHello … last client
// message before Finished)), finished_key = HKDF-Expand-Label(client
// handshake traffic secret, "finished", "", Hash.length).
func TestSessionIDMatchesTranscript(t *testing.T) {
	for _, clientCert := range []bool{false, true} {
		name := "no-client-cert"
		if clientCert {
			name = "client-cert"
		}
		t.Run(name, func(t *testing.T) {
			p := handshakePair(t, tls.VersionTLS13, clientCert)
			st := p.client.ConnectionState()
			suite := suites13[st.CipherSuite]
			chs := p.keyLog.secret(t, "CLIENT_HANDSHAKE_TRAFFIC_SECRET")
			shs := p.keyLog.secret(t, "SERVER_HANDSHAKE_TRAFFIC_SECRET")

			p.clientTap.mu.Lock()
			out, in := bytes.Clone(p.clientTap.out), bytes.Clone(p.clientTap.in)
			p.clientTap.mu.Unlock()
			var transcript [][]byte
			transcript = append(transcript, plaintextHandshake(out)[0]) // ClientHello
			transcript = append(transcript, plaintextHandshake(in)[0])  // ServerHello
			transcript = append(transcript, serverHandshake13(t, st.CipherSuite, shs, in)...)
			cmsgs, err := clientHandshake13(st.CipherSuite, chs, out)
			if err != nil {
				t.Fatal(err)
			}
			transcript = append(transcript, cmsgs[:len(cmsgs)-1]...) // all but Finished

			h := suite.hash()
			for _, m := range transcript {
				h.Write(m)
			}
			fk, err := expandLabel(suite.hash, chs, "finished", nil, h.Size())
			if err != nil {
				t.Fatal(err)
			}
			mac := hmac.New(suite.hash, fk)
			mac.Write(h.Sum(nil))
			want := mac.Sum(nil)

			if !bytes.Equal(p.client.SessionID(), want) {
				t.Errorf("client session id %x, transcript gives %x", p.client.SessionID(), want)
			}
			if !bytes.Equal(p.server.SessionID(), want) {
				t.Errorf("server session id %x, transcript gives %x", p.server.SessionID(), want)
			}
			if len(want) != h.Size() {
				t.Errorf("verify_data of %d bytes", len(want))
			}
		})
	}
}

func TestSessionIDTLS12(t *testing.T) {
	p := handshakePair(t, tls.VersionTLS12, false)
	c, s := p.client.SessionID(), p.server.SessionID()
	if len(c) != 12 || !bytes.Equal(c, s) {
		t.Fatalf("TLS 1.2 session ids: client %x server %x", c, s)
	}
}

// TestOpenerSuites seals a record with each TLS 1.3 suite's keys and checks
// the opener reads it back, so the suites a Go peer does not pick by itself
// (ChaCha20 on machines with AES hardware) are exercised too.
func TestOpenerSuites(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 48)
	for id, s := range suites13 {
		key, _ := expandLabel(s.hash, secret, "key", nil, s.keyLen)
		iv, _ := expandLabel(s.hash, secret, "iv", nil, 12)
		a, err := s.aead(key)
		if err != nil {
			t.Fatal(err)
		}
		// inner plaintext: a Finished message, content type, two zero pad bytes
		fin := append([]byte{handshakeTypeFinished, 0, 0, 4}, 1, 2, 3, 4)
		inner := append(append(bytes.Clone(fin), recordTypeHandshake), 0, 0)
		hdr := []byte{recordTypeApplicationData, 3, 3, 0, byte(len(inner) + a.Overhead())}
		rec := append(bytes.Clone(hdr), a.Seal(nil, iv, inner, hdr)...)
		got, err := clientFinished13(id, secret, append([]byte{recordTypeChangeCipherSpec, 3, 3, 0, 1, 1}, rec...))
		if err != nil {
			t.Fatalf("suite %#04x: %v", id, err)
		}
		if !bytes.Equal(got, []byte{1, 2, 3, 4}) {
			t.Fatalf("suite %#04x: got %x", id, got)
		}
	}
}

func TestClientFinishedGarbage(t *testing.T) {
	for _, raw := range [][]byte{nil, {23, 3, 3, 0, 20}, bytes.Repeat([]byte{23, 3, 3, 0, 17}, 8)} {
		if _, err := clientFinished13(tls.TLS_AES_128_GCM_SHA256, make([]byte, 32), raw); err == nil {
			t.Fatalf("garbage %x gave a session id", raw)
		}
	}
}

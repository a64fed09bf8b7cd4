package conformance

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/transport"
)

// single marks a case that runs once, at the top of its range.
func single(c *Case) *Case { c.Single = true; return c }

// extra adds version points to a case.
func extra(c *Case, vs ...smp.Version) *Case { c.Extra = append(c.Extra, vs...); return c }

// mk builds a case from straight-line code (see probe.go).
func mk(id, group string, level Level, path Path, vr smp.VersionRange, spec, title string, run func(t *T)) *Case {
	return &Case{ID: id, Group: group, Level: level, Path: path, Versions: vr, Title: title, Spec: strings.Fields(spec),
		Run: func(ctx context.Context, t *T) error { run(t); return nil }}
}

func from(v smp.Version) smp.VersionRange { return smp.VersionRange{Min: v, Max: smp.VersionMax} }

func init() {
	register(
		single(mk("HS-EVERY-VERSION", "handshake", MUST, Positive, allVersions, "SMP-VER-1 SMP-HS-1 SMP-HS-2 SMP-HS-5 SMP-CMD-PING-1 SMP-HS-9 SMP-VER-2 SMP-TLS-8",
			"a client pinned to each version of the range, without a TLS client certificate, connects at that version and is answered",
			func(t *T) {
				for v := t.Range.Min; v <= t.Range.Max; v++ {
					cl := t.Client(v)
					t.Want(cl, client.Request{Command: smp.CmdPING{}}, "PONG")
					cl.Close()
				}
			})),
		single(mk("HS-OFFERED-RANGE", "handshake", MUST, Positive, allVersions, "SMP-VER-1 SMP-TLS-3",
			"with ALPN the relay offers a range that contains the run's versions",
			func(t *T) {
				cl := t.ClientWith(client.Config{Versions: t.Range})
				off := cl.Session().Offered
				t.Logf("offered %v", off)
				if !off.Contains(t.Range.Min) || !off.Contains(t.Range.Max) {
					t.Failf("relay offers %v, the run expects %v", off, t.Range)
				}
			})),
		mk("HS-NO-ALPN-LEGACY", "handshake", MUST, Positive, smp.VersionRange{Min: 6, Max: 6}, "SMP-TLS-3",
			"without ALPN the relay offers only version 6",
			func(t *T) {
				cl := t.ClientWith(client.Config{NoALPN: true})
				if off := cl.Session().Offered; off != smp.LegacyRange {
					t.Failf("relay offers %v without ALPN, want 6..6", off)
				}
				t.Want(cl, client.Request{Command: smp.CmdPING{}}, "PONG")
			}),
		mk("HS-SIGNED-KEY", "handshake", MUST, Positive, from(7), "SMP-HS-1 SMP-HS-6 SMP-SIGNED-1 SMP-HS-10 SMP-SIGNED-3",
			"the server hello carries the TLS chain and an X25519 session key signed by the TLS leaf, fresh per connection",
			func(t *T) {
				a := t.Client(t.V).Session()
				b := t.Client(t.V).Session()
				if a.ServerKey.IsZero() {
					t.Failf("server hello without a signed session key")
				}
				if a.ServerKey.Equal(b.ServerKey) {
					t.Failf("two connections got the same session key")
				}
				if len(a.ServerChain) < 2 {
					t.Failf("hello chain of %d certificates", len(a.ServerChain))
				}
			}),
		mk("HS-SESSION-ID", "handshake", MUST, Positive, allVersions, "SMP-TLS-7 SMP-HS-1",
			"the server hello's session id is the tls-unique of the connection",
			func(t *T) {
				// The client handshake compares them and fails with SESSION.
				s := t.Client(t.V).Session()
				t.Logf("session id %x", s.SessionID)
			}),
		mk("HS-WRONG-IDENTITY", "handshake", MUST, Negative, allVersions, "SMP-HS-7",
			"a client hello naming another relay identity gets the connection closed, no answer",
			func(t *T) { badHello(t, func(h *smp.ClientHello) { h.KeyHash = make([]byte, 32) }) }),
		mk("HS-VERSION-NOT-OFFERED", "handshake", MUST, Negative, allVersions, "SMP-HS-7 SMP-HS-5",
			"a client hello proposing a version outside the offered range gets the connection closed",
			func(t *T) { badHello(t, func(h *smp.ClientHello) { h.Version = 200 }) }),
		mk("HS-LEGACY-HELLO-EXACT", "handshake", MUST, Positive, smp.VersionRange{Min: 6, Max: 6}, "SMP-HS-1 SMP-HS-9",
			"without ALPN the server hello is exactly the range 6..6 and the session id: no chain, no key, nothing after",
			func(t *T) {
				tc, err := t.DialTLS(t.ctx, true)
				t.Check(err, "TLS without ALPN")
				b, err := transport.RawSession(tc).ReadBlock()
				t.Check(err, "read server hello")
				sh, err := smp.ParseServerHello(b)
				t.Check(err, "server hello")
				if want := 4 + 1 + len(sh.SessionID); len(b) != want || sh.Versions != smp.LegacyRange {
					t.Failf("server hello of %d bytes offering %v, want exactly %d bytes (range 6..6 and the session id): %x", len(b), sh.Versions, want, b[min(len(b), want):min(len(b), want+32)])
				}
			}),
		mk("HS-VERSION-BELOW-RANGE", "handshake", MUST, Negative, allVersions, "SMP-HS-7 SMP-HS-5",
			"a client hello proposing version 5, below every offered range, gets the connection closed",
			func(t *T) { badHello(t, func(h *smp.ClientHello) { h.Version = 5; h.DHKey = nil }) }),
		mk("HS-HELLO-GARBAGE", "handshake", MUST, Negative, allVersions, "SMP-HS-7",
			"a client hello that does not parse gets the connection closed, no answer",
			func(t *T) {
				tc, err := t.DialTLS(t.ctx, false)
				t.Check(err, "TLS")
				sess := transport.RawSession(tc)
				_, err = sess.ReadBlock()
				t.Check(err, "read server hello")
				t.Check(sess.WriteBlock([]byte{0}), "write hello")
				wantClosed(t, tc, "after a one-byte hello")
			}),
		mk("HS-BLOCK-ENCRYPTION", "handshake", MUST, Positive, from(smp.VersionEncryptedBlock), "SMP-CHAIN-1 SMP-CHAIN-2 SMP-CHAIN-3 SMP-CHAIN-4 SMP-BOX-2",
			"from v11 blocks are encrypted when the client sends a key, and plain when it does not",
			func(t *T) {
				enc := t.Client(t.V)
				if !enc.Session().Encrypted() {
					t.Failf("block encryption is off")
				}
				// Several round trips advance both chains.
				for range 3 {
					t.Want(enc, client.Request{Command: smp.CmdPING{}}, "PONG")
				}
				plain := t.ClientWith(client.Config{Versions: smp.VersionRange{Min: t.V, Max: t.V}, NoDHKey: true})
				if plain.Session().Encrypted() {
					t.Failf("encryption on without a client key")
				}
				t.Want(plain, client.Request{Command: smp.CmdPING{}}, "PONG")
			}),
		mk("HS-PROXY-FLAG-PLAIN", "handshake", MUST, Positive, from(smp.VersionProxyServerHello), "SMP-CHAIN-4 SMP-PROXY-11",
			"a client hello with proxyServer set gets unencrypted blocks",
			func(t *T) {
				cl := t.ClientWith(client.Config{Versions: smp.VersionRange{Min: t.V, Max: t.V}, ProxyServer: true})
				if cl.Session().Encrypted() {
					t.Failf("block encryption on for a proxy")
				}
				t.Want(cl, client.Request{Command: smp.CmdPING{}}, "PONG")
			}),
	)
}

// badHello runs TLS and reads the server hello, then sends a client hello
// altered by mutate and requires the relay to close without a word.
func badHello(t *T, mutate func(*smp.ClientHello)) {
	tc, err := t.DialTLS(t.ctx, false)
	t.Check(err, "TLS")
	sess := transport.RawSession(tc)
	b, err := sess.ReadBlock()
	t.Check(err, "read server hello")
	sh, err := smp.ParseServerHello(b)
	t.Check(err, "server hello")
	k := t.Key(smpcrypto.X25519).Public()
	h := smp.ClientHello{Version: sh.Versions.Max, KeyHash: t.Target.KeyHash}
	if h.Version >= smp.VersionAuthCmds {
		h.DHKey = &k
	}
	mutate(&h)
	raw, err := smp.EncodeClientHello(h)
	t.Check(err, "encode hello")
	t.Check(sess.WriteBlock(raw), "write hello")
	wantClosed(t, tc, "after the refused hello")
}

// wantClosed requires the relay to close c (EOF or reset) within the wait.
// A read timeout is not a refusal: a relay that accepts what it must refuse
// and then just waits fails here (SMP-HS-7).
func wantClosed(t *T, tc *transport.TLSConn, when string) {
	tc.SetReadDeadline(time.Now().Add(t.wait()))
	block := make([]byte, smp.BlockSize)
	n, err := tc.Read(block)
	var ne net.Error
	switch {
	case err == nil:
		t.Failf("%s the relay sent %d bytes instead of closing the connection", when, n)
	case errors.As(err, &ne) && ne.Timeout():
		t.Failf("%s the relay kept the connection open for %v without closing it: a refusal must be a close or reset, not silence", when, t.wait())
	}
	t.Logf("relay closed %s: %v", when, err)
}

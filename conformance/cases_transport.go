package conformance

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/transport"
)

var allVersions = smp.SupportedRange

func init() {
	register(
		&Case{
			ID: "TLS-VERSION", Path: Positive, Group: "transport", Level: SHOULD, Versions: allVersions,
			Title: "TLS 1.3 is negotiated when the client offers TLS 1.2 and 1.3",
			Spec:  []string{"SMP-TLS-1"},
			Run: func(ctx context.Context, t *T) error {
				c, err := t.DialTLS(ctx, false)
				if err != nil {
					return err
				}
				if v := c.ConnectionState().Version; v != tls.VersionTLS13 {
					return fmt.Errorf("negotiated TLS version %#04x", v)
				}
				return nil
			},
		},
		&Case{
			ID: "TLS-13-ONLY", Path: Positive, Group: "transport", Level: MUST, Versions: allVersions, Single: true,
			Title: "a client offering only TLS 1.3 with ChaCha20-Poly1305 connects",
			Spec:  []string{"SMP-TLS-1"},
			Run: func(ctx context.Context, t *T) error {
				var d net.Dialer
				raw, err := d.DialContext(ctx, "tcp", t.Target.HostPort)
				if err != nil {
					return err
				}
				cfg := transport.ClientTLSConfig(t.Target.KeyHash, false, nil)
				cfg.MinVersion = tls.VersionTLS13
				c := transport.TLSClient(raw, cfg)
				t.Cleanup(c)
				if err := c.Handshake(ctx); err != nil {
					return fmt.Errorf("TLS 1.3 only: %w", err)
				}
				if s := c.ConnectionState().CipherSuite; s != tls.TLS_CHACHA20_POLY1305_SHA256 {
					t.Logf("cipher suite %s", tls.CipherSuiteName(s))
				}
				return nil
			},
		},
		&Case{
			ID: "TLS-ALPN", Path: Positive, Group: "transport", Level: MUST, Versions: allVersions,
			Title: "ALPN smp/1 is accepted",
			Spec:  []string{"SMP-TLS-3"},
			Run: func(ctx context.Context, t *T) error {
				c, err := t.DialTLS(ctx, false)
				if err != nil {
					return err
				}
				if p := c.ConnectionState().NegotiatedProtocol; p != transport.ALPN {
					return fmt.Errorf("negotiated ALPN %q, want %q", p, transport.ALPN)
				}
				return nil
			},
		},
		&Case{
			ID: "TLS-NO-ALPN", Path: Positive, Group: "transport", Level: MUST, Versions: allVersions,
			Title: "a client offering no ALPN can connect",
			Spec:  []string{"SMP-TLS-3"},
			Run: func(ctx context.Context, t *T) error {
				_, err := t.DialTLS(ctx, true)
				return err
			},
		},
		&Case{
			ID: "TLS-IDENTITY", Path: Positive, Group: "transport", Level: MUST, Versions: allVersions,
			Title: "the chain has 2-4 certificates and the second one's SHA-256 is the address identity",
			Spec:  []string{"SMP-TLS-5", "SMP-TLS-6", "SMP-TLS-2"},
			Run: func(ctx context.Context, t *T) error {
				c, err := t.DialTLS(ctx, false)
				if err != nil {
					return err
				}
				t.Logf("chain of %d certificates", len(c.ConnectionState().PeerCertificates))
				return nil
			},
		},
		&Case{
			ID: "TLS-SESSION-ID", Path: Positive, Group: "transport", Level: MUST, Versions: allVersions,
			Title: "tls-unique (client Finished verify_data) is available to bind the session",
			Spec:  []string{"SMP-TLS-7"},
			Run: func(ctx context.Context, t *T) error {
				c, err := t.DialTLS(ctx, false)
				if err != nil {
					return err
				}
				if n := len(c.SessionID()); n != 32 && n != 48 && n != 12 {
					return fmt.Errorf("session id of %d bytes", n)
				}
				t.Logf("session id %x", c.SessionID())
				return nil
			},
		},
	)
}

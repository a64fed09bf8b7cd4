package clientcert

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/smpkit/smpkit/internal/driver"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/transport"
)

// helloFault is a server hello the runner's scripted relay sends after a
// correct TLS handshake; the client MUST refuse it (SMP-HS-8) and send no
// client hello.
type helloFault struct {
	id, title string
	spec      []string
	mutate    func(h *smp.ServerHello, creds *transport.Credentials) error
}

var helloFaults = []helloFault{
	{"HS-BAD-SIGNED-KEY", "a session key whose signature does not verify with the TLS leaf is refused", []string{"SMP-HS-8", "SMP-SIGNED-3"},
		func(h *smp.ServerHello, _ *transport.Credentials) error {
			h.Key.SignedKey[len(h.Key.SignedKey)-1] ^= 0x01
			return nil
		}},
	{"HS-SIGNED-NOT-X25519", "a correctly signed session key that is not X25519 is refused", []string{"SMP-HS-8"},
		func(h *smp.ServerHello, creds *transport.Credentials) error {
			k, err := smpcrypto.GenerateKey(smpcrypto.Ed25519, rand.Reader)
			if err != nil {
				return err
			}
			h.Key.SignedKey, err = smpcrypto.SignKey(leaf(creds), k.Public())
			return err
		}},
	{"HS-SESSION-ID", "a hello naming another session id is refused (the session is bound to tls-unique)", []string{"SMP-HS-8", "SMP-TLS-7"},
		func(h *smp.ServerHello, _ *transport.Credentials) error {
			h.SessionID = randomBytes(len(h.SessionID))
			return nil
		}},
	{"HS-CHAIN-OF-ONE", "a hello whose certificate chain has one certificate is refused", []string{"SMP-HS-8", "SMP-HS-6"},
		func(h *smp.ServerHello, _ *transport.Credentials) error {
			h.Key.Chain = h.Key.Chain[:1]
			return nil
		}},
}

func leaf(c *transport.Credentials) smpcrypto.PrivateKey {
	k, _ := smpcrypto.NewPrivateKey(smpcrypto.Ed25519, c.CertKey.(ed25519.PrivateKey).Seed())
	return k
}

func init() {
	for _, f := range helloFaults {
		register(&Case{ID: f.id, Group: "transport", Level: MUST, Spec: f.spec, Title: f.title, Run: helloCase(f)})
	}
}

// badHelloRelay serves TLS correctly, then a server hello changed by f.
// It notes "client-hello" when the client answered with its hello.
func badHelloRelay(f helloFault) (*scripted, error) {
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
		priv, err := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader)
		if err != nil {
			note("runner: " + err.Error())
			return
		}
		signed, err := smpcrypto.SignKey(leaf(creds), priv.Public())
		if err != nil {
			note("runner: " + err.Error())
			return
		}
		h := smp.ServerHello{Versions: smp.SupportedRange, SessionID: tc.SessionID(), Key: &smp.CertKey{Chain: creds.Chain(), SignedKey: signed}}
		if err := f.mutate(&h, creds); err != nil {
			note("runner: " + err.Error())
			return
		}
		b, err := smp.EncodeServerHello(h)
		if err != nil {
			note("runner: " + err.Error())
			return
		}
		s := transport.RawSession(tc)
		if err := s.WriteBlock(b); err != nil {
			note("write: " + err.Error())
			return
		}
		if _, err := s.ReadBlock(); err != nil {
			note("no client hello: " + err.Error())
			return
		}
		note("client-hello")
	})
}

func helloCase(f helloFault) func(context.Context, *T) error {
	return func(ctx context.Context, t *T) error {
		sr, err := badHelloRelay(f)
		if err != nil {
			return err
		}
		defer sr.close()
		if err := t.startShim(ctx, sr.Server); err == nil {
			if _, err := t.call(ctx, driver.Msg{Cmd: driver.CmdCreateInvitation, Procedure: "fast"}); err == nil {
				return errors.New("create_invitation succeeded on a relay whose hello is faulty")
			} else if se := (*ShimError)(nil); !errors.As(err, &se) {
				return err
			}
		}
		n, err := sr.notes.wait(ctx, t.opts.Wait/5, func(string) bool { return true })
		if err != nil {
			return errors.New("the shim never reached the scripted relay")
		}
		t.Logf("scripted relay: %s", n)
		switch {
		case n == "client-hello":
			return fmt.Errorf("the shim answered a faulty server hello with its own (%s)", strings.Join(f.spec, ", "))
		case strings.HasPrefix(n, "tls-refused"), strings.HasPrefix(n, "runner"):
			return fmt.Errorf("the case did not reach the hello: %s", n)
		}
		return nil
	}
}

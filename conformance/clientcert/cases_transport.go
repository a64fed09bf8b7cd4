package clientcert

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/smpkit/smpkit/internal/driver"
	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/smp"
)

func init() {
	register(
		&Case{ID: "TLS-IDENTITY-MISMATCH", Group: "transport", Level: MUST, Spec: []string{"SMP-HS-8", "SMP-TLS-6", "DRV-CMD-2"},
			Title: "a relay whose identity differs from the address's key hash is refused: no queue is created", Run: identityMismatch},
		&Case{ID: "TLS-IDENTITY-MISMATCH-JOIN", Group: "transport", Level: MUST, Spec: []string{"SMP-HS-8", "SMP-TLS-6"},
			Title: "joining a link whose queue address has the wrong key hash sends nothing to that relay", Run: identityMismatchJoin},
		&Case{ID: "TLS-CHAIN-OF-ONE", Group: "transport", Level: MUST, Spec: []string{"SMP-TLS-5", "SMP-TLS-6", "SMP-HS-8"},
			Title: "a relay presenting a chain of one certificate is refused during TLS", Run: chainOfOne},
		&Case{ID: "HS-VERSION-OUTSIDE", Group: "transport", Level: MUST, Spec: []string{"SMP-HS-5", "SMP-HS-8"},
			Title: "a relay offering only versions outside the client's range gets no client hello", Run: versionOutside},
	)
}

func wrongKeyHash(srv smp.Server) smp.Server {
	kh := make([]byte, len(srv.KeyHash))
	rand.Read(kh)
	srv.KeyHash = kh
	return srv
}

// refused checks that a command failed with ok false and the shim lives on.
func (t *T) refused(ctx context.Context, m driver.Msg, why string) error {
	rep, err := t.call(ctx, m)
	var se *ShimError
	switch {
	case errors.As(err, &se):
		t.Logf("refused as required: %s", se.Text)
	case err != nil:
		return fmt.Errorf("%s: %w (DRV-CMD-2: refuse, do not exit)", why, err)
	default:
		return fmt.Errorf("%s, yet %s succeeded: %s", why, m.Cmd, brief(rep))
	}
	// The shim must still answer (DRV-CMD-2).
	rb := driver.Msg{Cmd: driver.CmdCreateInvitation, Procedure: "standard"}
	_, err = t.call(ctx, rb)
	if err != nil && !errors.As(err, &se) {
		return fmt.Errorf("after the refusal the shim no longer answers: %w", err)
	}
	return nil
}

func identityMismatch(ctx context.Context, t *T) error {
	bad := wrongKeyHash(t.S.Server)
	if err := t.startShim(ctx, bad); err != nil {
		var se *ShimError
		if errors.As(err, &se) {
			t.Logf("start refused: %s", se.Text)
		} else {
			return err
		}
	} else if _, err := t.call(ctx, driver.Msg{Cmd: driver.CmdCreateInvitation, Procedure: "fast"}); err == nil {
		return fmt.Errorf("create_invitation succeeded on a relay whose identity is not %s (SMP-HS-8)", smp.EncodeB64(bad.KeyHash))
	} else if se := (*ShimError)(nil); !errors.As(err, &se) {
		return err
	}
	if q, _ := t.S.store().Counts(); q != 0 {
		return fmt.Errorf("the relay holds %d queues: the shim sent NEW to a relay whose identity it did not check (SMP-HS-8)", q)
	}
	return nil
}

func identityMismatchJoin(ctx context.Context, t *T) error {
	if err := t.startShim(ctx, t.S.Server); err != nil {
		return err
	}
	_, link, err := t.peer.ag.CreateInvitationWith(ctx, agent.Standard)
	if err != nil {
		return err
	}
	inv, _ := agent.ParseInvitation(link)
	inv.Queues[0].Server = wrongKeyHash(inv.Queues[0].Server)
	// A client may refuse at once or, sending in the background, later
	// (DRV-CMD-1); either way nothing may reach the relay.
	_, err = t.call(ctx, driver.Msg{Cmd: driver.CmdJoin, Link: inv.String(), Info: driver.Str(shimInfo)})
	var se *ShimError
	switch {
	case errors.As(err, &se):
		t.Logf("refused: %s", se.Text)
	case err != nil:
		return err
	default:
		time.Sleep(t.opts.Wait / 5) // time for a background attempt
	}
	q, err := queueBySender(t.P.store(), inv.Queues[0].SenderID)
	if err != nil {
		return err
	}
	if _, msgs := t.P.store().Counts(); msgs != 0 || q.SenderKey != nil {
		return errors.New("the shim secured or sent to a queue on a relay whose identity does not match the link (SMP-HS-8)")
	}
	if _, err := t.call(ctx, driver.Msg{Cmd: driver.CmdCreateInvitation, Procedure: "fast"}); err != nil {
		return fmt.Errorf("after the refused relay the shim no longer works (DRV-CMD-2): %w", err)
	}
	return nil
}

func chainOfOne(ctx context.Context, t *T) error {
	sr, err := oneCertRelay()
	if err != nil {
		return err
	}
	defer sr.close()
	if err := t.startShim(ctx, sr.Server); err == nil {
		_, err = t.call(ctx, driver.Msg{Cmd: driver.CmdCreateInvitation, Procedure: "fast"})
		if err == nil {
			return errors.New("create_invitation succeeded with a relay presenting one certificate")
		}
	}
	n, err := sr.notes.wait(ctx, t.opts.Wait/5, func(string) bool { return true })
	if err != nil {
		return nil // the client never finished TLS: refused
	}
	t.Logf("scripted relay: %s", n)
	if !strings.HasPrefix(n, "tls-refused") {
		return fmt.Errorf("the shim completed TLS with a chain of one certificate (%s): it MUST validate a chain of 2..4 (SMP-TLS-6)", n)
	}
	return nil
}

func versionOutside(ctx context.Context, t *T) error {
	offer := smp.VersionRange{Min: smp.SupportedRange.Max + 1, Max: smp.SupportedRange.Max + 2}
	sr, err := versionRelay(offer)
	if err != nil {
		return err
	}
	defer sr.close()
	if err := t.startShim(ctx, sr.Server); err == nil {
		_, err = t.call(ctx, driver.Msg{Cmd: driver.CmdCreateInvitation, Procedure: "fast"})
		if err == nil {
			return fmt.Errorf("create_invitation succeeded with a relay offering only %v", offer)
		}
	}
	n, err := sr.notes.wait(ctx, t.opts.Wait/5, func(string) bool { return true })
	if err != nil {
		return errors.New("the shim never reached the scripted relay")
	}
	t.Logf("scripted relay: %s", n)
	if strings.HasPrefix(n, "hello-accepted") {
		return fmt.Errorf("the shim proposed a version inside %v though its own range does not intersect it (SMP-HS-5)", offer)
	}
	if bytes.Contains([]byte(n), []byte("tls-refused")) {
		return fmt.Errorf("the shim refused the relay during TLS, before seeing its versions: %s", n)
	}
	return nil
}

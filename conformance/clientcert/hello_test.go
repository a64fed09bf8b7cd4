package clientcert

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smpkit/smpkit/internal/agentshim"
	"github.com/smpkit/smpkit/internal/driver"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/transport"
)

// TestBadHelloControl: with nothing changed, the scripted relay's hello is
// one the reference client answers, so a refusal in the HS-* cases is the
// fault's doing and not the relay's.
func TestBadHelloControl(t *testing.T) {
	ctx := context.Background()
	sr, err := badHelloRelay(helloFault{mutate: func(*smp.ServerHello, *transport.Credentials) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer sr.close()
	opts := &Options{Launch: inProcess(agentshim.Options{}), Wait: 3 * time.Second}
	tt := &T{opts: opts, dir: t.TempDir()}
	if err := tt.startShim(ctx, sr.Server); err != nil {
		t.Fatal(err)
	}
	defer tt.shim.close()
	tt.call(ctx, driver.Msg{Cmd: driver.CmdCreateInvitation, Procedure: "fast"})
	n, err := sr.notes.wait(ctx, 3*time.Second, func(string) bool { return true })
	if err != nil || n != "client-hello" {
		t.Fatalf("unchanged hello: %q, %v; want the client to answer it", n, err)
	}
}

// TestVersionRelayControl: offering the normal range, the scripted relay
// of HS-VERSION-OUTSIDE accepts the reference client's hello.
func TestVersionRelayControl(t *testing.T) {
	ctx := context.Background()
	sr, err := versionRelay(smp.SupportedRange)
	if err != nil {
		t.Fatal(err)
	}
	defer sr.close()
	tt := &T{opts: &Options{Launch: inProcess(agentshim.Options{}), Wait: 3 * time.Second}, dir: t.TempDir()}
	if err := tt.startShim(ctx, sr.Server); err != nil {
		t.Fatal(err)
	}
	defer tt.shim.close()
	tt.call(ctx, driver.Msg{Cmd: driver.CmdCreateInvitation, Procedure: "fast"})
	n, err := sr.notes.wait(ctx, 3*time.Second, func(string) bool { return true })
	if err != nil || !strings.HasPrefix(n, "hello-accepted") {
		t.Fatalf("normal range: %q, %v", n, err)
	}
}

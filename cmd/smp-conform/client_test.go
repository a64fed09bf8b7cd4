package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smpkit/smpkit/internal/agentshim"
)

// The test binary doubles as the shim: with this variable set it serves
// the driver protocol on stdin/stdout, as cmd/smp-agent-shim does.
const shimEnv = "SMP_CONFORM_TEST_AS_SHIM"

func init() {
	if os.Getenv(shimEnv) == "1" {
		if err := agentshim.Serve(context.Background(), os.Stdin, os.Stdout, agentshim.Options{}); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
}

func TestClientSubcommand(t *testing.T) {
	t.Setenv(shimEnv, "1")
	dir := t.TempDir()
	js, junit, html := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.xml"), filepath.Join(dir, "r.html")
	var out, errb bytes.Buffer
	code := runClient([]string{"-q", "--run", "^(DRV-HELLO|DUPLEX-FAST-JOINER)$", "--json", js, "--junit", junit, "--html", html, "--", os.Args[0]}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	var rep struct {
		Results []struct{ ID, Status string }
	}
	b, _ := os.ReadFile(js)
	if err := json.Unmarshal(b, &rep); err != nil || len(rep.Results) != 2 {
		t.Fatalf("JSON report: %v, %d results", err, len(rep.Results))
	}
	for _, r := range rep.Results {
		if r.Status != "pass" {
			t.Errorf("%s: %s", r.ID, r.Status)
		}
	}
	for _, f := range []string{junit, html} {
		if b, err := os.ReadFile(f); err != nil || !bytes.Contains(b, []byte("DUPLEX-FAST-JOINER")) {
			t.Errorf("%s: %v, %d bytes without the case", f, err, len(b))
		}
	}
	out.Reset()
	if code := runClient([]string{"--list", "--coverage"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "GC-DUPLEX-1") {
		t.Errorf("--list --coverage: exit %d\n%s", code, out.String())
	}
	if code := runClient(nil, &out, &errb); code != 2 {
		t.Errorf("client without a shim: exit %d, want 2", code)
	}
}

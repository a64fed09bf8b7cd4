package main

import (
	"strings"
	"testing"

	"github.com/smpkit/smpkit/internal/buildinfo"
	"github.com/smpkit/smpkit/internal/maintest"
)

func TestMain(m *testing.M) { maintest.TestMain(m, main) }

// TestVersion: --version prints the build line and exits 0.
func TestVersion(t *testing.T) {
	out, errOut, code := maintest.Run(t, "--version")
	if code != 0 || strings.TrimSpace(out) != buildinfo.Line("smp-agent-shim") || errOut != "" {
		t.Fatalf("--version: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestFlagError: an unknown flag is printed, with the program's name, and
// exits 2.
func TestFlagError(t *testing.T) {
	out, errOut, code := maintest.Run(t, "--no-such-flag")
	if code != 2 || out != "" || !strings.HasPrefix(errOut, "smp-agent-shim: ") || !strings.Contains(errOut, "no-such-flag") {
		t.Fatalf("unknown flag: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// Package maintest runs a command's main in a child process of its own
// test binary, so that tests of flags, --version and exit codes run the
// real main without building the command: the test binary re-executes
// itself with an environment variable that makes TestMain call main.
package maintest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/smpkit/smpkit/internal/buildinfo"
)

const envArgs = "SMPKIT_MAINTEST_ARGS"

// TestMain is the package's TestMain: in the child it runs main with the
// arguments Run passed (and exits 0 when main returns), else the tests.
func TestMain(m *testing.M, main func()) {
	if a, ok := os.LookupEnv(envArgs); ok {
		os.Args = append([]string{os.Args[0]}, strings.Split(a, "\x1f")[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Run runs main with args (which must not hold the byte 0x1f, the
// separator) in a child process and returns what it printed
// and its exit status.
func Run(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envArgs+"="+strings.Join(append([]string{""}, args...), "\x1f"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader("")
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %q: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// Version checks that --version prints the build line of the command
// called name (buildinfo.Line) and exits 0.
func Version(t *testing.T, name string) {
	t.Helper()
	out, errOut, code := Run(t, "--version")
	if code != 0 || strings.TrimSpace(out) != buildinfo.Line(name) || errOut != "" {
		t.Fatalf("--version: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// FlagError checks that an unknown flag is printed on stderr, after the
// command's name, and exits 2.
func FlagError(t *testing.T, name string) {
	t.Helper()
	out, errOut, code := Run(t, "--no-such-flag")
	if code != 2 || out != "" || !strings.HasPrefix(errOut, name+": ") || !strings.Contains(errOut, "no-such-flag") {
		t.Fatalf("unknown flag: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

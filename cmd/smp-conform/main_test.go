package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smpkit/smpkit/conformance"
)

func TestSelfWritesReports(t *testing.T) {
	dir := t.TempDir()
	ef := filepath.Join(dir, "expect")
	os.WriteFile(ef, []byte("# known\nCMD-PING-NOT-A-CASE\n"), 0o644)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"self", "--expect-fail", ef}, &out, &errb); code != 2 {
		t.Fatalf("unknown case id in --expect-fail: exit %d, want 2\n%s", code, errb.String())
	}
	os.WriteFile(ef, []byte("DLV-PUSH pretend it is a known deviation\n"), 0o644)
	html, js := filepath.Join(dir, "r.html"), filepath.Join(dir, "r.json")
	out.Reset()
	errb.Reset()
	code := run(context.Background(), []string{"self", "-q", "--quick", "--run", "^(DLV-PUSH|CMD-NEW-PASSWORD|HS-EVERY-VERSION)$", "--html", html, "--json", js, "--expect-fail", ef}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "XPASS DLV-PUSH") {
		t.Errorf("summary does not report the unexpected pass:\n%s", out.String())
	}
	var rep struct {
		Results []struct{ ID, Status string }
	}
	b, _ := os.ReadFile(js)
	if err := json.Unmarshal(b, &rep); err != nil || len(rep.Results) != 3 {
		t.Fatalf("JSON report: %v, %d results", err, len(rep.Results))
	}
	for _, r := range rep.Results {
		if r.ID == "CMD-NEW-PASSWORD" && r.Status != "pass" {
			t.Errorf("self relay runs with a password, yet CMD-NEW-PASSWORD is %s", r.Status)
		}
	}
	if h, _ := os.ReadFile(html); !bytes.Contains(h, []byte("Verdict per spec section")) {
		t.Error("HTML report incomplete")
	}
}

func TestVersionsFlag(t *testing.T) {
	for in, ok := range map[string]bool{"6-18": true, "12": true, "18-6": false, "5-18": false, "x": false} {
		if _, err := parseVersions(in); (err == nil) != ok {
			t.Errorf("parseVersions(%q): %v", in, err)
		}
	}
}

func TestRelayAddressParsing(t *testing.T) {
	tg, err := parseTarget("smp://LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI=:secret@127.0.0.1:5224", "")
	if err != nil || tg.HostPort != "127.0.0.1:5224" || tg.Password != "secret" || len(tg.KeyHash) != 32 {
		t.Fatalf("%+v, %v", tg, err)
	}
	if _, err := parseTarget("smp://nothing", ""); err == nil {
		t.Fatal("bad address accepted")
	}
}

// A report on stdout leaves stdout pure: the text summary goes to stderr.
func TestJSONOnStdoutOnly(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"self", "-q", "--run", "^DLV-PUSH$", "--json", "-"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	var rep map[string]any
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out.String())
	}
	if !strings.Contains(errb.String(), "PASS") {
		t.Errorf("text summary missing from stderr:\n%s", errb.String())
	}
}

func TestSelectionMatchingNothing(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"self", "--run", "NO-SUCH-CASE"}, &out, &errb); code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "matches no case") {
		t.Errorf("stderr: %s", errb.String())
	}
}

func TestVersionAndFlagErrors(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "smp-conform ") {
		t.Fatalf("--version: exit %d, %q", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"self", "--no-such-flag"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "no-such-flag") {
		t.Fatalf("bad flag: exit %d, stderr %q", code, errb.String())
	}
}

// cancelOnProgress cancels the run when the first progress line arrives,
// as Ctrl-C during the run would.
type cancelOnProgress struct {
	bytes.Buffer
	cancel func()
}

func (w *cancelOnProgress) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("[  1/")) {
		w.cancel()
	}
	return w.Buffer.Write(p)
}

func TestInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	js, junit := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.xml")
	var out bytes.Buffer
	errw := &cancelOnProgress{cancel: cancel}
	code := run(ctx, []string{"self", "--run", "^(DLV-|CMD-)", "--json", js, "--junit", junit}, &out, errw)
	if code != 130 {
		t.Fatalf("exit %d, want 130\n%s\n%s", code, out.String(), errw.String())
	}
	var rep struct {
		Incomplete bool
		Results    []struct{ ID, Status string }
	}
	b, _ := os.ReadFile(js)
	if err := json.Unmarshal(b, &rep); err != nil || !rep.Incomplete {
		t.Fatalf("JSON report not marked incomplete: %v %s", err, b)
	}
	notrun := 0
	for _, r := range rep.Results {
		switch r.Status {
		case "fail":
			t.Errorf("%s reported failed after the interrupt", r.ID)
		case "notrun":
			notrun++
		}
	}
	if notrun == 0 {
		t.Error("no case reported not run")
	}
	if x, _ := os.ReadFile(junit); !bytes.Contains(x, []byte("INCOMPLETE")) || bytes.Contains(x, []byte("<failure")) {
		t.Errorf("JUnit report:\n%s", x)
	}
	if !strings.Contains(out.String(), "INCOMPLETE") {
		t.Errorf("summary does not say incomplete:\n%s", out.String())
	}
}

const someIdentity = "LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI="

// A port that accepts and never answers stops the run at once.
func TestPreflightSilentPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	var out, errb bytes.Buffer
	start := time.Now()
	code := run(context.Background(), []string{"relay", "smp://" + someIdentity + "@" + ln.Addr().String()}, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "not an SMP relay") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("preflight took %v", d)
	}
}

// A wrong identity names both in base64url; a missing password says
// --password.
func TestPreflightHints(t *testing.T) {
	self, err := startSelf("secret-pw")
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	hp := self.target.HostPort
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"relay", "smp://" + someIdentity + "@" + hp}, &out, &errb); code != 2 {
		t.Fatalf("wrong identity: exit %d", code)
	}
	real := conformance.Fingerprint(self.target.KeyHash)
	if !strings.Contains(errb.String(), real) || !strings.Contains(errb.String(), someIdentity) {
		t.Errorf("wrong identity message lacks the fingerprints %s and %s: %s", real, someIdentity, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"relay", "smp://" + real + "@" + hp}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--password") {
		t.Errorf("no password: exit %d, %s", code, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"relay", "-q", "--run", "^DLV-PUSH$", "--password", "secret-pw", "smp://" + real + "@" + hp}, &out, &errb); code != 0 {
		t.Errorf("with the password: exit %d, %s", code, errb.String())
	}
}

// Cases delete what they create; the network fuzz runs as long as asked,
// beyond the case timeout, and reports its rate.
func TestCleanupAndLongFuzz(t *testing.T) {
	self, err := startSelf("pw")
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	rep := conformance.Run(context.Background(), self.target, conformance.Options{
		Run:         regexp.MustCompile(`^(DLV-|CMD-NEW|LNK-|SM-|FUZZ-BLOCKS)`),
		CaseTimeout: 2 * time.Second, FuzzTime: 3 * time.Second, ModelChecks: 2,
	})
	for _, r := range rep.Results {
		if r.Status == conformance.Fail {
			t.Errorf("%s: %s", r.ID, r.Detail)
		}
		if r.ID == "FUZZ-BLOCKS" && !strings.Contains(r.Note, "blocks/s") {
			t.Errorf("fuzz note %q", r.Note)
		}
	}
	if q, _ := self.Store().Counts(); q != 0 {
		t.Errorf("%d queues left in the relay after the run", q)
	}
}

// --restart-cmd enables the persistence cases: here the command asks the
// test, through a file, to restart the in-process relay.
func TestRestartCmd(t *testing.T) {
	self, err := startSelf("pw")
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	trigger := filepath.Join(t.TempDir(), "restart")
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if os.Remove(trigger) == nil {
				self.restart(context.Background())
			}
		}
	}()
	var out, errb bytes.Buffer
	addr := "smp://" + conformance.Fingerprint(self.target.KeyHash) + ":pw@" + self.target.HostPort
	code := run(context.Background(), []string{"relay", "-q", "--quick", "--run", "^PST-", "--json", "-", "--restart-cmd", "touch " + trigger, addr}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	var rep struct{ Results []struct{ ID, Status string } }
	json.Unmarshal(out.Bytes(), &rep)
	for _, r := range rep.Results {
		if r.Status != "pass" {
			t.Errorf("%s: %s", r.ID, r.Status)
		}
	}
	if len(rep.Results) != 2 {
		t.Errorf("%d results", len(rep.Results))
	}
}

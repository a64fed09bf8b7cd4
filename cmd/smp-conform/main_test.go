package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSelfWritesReports(t *testing.T) {
	dir := t.TempDir()
	ef := filepath.Join(dir, "expect")
	os.WriteFile(ef, []byte("# known\nCMD-PING-NOT-A-CASE\n"), 0o644)
	var out, errb bytes.Buffer
	if code := run([]string{"self", "--expect-fail", ef}, &out, &errb); code != 2 {
		t.Fatalf("unknown case id in --expect-fail: exit %d, want 2\n%s", code, errb.String())
	}
	os.WriteFile(ef, []byte("DLV-PUSH pretend it is a known deviation\n"), 0o644)
	html, js := filepath.Join(dir, "r.html"), filepath.Join(dir, "r.json")
	out.Reset()
	errb.Reset()
	code := run([]string{"self", "-q", "--run", "^(DLV-PUSH|CMD-NEW-PASSWORD|HS-EVERY-VERSION)$", "--html", html, "--json", js, "--expect-fail", ef}, &out, &errb)
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

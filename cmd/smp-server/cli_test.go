package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCLI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "relay")
	var out, errb bytes.Buffer
	runCmd := func(args ...string) int {
		out.Reset()
		errb.Reset()
		return run(args, &out, &errb)
	}
	if code := runCmd("init", "--dir", dir, "--host", "relay.example.com", "--password", "pw1"); code != 0 {
		t.Fatalf("init: %d %s", code, errb.String())
	}
	addr := strings.TrimSpace(out.String())
	if !strings.HasPrefix(addr, "smp://") || !strings.Contains(addr, ":pw1@relay.example.com") {
		t.Fatalf("init printed %q", addr)
	}
	if code := runCmd("init", "--dir", dir); code == 0 {
		t.Fatal("init over an existing configuration succeeded without --force")
	}
	if code := runCmd("address", "--dir", dir); code != 0 || strings.TrimSpace(out.String()) != addr {
		t.Fatalf("address: %d %q", code, out.String())
	}
	ini, err := os.ReadFile(filepath.Join(dir, configFile))
	if err != nil || !bytes.Contains(ini, []byte("[TRANSPORT]")) {
		t.Fatalf("smp-server.ini: %v\n%s", err, ini)
	}
	if code := runCmd("cert", "--dir", dir); code != 0 || strings.TrimSpace(out.String()) != addr {
		t.Fatalf("cert rotation changed the address or failed: %d %q %s", code, out.String(), errb.String())
	}
	if code := runCmd("block", "--dir", dir, "--id", "AAAA"); code != 1 || !strings.Contains(errb.String(), "no queue") {
		t.Errorf("block of an unknown id: %d %q", code, errb.String())
	}
	for _, c := range []string{"init", "start", "cert", "address", "delete", "block"} {
		if code := runCmd(c, "--help"); code != 0 || !strings.Contains(errb.String(), "Usage: smp-server "+c) {
			t.Errorf("%s --help: %d %q", c, code, errb.String())
		}
	}
	if code := runCmd("frobnicate"); code != 2 {
		t.Errorf("unknown command exit %d", code)
	}
	if code := runCmd("start", "--dir", dir, "--fsync", "sometimes"); code == 0 {
		t.Error("start accepted --fsync sometimes")
	}
	if code := runCmd("delete", "--dir", dir, "--yes"); code != 0 {
		t.Fatalf("delete: %d %s", code, errb.String())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("directory still there: %v", err)
	}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smpkit/smpkit/internal/buildinfo"
	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/transport"
)

type cli struct {
	t        *testing.T
	out, err bytes.Buffer
}

func (c *cli) run(args ...string) int {
	c.out.Reset()
	c.err.Reset()
	return run(args, &c.out, &c.err)
}

func TestCLI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "relay")
	c := &cli{t: t}
	if code := c.run("init", "--dir", dir, "--host", "relay.example.com", "--password", "pw1"); code != 0 {
		t.Fatalf("init: %d %s", code, c.err.String())
	}
	addr := strings.TrimSpace(c.out.String())
	if !strings.HasPrefix(addr, "smp://") || !strings.Contains(addr, ":pw1@relay.example.com") {
		t.Fatalf("init printed %q", addr)
	}
	if code := c.run("init", "--dir", dir); code == 0 {
		t.Fatal("init over an existing configuration succeeded without --force")
	}
	if code := c.run("address", "--dir", dir); code != 0 || strings.TrimSpace(c.out.String()) != addr {
		t.Fatalf("address: %d %q", code, c.out.String())
	}
	ini, err := os.ReadFile(filepath.Join(dir, configFile))
	if err != nil || !bytes.Contains(ini, []byte("[TRANSPORT]")) {
		t.Fatalf("smp-server.ini: %v\n%s", err, ini)
	}
	if code := c.run("cert", "--dir", dir); code != 0 || strings.TrimSpace(c.out.String()) != addr {
		t.Fatalf("cert rotation changed the address or failed: %d %q %s", code, c.out.String(), c.err.String())
	}
	if !strings.Contains(c.err.String(), "restart the relay") {
		t.Errorf("cert without a control port: %q", c.err.String())
	}
	if code := c.run("block", "--dir", dir, "--id", "AAAA"); code != 1 || !strings.Contains(c.err.String(), "no queue") {
		t.Errorf("block of an unknown id: %d %q", code, c.err.String())
	}
	if code := c.run("stats", "--dir", dir); code != 1 || !strings.Contains(c.err.String(), "no control port") {
		t.Errorf("stats without a control port: %d %q", code, c.err.String())
	}
	for _, cmd := range []string{"init", "start", "cert", "address", "delete", "block", "stats", "control"} {
		if code := c.run(cmd, "--help"); code != 0 || !strings.Contains(c.err.String(), "Usage: smp-server "+cmd) {
			t.Errorf("%s --help: %d %q", cmd, code, c.err.String())
		}
	}
	if code := c.run("frobnicate"); code != 2 {
		t.Errorf("unknown command exit %d", code)
	}
	if code := c.run("delete", "--dir", dir, "--yes"); code != 0 {
		t.Fatalf("delete: %d %s", code, c.err.String())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("directory still there: %v", err)
	}
}

func TestVersion(t *testing.T) {
	c := &cli{t: t}
	for _, arg := range []string{"--version", "-v", "version"} {
		if code := c.run(arg); code != 0 || strings.TrimSpace(c.out.String()) != buildinfo.Line("smp-server") {
			t.Errorf("%s: %d %q", arg, code, c.out.String())
		}
	}
	if !strings.HasPrefix(c.out.String(), "smp-server ") {
		t.Errorf("version line %q", c.out.String())
	}
}

// TestFlagErrors: every flag error is printed, with exit status 2.
func TestFlagErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "relay")
	c := &cli{t: t}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"start", "--frobnicate"}, "unknown flag: --frobnicate"},
		{[]string{"init", "--port"}, "flag needs an argument"},
		{[]string{"init", "--no-password", "--password", "x"}, "contradict"},
		{[]string{"init", "--dir", dir, "--password", "a@b"}, "create_password"},
		{[]string{"start", "--dir", dir, "--log-format", "xml"}, "--log-format must be text or json"},
		{[]string{"start", "--dir", dir, "--log-level", "loud"}, "--log-level"},
		{[]string{"start", "--dir", dir, "--fsync", "sometimes"}, "sometimes"},
		{[]string{"block", "--dir", dir, "--id", "!!"}, "--id"},
		{[]string{"block", "--dir", dir, "--id", "AAAA", "--reason", "boredom"}, "--reason"},
		{[]string{"block", "--dir", dir, "--id", "AAAA", "--notice", "null"}, "--notice"},
		{[]string{"address", "extra"}, `unexpected argument "extra"`},
	} {
		if code := c.run(tc.args...); code != 2 || !strings.Contains(c.err.String(), tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, code, c.err.String(), tc.want)
		}
	}
}

// TestInitPassword: as upstream's init, a fresh relay gets a random
// password for NEW and PRXY, so it is not an open proxy; --no-password
// makes a public one.
func TestInitPassword(t *testing.T) {
	c := &cli{t: t}
	dir := filepath.Join(t.TempDir(), "a")
	if code := c.run("init", "--dir", dir); code != 0 {
		t.Fatalf("init: %s", c.err.String())
	}
	s, _, err := relay.LoadSettings(filepath.Join(dir, configFile))
	if err != nil || len(s.CreatePassword) < 40 || !strings.Contains(c.out.String(), ":"+s.CreatePassword+"@") {
		t.Fatalf("default init: %v, password %q, address %q", err, s.CreatePassword, c.out.String())
	}
	dir = filepath.Join(t.TempDir(), "b")
	if code := c.run("init", "--dir", dir, "--no-password", "--control-port"); code != 0 {
		t.Fatalf("init --no-password: %s", c.err.String())
	}
	s, _, err = relay.LoadSettings(filepath.Join(dir, configFile))
	if err != nil || s.CreatePassword != "" || s.ControlPort != "5224" || s.ControlAdminPassword == "" || s.ControlUserPassword == "" ||
		s.ControlAdminPassword == s.ControlUserPassword {
		t.Fatalf("init --no-password --control-port: %v %+v", err, s)
	}
}

// TestControlCommands runs smp-server start in a child process and uses
// block, stats and cert against it through the control port, then stops it
// with SIGINT and checks the JSON log ends with the stop line.
func TestControlCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "relay")
	port, cport := freePort(t), freePort(t)
	c := &cli{t: t}
	if code := c.run("init", "--dir", dir, "--host", "127.0.0.1", "--port", port, "--no-password", "--control-port="+cport); code != 0 {
		t.Fatalf("init: %s", c.err.String())
	}
	srv, err := smp.ParseServer(strings.TrimSpace(c.out.String()))
	if err != nil {
		t.Fatal(err)
	}
	// Metrics file, information page, listen address, and an unknown key
	// whose warning must reach the log.
	www := filepath.Join(t.TempDir(), "www")
	iniPath := filepath.Join(dir, configFile)
	ini, err := os.ReadFile(iniPath)
	if err != nil {
		t.Fatal(err)
	}
	ini = bytes.Replace(ini, []byte("# prometheus_interval = 60"), []byte("prometheus_interval = 1"), 1)
	ini = bytes.Replace(ini, []byte("# static_path ="), []byte("static_path = "+www), 1)
	ini = bytes.Replace(ini, []byte("# listen_address ="), []byte("listen_address = 127.0.0.1"), 1)
	webPort := freePort(t)
	ini = bytes.Replace(ini, []byte("# http ="), []byte("http = "+webPort), 1)
	// HTTPS on the SMP port itself, for clients that send SNI (upstream's
	// default [WEB] https = 443 with port = 5223,443).
	webDir := t.TempDir()
	webCreds, err := transport.GenerateCredentials("web.example", rand.Reader)
	if err != nil || webCreds.Save(webDir) != nil {
		t.Fatal(err)
	}
	ini = bytes.Replace(ini, []byte("# https ="), []byte("https = "+port), 1)
	ini = bytes.Replace(ini, []byte("# cert ="), []byte("cert = "+filepath.Join(webDir, transport.ServerCertFile)), 1)
	ini = bytes.Replace(ini, []byte("# key ="), []byte("key = "+filepath.Join(webDir, transport.ServerKeyFile)), 1)
	ini = append(ini, "\n[EXTRA]\nfrobnicate = 1\n"...)
	if err := os.WriteFile(iniPath, ini, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SMP_SERVER_CHILD_ARGS=start --dir "+dir+" --log-format json")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatalf("relay did not start: %v\n%s", err, logs.String())
	}
	go io.Copy(io.Discard, out)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := client.Dial(ctx, srv, client.Config{PingInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rk, _ := smpcrypto.GenerateKey(smpcrypto.Ed25519, rand.Reader)
	dh, _ := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader)
	rsp, err := cl.Do(ctx, client.Request{Key: rk, Command: smp.CmdNEW{RcvAuthKey: rk.Public(), RcvDHKey: dh.Public(), SubMode: smp.SubModeSubscribe}})
	if err != nil {
		t.Fatal(err)
	}
	ids := rsp.(smp.RspIDS)
	certBefore := cl.Session().ServerChain[0]

	if code := c.run("block", "--dir", dir, "--id", smp.EncodeB64(ids.SndID), "--reason", "content", "--notice", "{}"); code != 0 || !strings.Contains(c.err.String(), "ok, queue blocked") {
		t.Fatalf("block while running: %d %q", code, c.err.String())
	}
	_, err = cl.Do(ctx, client.Request{EntityID: ids.SndID, Command: smp.CmdSEND{Body: []byte("x")}})
	var se *client.ServerError
	if !errors.As(err, &se) || se.Err.Kind != smp.ErrBLOCKED {
		t.Fatalf("SEND to a queue blocked by the control port: %v", err)
	}
	if code := c.run("stats", "--dir", dir); code != 0 || !strings.Contains(c.out.String(), "qBlocked: 1\n") {
		t.Fatalf("stats: %d %q %q", code, c.out.String(), c.err.String())
	}
	if code := c.run("control", "--dir", dir, "status", smp.EncodeB64(ids.SndID)); code != 0 || !strings.HasPrefix(c.out.String(), "status: EntityBlocked (BlockingInfo {reason = BRContent, notice = Just (ClientNotice {ttl = Nothing})}), updatedAt: Just (") {
		t.Fatalf("control status: %d %q %q", code, c.out.String(), c.err.String())
	}
	if code := c.run("control", "--dir", dir, "reload"); code != 1 || strings.TrimSpace(c.out.String()) != "AUTH" {
		t.Fatalf("control reload with the user password: %d %q", code, c.out.String())
	}
	// save (admin) on the running relay's store, on disk.
	if code := c.run("control", "--dir", dir, "--admin", "save"); code != 0 || !strings.HasSuffix(c.out.String(), "(1 queues, 0 messages)\nnot saved: pending notifications and counters (smpkit keeps them in memory only)\nserver state saved!\n") {
		t.Fatalf("control --admin save: %d %q %q", code, c.out.String(), c.err.String())
	}
	if code := c.run("cert", "--dir", dir); code != 0 || !strings.Contains(c.err.String(), "loaded by the running relay") {
		t.Fatalf("cert while running: %d %q", code, c.err.String())
	}
	cl2, err := client.Dial(ctx, srv, client.Config{PingInterval: -1})
	if err != nil {
		t.Fatalf("dial after the certificate reload: %v", err)
	}
	if bytes.Equal(cl2.Session().ServerChain[0], certBefore) {
		t.Error("a new connection still gets the old certificate")
	}
	cl2.Close()
	page, err := os.ReadFile(filepath.Join(www, "index.html"))
	if err != nil || !bytes.Contains(page, []byte(smp.EncodeB64(srv.KeyHash))) || !bytes.Contains(page, []byte("https://github.com/smpkit/smpkit")) {
		t.Errorf("information page: %v\n%s", err, page)
	}
	if rsp, err := http.Get("http://127.0.0.1:" + webPort + "/"); err != nil {
		t.Errorf("[WEB] http: %v", err)
	} else {
		body, _ := io.ReadAll(rsp.Body)
		rsp.Body.Close()
		if !bytes.Equal(body, page) {
			t.Errorf("[WEB] http served %q", body)
		}
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{ServerName: "web.example", InsecureSkipVerify: true}}}
	if rsp, err := hc.Get("https://127.0.0.1:" + port + "/"); err != nil {
		t.Errorf("[WEB] https on the SMP port: %v", err)
	} else {
		body, _ := io.ReadAll(rsp.Body)
		rsp.Body.Close()
		if !bytes.Equal(body, page) {
			t.Errorf("[WEB] https served %q", body)
		}
	}
	var metrics []byte
	for i := 0; i < 60 && !bytes.Contains(metrics, []byte("simplex_smp_queues_blocked 1\n")); i++ {
		time.Sleep(50 * time.Millisecond)
		metrics, _ = os.ReadFile(filepath.Join(dir, metricsFile))
	}
	if !bytes.HasPrefix(metrics, []byte("# Recorded at: ")) || !bytes.Contains(metrics, []byte("simplex_smp_queues_blocked 1\n")) {
		t.Errorf("metrics file (prometheus_interval = 1):\n%s", metrics)
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("relay exit: %v\n%s", err, logs.String())
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	var last struct{ Msg, Reason string }
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Msg != "stopped" || last.Reason != "signal" {
		t.Fatalf("last log line %q (%v), want a JSON stop line", lines[len(lines)-1], err)
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("log line is not JSON: %q", l)
		}
	}
	if !strings.Contains(logs.String(), `"level":"WARN","msg":"configuration: unknown section [EXTRA] ignored"`) {
		t.Errorf("no configuration warning in the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), `"addr":"127.0.0.1:`+port+`"`) {
		t.Errorf("listen_address not used:\n%s", logs.String())
	}
}

// TestControlIDWithDash: a queue id is base64url and may start with '-';
// after the command word it is the relay's, not a flag.
func TestControlIDWithDash(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "relay")
	c := &cli{t: t}
	if code := c.run("init", "--dir", dir, "--host", "127.0.0.1", "--port", freePort(t), "--no-password", "--control-port="+freePort(t)); code != 0 {
		t.Fatalf("init: %s", c.err.String())
	}
	c.run("control", "--dir", dir, "status", "-AbC")
	if strings.Contains(c.err.String(), "unknown shorthand flag") || strings.Contains(c.err.String(), "Usage:") {
		t.Fatalf("an id starting with '-' was read as a flag: %q", c.err.String())
	}
}

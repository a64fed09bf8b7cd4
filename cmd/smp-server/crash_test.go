package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
)

// The test binary doubles as smp-server so that the crash test can kill a
// real relay process with SIGKILL.
func TestMain(m *testing.M) {
	if args := os.Getenv("SMP_SERVER_CHILD_ARGS"); args != "" {
		os.Exit(run(strings.Fields(args), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}

// startChild runs "smp-server start" in a child process and waits until it
// accepts connections.
func startChild(t *testing.T, dir, port string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SMP_SERVER_CHILD_ARGS=start --dir "+dir+" --log-level warn "+strings.Join(args, " "))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("relay did not start: %v", err)
	}
	go func() {
		var b [512]byte
		for {
			if _, err := out.Read(b[:]); err != nil {
				return
			}
		}
	}()
	t.Logf("relay started: %s", strings.TrimSpace(line))
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			c.Close()
			return cmd
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("relay does not accept connections")
	return nil
}

// TestCrashLosesNoAcceptedMessage kills the relay with SIGKILL during a
// burst of SENDs and checks that every message answered OK is delivered
// after the restart, in order (issue: persistence that loses nothing). The
// page cache survives SIGKILL, so this shows that records reach the kernel
// before OK, not that they are fsynced: power loss is TestPowerLoss's job
// (reference/store), on a file system that drops unsynced writes.
func TestCrashLosesNoAcceptedMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	// fsync = interval and never too: records reach the kernel before OK
	// (before, interval kept them in a buffer for the next tick and SIGKILL
	// lost them), and the kernel keeps them through SIGKILL.
	for _, policy := range []string{"each", "interval", "never"} {
		t.Run("fsync="+policy, func(t *testing.T) { crashLosesNothing(t, "--fsync", policy) })
	}
}

func crashLosesNothing(t *testing.T, args ...string) {
	dir, port := t.TempDir(), freePort(t)
	var initOut bytes.Buffer
	if code := run([]string{"init", "--dir", dir, "--host", "127.0.0.1", "--port", port, "--no-password"}, &initOut, os.Stderr); code != 0 {
		t.Fatalf("init exited %d", code)
	}
	addr, err := smp.ParseServer(strings.TrimSpace(initOut.String()))
	if err != nil {
		t.Fatalf("init printed %q: %v", initOut.String(), err)
	}
	child := startChild(t, dir, port, args...)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := client.Dial(ctx, addr, client.Config{PingInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	rk, _ := smpcrypto.GenerateKey(smpcrypto.Ed25519, rand.Reader)
	dk, _ := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader)
	rsp, err := cl.Do(ctx, client.Request{Key: rk, Command: smp.CmdNEW{RcvAuthKey: rk.Public(), RcvDHKey: dk.Public(),
		SubMode: smp.SubModeOnlyCreate, QueueReq: &smp.QueueReq{Mode: smp.QueueMessaging}}})
	if err != nil {
		t.Fatal(err)
	}
	ids := rsp.(smp.RspIDS)
	secret, _ := dk.DH(ids.RcvDHKey)

	// Several senders in parallel, each recording what was answered OK.
	var mu sync.Mutex
	var oked []string
	var wg sync.WaitGroup
	for s := 0; s < 4; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				body := fmt.Sprintf("s%d-%04d", s, i)
				if _, err := cl.Do(ctx, client.Request{EntityID: ids.SndID, Command: smp.CmdSEND{Body: []byte(body)}}); err != nil {
					return
				}
				mu.Lock()
				oked = append(oked, body)
				n := len(oked)
				mu.Unlock()
				if n >= 120 { // stay below the quota of 128
					return
				}
			}
		}()
	}
	for {
		mu.Lock()
		n := len(oked)
		mu.Unlock()
		if n >= 60 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	child.Process.Kill() // SIGKILL mid-burst
	child.Wait()
	wg.Wait()
	cl.Close()
	t.Logf("%d messages answered OK before the kill", len(oked))

	child = startChild(t, dir, port, args...)
	cl, err = client.Dial(ctx, addr, client.Config{PingInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[string]bool{}
	rsp, err = cl.Do(ctx, client.Request{Key: rk, EntityID: ids.RcvID, Command: smp.CmdSUB{}})
	if err != nil {
		t.Fatal(err)
	}
	var next smp.Response
	select {
	case ev := <-cl.Events():
		next = ev.Response
	case <-time.After(5 * time.Second):
		t.Fatal("no message after restart")
	}
	for {
		m, ok := next.(smp.RspMSG)
		if !ok {
			break
		}
		b, err := smp.OpenMsgBody(secret, m.MsgID, m.Body)
		if err != nil {
			t.Fatal(err)
		}
		got[string(b.Body)] = true
		if next, err = cl.Do(ctx, client.Request{Key: rk, EntityID: ids.RcvID, Command: smp.CmdACK{MsgID: m.MsgID}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range oked {
		if !got[b] {
			t.Errorf("message %s was answered OK but is lost after the crash", b)
		}
	}
	t.Logf("%d messages delivered after restart", len(got))

	// The operator blocks the queue (relay stopped): clients get ERR BLOCKED,
	// with the notice.
	cl.Close()
	child.Process.Kill()
	child.Wait()
	if code := run([]string{"block", "--dir", dir, "--id", smp.EncodeB64(ids.SndID), "--reason", "content", "--notice", `{"ttl":3600}`}, os.Stdout, os.Stderr); code != 0 {
		t.Fatalf("block exited %d", code)
	}
	startChild(t, dir, port)
	cl, err = client.Dial(ctx, addr, client.Config{PingInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	_, err = cl.Do(ctx, client.Request{Key: rk, EntityID: ids.RcvID, Command: smp.CmdSUB{}})
	var se *client.ServerError
	ttl := int64(3600)
	want := smp.ErrorType{Kind: smp.ErrBLOCKED, Blocked: &smp.BlockingInfo{Reason: "content", Notice: &smp.ClientNotice{TTL: &ttl}}}
	if !errors.As(err, &se) || !se.Err.Equal(want) {
		t.Fatalf("SUB on a blocked queue: %v", err)
	}
}

// TestZeroFilledTailStarts: 8 zero bytes after the last record of either log
// (what a power loss leaves on ext4 or XFS) made `start` and `block` panic.
// Now the damage is set aside with a warning, and both work.
func TestZeroFilledTailStarts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts relay processes")
	}
	dir, port := t.TempDir(), freePort(t)
	if code := run([]string{"init", "--dir", dir, "--host", "127.0.0.1", "--port", port}, io.Discard, os.Stderr); code != 0 {
		t.Fatalf("init exited %d", code)
	}
	for _, f := range []string{"queues.log", "messages.log"} {
		fh, err := os.OpenFile(filepath.Join(dir, f), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		fh.Write(make([]byte, 8))
		fh.Close()
	}
	var errb bytes.Buffer
	if code := run([]string{"block", "--dir", dir, "--id", "AAAA"}, io.Discard, &errb); code != 1 || !strings.Contains(errb.String(), "no queue") {
		t.Fatalf("block on a zero-filled tail: exit %d, %q", code, errb.String())
	}
	for _, f := range []string{"queues.log", "messages.log"} {
		fh, _ := os.OpenFile(filepath.Join(dir, f), os.O_WRONLY|os.O_APPEND, 0o600)
		fh.Write(make([]byte, 8))
		fh.Close()
	}
	startChild(t, dir, port)
	for _, f := range []string{"queues.log.damaged", "messages.log.damaged"} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || len(b) != 16 {
			t.Errorf("%s: %d bytes, %v; want the 2×8 zero bytes set aside", f, len(b), err)
		}
	}
}

// TestDataDirectoryInUse: `block`, a second `start` or `delete` beside a
// running relay fails and names its pid, instead of compacting (or
// removing) the logs under it.
func TestDataDirectoryInUse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts relay processes")
	}
	dir, port := t.TempDir(), freePort(t)
	if code := run([]string{"init", "--dir", dir, "--host", "127.0.0.1", "--port", port}, io.Discard, os.Stderr); code != 0 {
		t.Fatalf("init exited %d", code)
	}
	child := startChild(t, dir, port)
	var errb bytes.Buffer
	code := run([]string{"block", "--dir", dir, "--id", "AAAA"}, io.Discard, &errb)
	want := fmt.Sprintf("data directory in use (pid %d)", child.Process.Pid)
	if code != 1 || !strings.Contains(errb.String(), want) {
		t.Fatalf("block beside a running relay: exit %d, %q; want %q", code, errb.String(), want)
	}
	errb.Reset()
	if code := run([]string{"start", "--dir", dir}, io.Discard, &errb); code != 1 || !strings.Contains(errb.String(), want) {
		t.Fatalf("second start: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"delete", "--dir", dir, "--yes"}, io.Discard, &errb); code != 1 || !strings.Contains(errb.String(), want) {
		t.Fatalf("delete beside a running relay: exit %d, %q", code, errb.String())
	}
}

package relay_test

import (
	"crypto/rand"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/transport"
)

func startControl(t *testing.T, tr *testRelay, cfg relay.ControlConfig) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go tr.r.ServeControl(ln, cfg)
	return ln.Addr().String()
}

func control(t *testing.T, addr, pw string, cmds ...string) string {
	t.Helper()
	out, err := relay.ControlCommands(addr, pw, 5*time.Second, cmds...)
	if err != nil {
		t.Fatalf("%q: %v", cmds, err)
	}
	return out
}

// TestControlPort runs the operator commands against a running relay over
// the control port, with upstream's roles (Server.hs runCPClient).
func TestControlPort(t *testing.T) {
	tr := startRelay(t, relay.Config{DailyBlockQuota: 2})
	rotated := *tr.r.Credentials()
	if err := rotated.Rotate("localhost", rand.Reader); err != nil {
		t.Fatal(err)
	}
	stranger, err := transport.GenerateCredentials("localhost", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	next := &rotated
	addr := startControl(t, tr, relay.ControlConfig{AdminPassword: "adm", UserPassword: "usr",
		Reload: func() (*transport.Credentials, error) { return next, nil }})

	cl := tr.dial(smp.SupportedRange.Max)
	q := newQueue(t, cl, smp.CmdNEW{}, smpcrypto.Ed25519)
	sid := smp.EncodeB64(q.ids.SndID)

	// Without a password nothing but help runs.
	if _, err := relay.ControlCommands(addr, "wrong", 5*time.Second, "stats"); err == nil {
		t.Fatal("a wrong password was accepted")
	}
	if out, _ := relay.ControlCommands(addr, "", 5*time.Second, "block "+sid+" reason=spam"); out != "" {
		t.Fatalf("unauthenticated block answered %q", out)
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("block " + sid + " reason=spam\nquit\n"))
	buf := make([]byte, 512)
	n, _ := conn.Read(buf)
	for !strings.Contains(string(buf[:n]), "AUTH") {
		m, err := conn.Read(buf[n:])
		if err != nil {
			t.Fatalf("unauthenticated block: %q %v", buf[:n], err)
		}
		n += m
	}
	conn.Close()

	if out := control(t, addr, "usr", "status "+sid); strings.TrimSpace(out) != "status: EntityActive" {
		t.Fatalf("status: %q", out)
	}
	out := control(t, addr, "usr", "block "+sid+" reason=content")
	if !strings.HasPrefix(out, "ok, queue blocked") {
		t.Fatalf("block: %q", out)
	}
	// The subscriber hears of it, and the queue answers ERR BLOCKED.
	blocked := smp.ErrorType{Kind: smp.ErrBLOCKED, Blocked: &smp.BlockingInfo{Reason: "content"}}
	if ev := nextEvent(t, cl); !isErr(ev.Response, blocked) {
		t.Fatalf("subscriber got %v, want ERR %s", ev.Response, blocked)
	}
	_, err = do(t, cl, client.Request{EntityID: q.ids.SndID, Command: smp.CmdSEND{Body: []byte("x")}})
	wantErr(t, err, blocked)
	if out := control(t, addr, "usr", "unblock "+sid); !strings.Contains(out, "ok, queue unblocked, reason to block was: reason=content") {
		t.Fatalf("unblock: %q", out)
	}
	mustDo(t, cl, client.Request{EntityID: q.ids.SndID, Command: smp.CmdSEND{Body: []byte("x")}})
	if ev := nextEvent(t, cl); ev.Response.Tag() != "MSG" {
		t.Fatalf("after unblock the subscriber got %s, want MSG", ev.Response.Tag())
	}

	// The daily quota (2) counts blocks, not unblocks.
	control(t, addr, "usr", "block "+sid+" reason=spam", "unblock "+sid)
	if out := control(t, addr, "usr", "block "+sid+" reason=spam"); !strings.Contains(out, "reached limit of 2 queues blocked daily") {
		t.Fatalf("third block of the day: %q", out)
	}
	if out := control(t, addr, "usr", "stats"); !strings.Contains(out, "qBlocked: 2\n") || !strings.Contains(out, "qCount: 1\n") || !strings.Contains(out, "msgSent: 1\n") {
		t.Fatalf("stats:\n%s", out)
	}
	if out := control(t, addr, "usr", "block AAAA reason=spam", "block "+sid+" reason=spam,notice={}", "frobnicate", "clients"); out !=
		"error: AUTH\nerror: a blocking notice is not supported by smpkit\nerror: bad ControlProtocol command\nerror: clients is not supported by smpkit\n" {
		t.Fatalf("errors: %q", out)
	}

	// reload needs the admin role; it keeps the identity, and new
	// connections get the new online certificate.
	if out := control(t, addr, "usr", "reload"); strings.TrimSpace(out) != "AUTH" {
		t.Fatalf("user reload: %q", out)
	}
	if out := control(t, addr, "adm", "reload"); strings.TrimSpace(out) != "ok, online certificate reloaded" {
		t.Fatalf("reload: %q", out)
	}
	cl2 := tr.dial(smp.SupportedRange.Max)
	if got := cl2.Session().ServerChain[0]; string(got) != string(rotated.Cert.Raw) {
		t.Fatal("a new connection still gets the old online certificate")
	}
	next = stranger
	if out := control(t, addr, "adm", "reload"); !strings.Contains(out, "another identity") {
		t.Fatalf("reload with another CA: %q", out)
	}

	// delete (admin): the queue goes with its message, the subscriber gets DELD.
	if out := control(t, addr, "usr", "delete "+sid); strings.TrimSpace(out) != "AUTH" {
		t.Fatalf("user delete: %q", out)
	}
	if out := control(t, addr, "adm", "delete "+sid); strings.TrimSpace(out) != "ok, 1 messages deleted" {
		t.Fatalf("delete: %q", out)
	}
	for {
		ev := nextEvent(t, cl)
		if ev.Response.Tag() == "DELD" {
			break
		}
		if !isErr(ev.Response, smp.ErrorType{Kind: smp.ErrBLOCKED, Blocked: &smp.BlockingInfo{Reason: "spam"}}) {
			t.Fatalf("subscriber got %v, want DELD (after the quota test's ERR BLOCKED)", ev.Response)
		}
	}
	if out := control(t, addr, "usr", "status "+sid); strings.TrimSpace(out) != "error: AUTH" {
		t.Fatalf("status of a deleted queue: %q", out)
	}
}

func isErr(rsp smp.Response, e smp.ErrorType) bool {
	er, ok := rsp.(smp.RspERR)
	return ok && er.Err.Equal(e)
}

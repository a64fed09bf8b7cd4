package fuzz

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/relay"
)

// The control port reads an operator's lines; a user-role password may be
// given to more people than the relay's admin, so its parser meets
// arbitrary text too.

var control struct {
	once sync.Once
	addr string
	err  error
}

// controlAddr starts one loopback relay with a control port for the whole
// fuzzing process (a relay per input would be far slower).
func controlAddr(t testing.TB) string {
	control.once.Do(func() {
		l, err := relay.StartLoopback(relay.Config{})
		if err != nil {
			control.err = err
			return
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			control.err = err
			return
		}
		go l.ServeControl(ln, relay.ControlConfig{AdminPassword: "adm", UserPassword: "usr"})
		control.addr = ln.Addr().String()
	})
	if control.err != nil {
		t.Fatal(control.err)
	}
	return control.addr
}

// FuzzControlCommand sends arbitrary lines to the control port with the
// admin, the user or no role: the relay never panics, and it answers every
// session (the greeting at least) and closes it on quit.
func FuzzControlCommand(f *testing.F) {
	for _, seed := range []string{
		"stats", "stats-rts", "status AAAA", "block AAAA reason=spam", "block AAAA reason=spam,notice={\"ttl\":3600}",
		"unblock AAAA", "delete AAAA", "clients", "threads", "sockets", "socket-threads", "server-info",
		"save", "suspend", "resume", "reload", "help", "auth usr", "auth", "block", "status \x00\xff", "",
	} {
		f.Add("adm", seed)
		f.Add("usr", seed)
	}
	f.Add("", "stats")
	f.Fuzz(func(t *testing.T, password, lines string) {
		if strings.ContainsAny(password, "\r\n") || strings.Contains(lines, "quit") || len(lines) > 4096 {
			return
		}
		addr := controlAddr(t)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte("auth " + password + "\n" + lines + "\nquit\n")); err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("session not closed after quit: %v (read %q)", err, out)
		}
		if !strings.HasPrefix(string(out), "SMP server control port") {
			t.Fatalf("no greeting: %q", out)
		}
	})
}

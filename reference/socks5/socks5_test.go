package socks5_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smpkit/smpkit/internal/socks5test"
	"github.com/smpkit/smpkit/reference/socks5"
)

// echo is a loopback TCP server that echoes one line.
func echo(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(t *testing.T, c net.Conn) {
	t.Helper()
	defer c.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "ping" {
		t.Fatalf("echo: %q %v", b, err)
	}
}

func TestDial(t *testing.T) {
	target := echo(t)
	_, port, _ := net.SplitHostPort(target)
	srv := socks5test.Start(t, map[string]string{"abcdef.onion": target})
	ctx := context.Background()

	// A name goes to the proxy unresolved (ATYP 3); no authentication.
	c, err := (&socks5.Dialer{Proxy: srv.Addr}).DialContext(ctx, "tcp", "abcdef.onion:"+port)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c)
	// An IP literal goes as an address; username/password with an empty
	// password (isolation, as Tor uses it).
	c, err = (&socks5.Dialer{Proxy: srv.Addr, Username: "iso"}).DialContext(ctx, "tcp", target)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c)
	want := []socks5test.Request{
		{Method: 0, Host: "abcdef.onion", Domain: true, Port: atoi(port)},
		{Method: 2, Username: "iso", Host: "127.0.0.1", Port: atoi(port)},
	}
	if d := cmp.Diff(want, srv.Requests()); d != "" {
		t.Fatalf("requests (-want +got):\n%s", d)
	}

	// The proxy's refusal is a ReplyError with its code.
	_, err = (&socks5.Dialer{Proxy: srv.Addr}).DialContext(ctx, "tcp", "unknown.onion:5223")
	var re *socks5.ReplyError
	if !errors.As(err, &re) || re.Code != 4 {
		t.Fatalf("unknown name: %v", err)
	}
}

// TestDialDeadline: a proxy that never answers costs no more than the
// context allows.
func TestDialDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			io.Copy(io.Discard, c)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = (&socks5.Dialer{Proxy: ln.Addr().String()}).DialContext(ctx, "tcp", "example.com:5223")
	if err == nil {
		t.Fatal("silent proxy: connected")
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("want a timeout, got %v", err)
	}
}

func TestDialBadAddress(t *testing.T) {
	for _, addr := range []string{"no-port", "host:99999", ":5223"} {
		if _, err := (&socks5.Dialer{Proxy: "127.0.0.1:1"}).DialContext(context.Background(), "tcp", addr); err == nil {
			t.Errorf("%q: no error", addr)
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

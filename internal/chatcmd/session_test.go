package chatcmd

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/chat"
	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db/dbtest"
	"github.com/smpkit/smpkit/reference/relay"
	"pgregory.net/rapid"
)

func openClient(t *testing.T, name string) *chat.Client {
	t.Helper()
	l, err := relay.StartLoopback(relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := chat.Open(ctx, chat.Config{Dir: t.TempDir(), Passphrase: "p", Relay: l.Server,
		DBOptions: dbtest.Options()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if name != "" {
		if _, err := c.CreateUser(ctx, chatmsg.Profile{DisplayName: name}); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// Without a user every command that needs one says so in one line.
func TestExecWithoutUser(t *testing.T) {
	s := New(openClient(t, ""), Options{})
	defer s.Close()
	for _, line := range []string{"/c", "@bob hi", "/ad", "/g team", "/tail", "/p"} {
		rs := s.Exec(context.Background(), line)
		if len(rs) != 1 || rs[0].Type != "chatCmdError" || len(rs[0].Lines) != 1 || rs[0].Lines[0] != "error: active user is required" {
			t.Errorf("%q: %+v", line, rs)
		}
	}
}

// Any line, made of command words, names and junk, gets answers: an error
// is one line of type chatCmdError; nothing panics (Exec would report an
// internal error).
func TestExecAnyLine(t *testing.T) {
	s := New(openClient(t, "alice"), Options{})
	defer s.Close()
	go func() {
		for range s.Events() {
		}
	}()
	words := []string{"/c", "/c i", "/ad", "/sa", "/da", "/ac", "/rc", "/d", "@", "#", ">", ">>", "!", `\`, "+1", "-1",
		"/tail", "/search", "/g", "/a", "/j", "/rm", "/l", "/ms", "/gs", "/mr", "/create link", "/feed", "/p",
		"/users", "/user", "/create user", "/incognito", "/code", "/verify", "/switch", "/sync", "/smp", "/help",
		"/auto_accept", "/contacts", "/i", "(", ")", "'"}
	names := []string{"bob", "team", "alice", "'a b'", "x", "", "simplex:/invitation#/?v=1", "simplex:/contact#/?v=2&smp=z", "on", "off", "5", "admin"}
	rapid.Check(t, func(t *rapid.T) {
		var parts []string
		for i, n := 0, rapid.IntRange(1, 4).Draw(t, "n"); i < n; i++ {
			if rapid.Bool().Draw(t, "word") {
				parts = append(parts, rapid.SampledFrom(words).Draw(t, "w"))
			} else {
				parts = append(parts, rapid.SampledFrom(names).Draw(t, "name"))
			}
		}
		sep := rapid.SampledFrom([]string{" ", "", "  "}).Draw(t, "sep")
		line := strings.Join(parts, sep)
		if strings.HasPrefix(line, "/create user") || strings.HasPrefix(line, "/user") || strings.HasPrefix(line, "/p ") {
			return // these change the active user or its name, which the next lines assume
		}
		rs := s.Exec(context.Background(), line)
		if len(rs) == 0 {
			t.Fatalf("%q: no answer", line)
		}
		for _, r := range rs {
			if _, err := json.Marshal(r); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			if r.Type == "" {
				t.Fatalf("%q: answer without a type: %+v", line, r)
			}
			if r.Type == "chatCmdError" {
				if len(r.Lines) != 1 || strings.Contains(r.Lines[0], "\n") {
					t.Fatalf("%q: error of %d lines: %q", line, len(r.Lines), r.Lines)
				}
				if ce, ok := r.Fields["chatError"].(ChatError); !ok || ce.Type == "internalError" {
					t.Fatalf("%q: %+v", line, r)
				}
			}
		}
	})
}

func TestHelpSections(t *testing.T) {
	for _, sec := range []string{"", "contacts", "groups", "messages", "address", "incognito"} {
		if ls := helpLines(sec); len(ls) < 3 {
			t.Errorf("help %q: %q", sec, ls)
		}
	}
}

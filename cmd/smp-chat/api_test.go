package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/smpkit/smpkit/reference/chat/chattest"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// freePort is a loopback port free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// apiClient is a bot's connection to smp-chat's --api-port.
type apiClient struct {
	t    *testing.T
	conn *websocket.Conn
	n    int
}

func dialAPI(t *testing.T, port int) *apiClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, fmt.Sprintf("ws://127.0.0.1:%d", port), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { c.CloseNow() })
	return &apiClient{t: t, conn: c}
}

// cmd sends a command and returns its corrId.
func (a *apiClient) cmd(line string) string {
	a.t.Helper()
	a.n++
	id := fmt.Sprint(a.n)
	b, _ := json.Marshal(map[string]string{"corrId": id, "cmd": line})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.conn.Write(ctx, websocket.MessageText, b); err != nil {
		a.t.Fatal(err)
	}
	return id
}

// await reads until a message of type typ comes; corrId "" for an event.
func (a *apiClient) await(typ, corrID string) map[string]any {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLine)
	defer cancel()
	for {
		_, b, err := a.conn.Read(ctx)
		if err != nil {
			a.t.Fatalf("api: waiting for %s: %v", typ, err)
		}
		var m struct {
			CorrID string         `json:"corrId"`
			Resp   map[string]any `json:"resp"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			a.t.Fatalf("api: not JSON: %s", b)
		}
		if m.Resp["type"] == typ && m.CorrID == corrID {
			return m.Resp
		}
	}
}

// smp-chat --api-port: a bot drives alice's profile through the API while
// her terminal goes on; bob is a person at a terminal.
func TestAPIPort(t *testing.T) {
	srv := startRelay(t)
	port := freePort(t)
	aliceDir := t.TempDir()
	alice := startChat(t, "alice", aliceDir, srv, "--api-port", fmt.Sprint(port))
	bob := startChat(t, "bob", t.TempDir(), srv)
	api := dialAPI(t, port)

	r := api.await("invitation", api.cmd("/c"))
	link, _ := chattest.JSONAt(r, "connLinkInvitation", "connFullLink").(string)
	if !strings.HasPrefix(link, "simplex:/invitation") {
		t.Fatalf("/c over the API: %v", r)
	}
	bob.send("/c " + link)
	bob.expect("confirmation sent!")
	ev := api.await("contactConnected", "")
	if got := chattest.JSONAt(ev, "contact", "localDisplayName"); got != "bob" {
		t.Fatalf("contactConnected: %v", ev)
	}
	alice.expect("bob: contact is connected") // the terminal shows events too
	bob.expect("alice: contact is connected")

	bob.send("@alice hi bot")
	ev = api.await("newChatItems", "")
	if got := chattest.JSONAt(ev, "chatItems", 0, "chatItem", "content", "msgContent", "text"); got != "hi bot" {
		t.Fatalf("newChatItems: %v", ev)
	}
	alice.expect("bob> hi bot")

	r = api.await("newChatItems", api.cmd("@bob hello from the API"))
	if got := chattest.JSONAt(r, "chatItems", 0, "chatItem", "chatDir", "type"); got != "directSnd" {
		t.Fatalf("@bob over the API: %v", r)
	}
	bob.expect("alice> hello from the API")

	// The API and the terminal take the same commands.
	r = api.await("contactsList", api.cmd("/contacts"))
	if got := chattest.JSONAt(r, "contacts", 0, "localDisplayName"); got != "bob" {
		t.Fatalf("/contacts: %v", r)
	}
	r = api.await("chatCmdError", api.cmd("/q"))
	if got := chattest.JSONAt(r, "chatError", "errorType", "type"); got != "commandError" {
		t.Fatalf("/q over the API: %v", r)
	}
	alice.send("@bob and from the terminal")
	bob.expect("alice> and from the terminal")
	alice.quit()
	// The API's clients are logged beside the database, not between the
	// chat lines.
	if b, err := os.ReadFile(filepath.Join(aliceDir, "smp-chat.log")); err != nil || !strings.Contains(string(b), "chatapi: client connected") {
		t.Errorf("smp-chat.log: %q, %v", b, err)
	}
}

func TestAPIPortErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	srv := startRelay(t)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--api-port", "70000"}, 2, "smp-chat: --api-port 70000: not a port (1-65535)"},
		{[]string{"--api-port", "x"}, 2, `smp-chat: invalid argument "x" for "--api-port"`},
		{[]string{"--api-port", "5225", "--demo"}, 2, "smp-chat: --api-port does not go with --demo"},
		{[]string{"--api-port", fmt.Sprint(busy.Addr().(*net.TCPAddr).Port), "--name", "x", "--server", srv.String()}, 1, fmt.Sprintf("smp-chat: --api-port %d: chatapi: listen:", busy.Addr().(*net.TCPAddr).Port)},
	} {
		cmd := chatCmd(t.TempDir(), []string{"SMP_CHAT_PASSPHRASE=x"}, c.args...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code || !strings.Contains(string(out), c.want) {
			t.Errorf("%v: exit %d, output %q; want %d and %q", c.args, code, out, c.code, c.want)
		}
	}
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startLocal starts smp-chat without --server: it runs its own relay.
func startLocal(t *testing.T, name, dir string, args ...string) *terminal {
	t.Helper()
	cmd := chatCmd(dir, []string{"SMP_CHAT_PASSPHRASE=" + testPass}, append([]string{"--name", name}, args...)...)
	return startCmd(t, name, cmd, "type /help for the commands, /q to quit")
}

func TestEmbeddedRelaysSurviveRestart(t *testing.T) {
	adir := t.TempDir()
	alice := startLocal(t, "alice", adir)
	bob := startLocal(t, "bob", t.TempDir())
	connect(alice, bob)
	says(alice, bob, "over two embedded relays")
	alice.quit()
	// Alice's relay comes back with the same identity, port and queues.
	alice = startLocal(t, "alice", adir)
	says(bob, alice, "still there?")
	says(alice, bob, "yes")
}

func TestProfileUsersAndContactUpdates(t *testing.T) {
	srv := startRelay(t)
	alice := startChat(t, "alice", t.TempDir(), srv)
	bob := startChat(t, "bob", t.TempDir(), srv)
	connect(alice, bob)
	alice.send("/p alice Alice Liddell")
	alice.expect("user full name changed to Alice Liddell (your 1 contacts are notified)")
	bob.expect("contact alice updated full name: Alice Liddell")
	alice.send("/p")
	alice.expectLines("user profile: alice (Alice Liddell)", "use /p <display name> to change it")

	alice.send("/create user alice2 Second")
	alice.expect("user profile: alice2 (Second)")
	alice.send("/users")
	alice.expectLines("alice (Alice Liddell)", "alice2 (Second) (active)")
	// Events of a user that is not active say whose they are.
	says2 := "to the first profile"
	bob.send("@alice " + says2)
	alice.expect("[user: alice] bob> " + says2)
	alice.send("@bob hi")
	alice.expect("no contact bob")
	alice.send("/user alice")
	alice.expect("user profile: alice (Alice Liddell)")
	alice.send("/d @bob")
	alice.expect("bob: contact is deleted")
	bob.expect("alice (Alice Liddell) deleted contact with you")
}

func TestServersCommand(t *testing.T) {
	srv := startRelay(t)
	dir := t.TempDir()
	alice := startChat(t, "alice", dir, srv)
	alice.send("/smp")
	alice.expectLines(srv.String(), "")
	alice.send("/smp test " + srv.String())
	alice.expect("SMP server test passed")
	alice.send("/smp test smp://AAAA@127.0.0.1:1")
	alice.expectPrefix("SMP server test failed, error: ")
	alice.send("/smp " + srv.String())
	alice.expectLines("ok", "(the relays are used from the next start)")
	alice.quit()
	if b, err := os.ReadFile(filepath.Join(dir, "servers.txt")); err != nil || strings.TrimSpace(string(b)) != srv.String() {
		t.Fatalf("servers.txt: %q, %v", b, err)
	}
}

func TestDemo(t *testing.T) {
	cmd := chatCmd(t.TempDir(), []string{"SMP_CHAT_PASSPHRASE=" + testPass}, "--demo")
	d := startCmd(t, "demo", cmd, "")
	d.expectAll("1| bob: contact is connected", "2| alice: contact is connected")
	d.send("@bob hi from the left")
	d.expectAll("1| @bob hi from the left", "2| alice> hi from the left")
	d.send("2 @alice hi from the right")
	d.expectAll("2| @alice hi from the right", "1| bob> hi from the right")
	d.send("/2")
	d.expect("demo: now user 2")
	d.send("/p")
	d.expect("2| user profile: bob")
}

func TestPassphraseFromInputAndFile(t *testing.T) {
	srv := startRelay(t)
	dir := t.TempDir()
	// No passphrase in the environment and no terminal: the first line.
	cmd := chatCmd(dir, nil, "--server", srv.String(), "--name", "alice")
	cmd.Env = withoutPassphrase(cmd.Env)
	a := startCmd(t, "alice", cmd, "passphrase:")
	a.send("typed passphrase")
	a.expect("type /help for the commands, /q to quit")
	a.quit()

	file := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(file, []byte("typed passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd = chatCmd(dir, nil, "--server", srv.String(), "--passphrase-file", file)
	cmd.Env = withoutPassphrase(cmd.Env)
	a = startCmd(t, "alice", cmd, "type /help for the commands, /q to quit")
	a.send("/p")
	a.expect("user profile: alice")
}

func TestDataDirectory(t *testing.T) {
	home := t.TempDir()
	cmd := exec.Command(os.Args[0], "--name", "alice", "--insecure-fast-kdf", "--no-qr")
	cmd.Env = append(withoutPassphrase(os.Environ()), "SMP_CHAT_TEST_MAIN=1", "SMP_CHAT_PASSPHRASE=x", "SMP_CHAT_DB=", "XDG_DATA_HOME="+home)
	cmd.Stdin = strings.NewReader("/q\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(home, "smp-chat", "chat.db")); err != nil {
		t.Fatal(err)
	}
}

func withoutPassphrase(env []string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, "SMP_CHAT_PASSPHRASE=") {
			out = append(out, e)
		}
	}
	return out
}

var _ = time.Second

// Without --no-qr every link is followed by its QR code, drawn in blocks.
func TestTerminalQR(t *testing.T) {
	srv := startRelay(t)
	cmd := exec.Command(os.Args[0], "--db", t.TempDir(), "--insecure-fast-kdf", "--name", "alice", "--server", srv.String())
	cmd.Env = append(os.Environ(), "SMP_CHAT_TEST_MAIN=1", "SMP_CHAT_PASSPHRASE=x")
	a := startCmd(t, "alice", cmd, "type /help for the commands, /q to quit")
	a.send("/ad")
	a.expect("to delete it: /da (accepted contacts will remain connected)")
	a.send("/p")
	n := 0
	for l := a.next(); l != "user profile: alice"; l = a.next() {
		if !strings.HasPrefix(l, "█") {
			t.Fatalf("line %d after the address is not a QR code row: %q", n, l)
		}
		n++
	}
	if n < 15 {
		t.Fatalf("QR code of %d rows", n)
	}
}

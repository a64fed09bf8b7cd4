package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
)

// The end-to-end tests run smp-chat processes (this test binary, re-executed
// as the command) against a reference relay on loopback and drive them line
// by line, as upstream's terminal tests do (simplex-chat tests/ChatTests).

func TestMain(m *testing.M) {
	if os.Getenv("SMP_CHAT_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

const (
	testPass = "e2e test passphrase"
	waitLine = 20 * time.Second
)

func startRelay(t *testing.T) smp.Server {
	t.Helper()
	l, err := relay.StartLoopback(relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Server
}

// terminal is one running smp-chat.
type terminal struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	mu    sync.Mutex
	seen  []string // every line, for failure reports

	exited  chan struct{} // closed when the process has exited
	exitErr error         // cmd.Wait's, once exited is closed
	exit    chan error    // also cmd.Wait's, once, for a test to receive (and put back)
}

// chatCmd is the command line of an smp-chat for tests.
func chatCmd(dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], append([]string{"--db", dir, "--no-qr", "--insecure-fast-kdf"}, args...)...)
	cmd.Env = append(os.Environ(), "SMP_CHAT_TEST_MAIN=1")
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// startChat starts smp-chat with a profile name in dir, on srv.
func startChat(t *testing.T, name, dir string, srv smp.Server, args ...string) *terminal {
	t.Helper()
	args = append([]string{"--name", name, "--server", srv.String()}, args...)
	cmd := chatCmd(dir, []string{"SMP_CHAT_PASSPHRASE=" + testPass}, args...)
	return startCmd(t, name, cmd, "type /help for the commands, /q to quit")
}

// startCmd starts cmd and waits for the line ready ("" for none).
func startCmd(t *testing.T, name string, cmd *exec.Cmd, ready string) *terminal {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tm := &terminal{t: t, name: name, cmd: cmd, stdin: stdin, lines: make(chan string, 4096), exited: make(chan struct{}), exit: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			tm.lines <- sc.Text()
		}
		close(tm.lines)
		tm.exitErr = cmd.Wait()
		close(tm.exited)
		tm.exit <- tm.exitErr
	}()
	t.Cleanup(tm.kill)
	if ready != "" {
		tm.expect(ready)
	}
	return tm
}

func (tm *terminal) running() bool {
	select {
	case <-tm.exited:
		return false
	default:
		return true
	}
}

func (tm *terminal) kill() {
	if tm.t.Failed() && os.Getenv("SMP_CHAT_TEST_DUMP") != "" && tm.running() {
		// The goroutines of a stuck smp-chat, for the failure report.
		tm.cmd.Process.Signal(syscall.SIGQUIT)
		for l := range tm.lines {
			tm.seen = append(tm.seen, l)
		}
	}
	if tm.running() {
		tm.stdin.Close()
		select {
		case <-tm.exited:
		case <-time.After(10 * time.Second):
			tm.cmd.Process.Kill()
			<-tm.exited
		}
	}
	for l := range tm.lines { // what is left, for the race check below
		tm.seen = append(tm.seen, l)
	}
	tm.mu.Lock()
	for _, l := range tm.seen {
		if strings.Contains(l, "WARNING: DATA RACE") || strings.HasPrefix(l, "panic: ") {
			tm.t.Errorf("%s: %s", tm.name, l)
		}
	}
	tm.mu.Unlock()
	if tm.t.Failed() {
		tm.mu.Lock()
		tm.t.Logf("%s's terminal:\n  %s", tm.name, strings.Join(tm.seen, "\n  "))
		tm.mu.Unlock()
	}
}

// quit sends /q and waits for a clean exit.
func (tm *terminal) quit() {
	tm.t.Helper()
	tm.send("/q")
	for range tm.lines {
	}
	<-tm.exited
	if tm.exitErr != nil {
		tm.t.Fatalf("%s: exit: %v", tm.name, tm.exitErr)
	}
}

func (tm *terminal) send(line string) {
	tm.t.Helper()
	tm.mu.Lock()
	tm.seen = append(tm.seen, "<<< "+line)
	tm.mu.Unlock()
	if _, err := io.WriteString(tm.stdin, line+"\n"); err != nil {
		tm.t.Fatalf("%s: write %q: %v", tm.name, line, err)
	}
}

var timePrefix = regexp.MustCompile(`^(\[user: [^\]]*\] |\d\| )?(\d\d:\d\d|\d\d-\d\d) `)

// dropTime removes a message line's time, as upstream's tests do (after a
// "[user: NAME] " or demo "1| " prefix).
func dropTime(l string) string { return timePrefix.ReplaceAllString(l, "$1") }

// next is the next output line, without its time.
func (tm *terminal) next() string {
	tm.t.Helper()
	select {
	case l, ok := <-tm.lines:
		if !ok {
			tm.t.Fatalf("%s: smp-chat exited", tm.name)
		}
		tm.mu.Lock()
		tm.seen = append(tm.seen, l)
		tm.mu.Unlock()
		return dropTime(l)
	case <-time.After(waitLine):
		tm.t.Fatalf("%s: no output for %v", tm.name, waitLine)
	}
	return ""
}

// expect waits for the line, skipping others (events of the other chats
// may come between).
func (tm *terminal) expect(want string) {
	tm.t.Helper()
	tm.expectLine(fmt.Sprintf("%q", want), func(l string) bool { return l == want })
}

// expectPrefix waits for a line that starts with prefix.
func (tm *terminal) expectPrefix(prefix string) string {
	tm.t.Helper()
	return tm.expectLine(fmt.Sprintf("%q...", prefix), func(l string) bool { return strings.HasPrefix(l, prefix) })
}

// expectLine waits for a line (its time dropped) that ok accepts, skipping
// and keeping the others, and returns it; what names it in failures.
func (tm *terminal) expectLine(what string, ok func(string) bool) string {
	tm.t.Helper()
	deadline := time.After(waitLine)
	for {
		select {
		case l, open := <-tm.lines:
			if !open {
				tm.t.Fatalf("%s: smp-chat exited waiting for %s", tm.name, what)
			}
			tm.mu.Lock()
			tm.seen = append(tm.seen, l)
			tm.mu.Unlock()
			if l = dropTime(l); ok(l) {
				return l
			}
		case <-deadline:
			tm.t.Fatalf("%s: no line %s in %v", tm.name, what, waitLine)
		}
	}
}

// until returns the lines before want (and consumes want).
func (tm *terminal) until(want string) []string {
	tm.t.Helper()
	var got []string
	for l := tm.next(); l != want; l = tm.next() {
		got = append(got, l)
	}
	return got
}

// expectAll waits for all the lines in any order (upstream's <###).
func (tm *terminal) expectAll(want ...string) {
	tm.t.Helper()
	left := map[string]bool{}
	for _, w := range want {
		left[w] = true
	}
	deadline := time.After(waitLine)
	for len(left) > 0 {
		select {
		case l, ok := <-tm.lines:
			if !ok {
				tm.t.Fatalf("%s: smp-chat exited waiting for %q", tm.name, want)
			}
			tm.mu.Lock()
			tm.seen = append(tm.seen, l)
			tm.mu.Unlock()
			delete(left, dropTime(l))
		case <-deadline:
			tm.t.Fatalf("%s: no lines %v in %v", tm.name, left, waitLine)
		}
	}
}

// expectLines waits for the lines, one after the other.
func (tm *terminal) expectLines(want ...string) {
	tm.t.Helper()
	tm.expect(want[0])
	for _, w := range want[1:] {
		if got := tm.next(); got != w {
			tm.t.Fatalf("%s: after %q got %q, want %q", tm.name, want[0], got, w)
		}
	}
}

// linkAfter waits for the intro line and returns the link two lines after.
func (tm *terminal) linkAfter(intro string) string {
	tm.t.Helper()
	tm.expect(intro)
	if l := tm.next(); l != "" {
		tm.t.Fatalf("%s: %q after %q", tm.name, l, intro)
	}
	link := tm.next()
	if !strings.HasPrefix(link, "simplex:/") {
		tm.t.Fatalf("%s: %q is not a link", tm.name, link)
	}
	return link
}

// connect makes a and b contacts by a one-time invitation, upstream's
// connectUsers.
func connect(a, b *terminal) {
	a.t.Helper()
	a.send("/c")
	link := a.linkAfter("pass this invitation link to your contact (via another channel):")
	b.send("/c " + link)
	b.expect("confirmation sent!")
	a.expect(b.name + ": contact is connected")
	b.expect(a.name + ": contact is connected")
}

// says: from sends text to to, and both show it.
func says(from, to *terminal, text string) {
	from.t.Helper()
	from.send("@" + to.name + " " + text)
	from.expect("@" + to.name + " " + text)
	to.expect(from.name + "> " + text)
}

func TestContactByInvitationMessagesEditsDeletesReplies(t *testing.T) {
	srv := startRelay(t)
	alice := startChat(t, "alice", t.TempDir(), srv)
	bob := startChat(t, "bob", t.TempDir(), srv)
	connect(alice, bob)
	says(alice, bob, "hello")
	says(bob, alice, "hi")

	// Edit (upstream's "! @bob (hello) ...").
	alice.send("! @bob (hello) hello there")
	alice.expect("@bob [edited] hello there")
	bob.expect("alice> [edited] hello there")

	// Reply to the contact's message.
	bob.send("> @alice (hello) yes, hello")
	bob.expectLines("@alice > hello there", "      yes, hello")
	alice.expectLines("bob> > hello there", "      yes, hello")

	// Reaction, as upstream spells it.
	alice.send("+1 @bob hi")
	alice.expect("added 👍")
	bob.expectLines("alice> >> hi", "    + 👍")

	// Delete for everyone.
	alice.send(`\ @bob hello`)
	alice.expect("message marked deleted")
	bob.expect("alice> [marked deleted] hello there")

	bob.send("/tail @alice")
	bob.expectLines("@alice hi", "      👍 1")
	// A plain line goes to the last chat.
	bob.send("and a plain line")
	bob.expect("@alice and a plain line")
	alice.expect("bob> and a plain line")

	alice.send("/search hello") // deleted messages are not found
	alice.expectLines("bob> > hello there", "      yes, hello")
	alice.send("/search @bob 1 and a")
	alice.expect("bob> and a plain line")
	alice.send("/contacts")
	alice.expect("bob")
	alice.send("/chats")
	alice.expect("bob> and a plain line")
	alice.send("@nobody hi")
	alice.expect("no contact nobody")
	alice.send("/nonsense")
	alice.expect("bad chat command: /nonsense (type /help)")
}

func TestContactByAddress(t *testing.T) {
	srv := startRelay(t)
	alice := startChat(t, "alice", t.TempDir(), srv)
	bob := startChat(t, "bob", t.TempDir(), srv)
	alice.send("/ad")
	link := alice.linkAfter("Your new chat address is created!")
	bob.send("/c " + link)
	bob.expect("connection request sent!")
	alice.expectLines("bob wants to connect to you!", "to accept: /ac bob", "to reject: /rc bob (the sender will NOT be notified)")
	alice.send("/ac bob")
	alice.expect("bob: accepting contact request, you can send messages to contact")
	alice.expect("bob: contact is connected")
	bob.expect("alice: contact is connected")
	says(bob, alice, "hi via your address")
	says(alice, bob, "welcome")
	alice.send("/sa")
	if got := alice.linkAfter("Your chat address:"); got != link {
		t.Fatalf("/sa shows %q, /ad showed %q", got, link)
	}
	alice.expect("auto_accept off")
	alice.send("/pa on")
	alice.expect("new contact address set")
	bob.expect("alice set new contact address, use /info alice to view")
	alice.send("/auto_accept on welcome!")
	alice.expectLines("auto_accept on", "auto reply:", "welcome!")
}

func TestGroupOfThree(t *testing.T) {
	srv := startRelay(t)
	alice := startChat(t, "alice", t.TempDir(), srv)
	bob := startChat(t, "bob", t.TempDir(), srv)
	cath := startChat(t, "cath", t.TempDir(), srv)
	connect(alice, bob)
	connect(alice, cath)
	alice.send("/g team")
	alice.expectLines("group #team is created", "to add members use /a team <name> or /create link #team")
	for _, m := range []*terminal{bob, cath} {
		alice.send("/a team " + m.name)
		alice.expect("invitation to join the group #team sent to " + m.name)
		m.expectLines("#team: alice invites you to join the group as member", "use /j team to accept")
		m.send("/j team")
		m.expect("#team: you joined the group")
		alice.expect("#team: " + m.name + " joined the group")
	}
	// cath joined after bob: the host introduced them.
	bob.expect("#team: member cath is connected")
	cath.expect("#team: member bob is connected")

	all := []*terminal{alice, bob, cath}
	for _, from := range all {
		from.send("#team hello from " + from.name)
	}
	// Each sees its own message and the others', in any order (a message
	// may come directly or forwarded by the host).
	for _, to := range all {
		var want []string
		for _, from := range all {
			if from == to {
				want = append(want, "#team hello from "+from.name)
			} else {
				want = append(want, "#team "+from.name+"> hello from "+from.name)
			}
		}
		to.expectAll(want...)
	}
	alice.send("/ms team")
	alice.expectLines("alice: owner, you, created group", "bob: member, invited, connected", "cath: member, invited, connected")
	alice.send("/gs")
	alice.expect("#team (3 members)")
	alice.send("/i #team")
	alice.expectPrefix("group ID: ")
	alice.expect("current members: 3")
	bob.send("/tail #team 2")
	bob.next() // the earliest of the two: which one depends on delivery
	bob.send("/search #team from cath")
	bob.expect("#team cath> hello from cath")

	alice.send("/rm team cath")
	alice.expect("#team: you removed cath from the group")
	cath.expectLines("#team: alice removed you from the group", "use /d #team to delete the group")
	bob.expect("#team: alice removed cath from the group")
	bob.send("/l team")
	bob.expectLines("#team: you left the group", "use /d #team to delete the group")
	alice.expect("#team: bob left the group")
	alice.send("/gs")
	alice.expect("#team (1 member)")
}

func TestRestartKeepsHistory(t *testing.T) {
	srv := startRelay(t)
	dir := t.TempDir()
	alice := startChat(t, "alice", dir, srv)
	bob := startChat(t, "bob", t.TempDir(), srv)
	connect(alice, bob)
	says(alice, bob, "before the restart")
	says(bob, alice, "got it")
	alice.quit()

	// While alice is away bob writes; the relay keeps it.
	says2 := "while you were away"
	bob.send("@alice " + says2)
	bob.expect("@alice " + says2)

	alice = startChat(t, "alice", dir, srv)
	alice.expect("bob> " + says2)
	alice.send("/tail @bob")
	alice.expectLines("@bob before the restart", "bob> got it", "bob> "+says2)
	says(alice, bob, "after the restart")
}

func TestWrongPassphrase(t *testing.T) {
	srv := startRelay(t)
	dir := t.TempDir()
	alice := startChat(t, "alice", dir, srv)
	alice.quit()
	before := snapshot(t, dir)

	cmd := chatCmd(dir, []string{"SMP_CHAT_PASSPHRASE=not the passphrase"}, "--server", srv.String())
	cmd.Stdin = strings.NewReader("/q\n")
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want code 1; output:\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "smp-chat: wrong passphrase") {
		t.Fatalf("last line %q, want the wrong passphrase; output:\n%s", last, out)
	}
	if after := snapshot(t, dir); after != before {
		t.Fatalf("the database changed after a wrong passphrase:\n%s\n---\n%s", before, after)
	}
}

// snapshot lists the files of the chat database with their sizes and times.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	for _, name := range []string{"chat.db", "chat.db.hdr"} {
		fi, err := os.Stat(dir + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %d %v\n", name, fi.Size(), fi.ModTime().UnixNano())
	}
	return b.String()
}

func TestQRImageRoundTrip(t *testing.T) {
	srv := startRelay(t)
	png := t.TempDir() + "/invitation.png"
	alice := startChat(t, "alice", t.TempDir(), srv, "--qr-png", png)
	bob := startChat(t, "bob", t.TempDir(), srv)
	alice.send("/c")
	alice.expect("QR code saved to " + png)
	bob.send("/c --qr " + png)
	bob.expect("confirmation sent!")
	alice.expect("bob: contact is connected")
	bob.expect("alice: contact is connected")
	says(bob, alice, "scanned")
	missing := t.TempDir() + "/missing.png"
	bob.send("/c --qr " + missing)
	bob.expect("qr: open " + missing + ": no such file or directory")
}

func TestFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "smp-chat: smpkit's reference chat client for the terminal"},
		{[]string{"--version"}, 0, "smp-chat "},
		{[]string{"--bogus"}, 2, "smp-chat: unknown flag: --bogus"},
		{[]string{"extra"}, 2, `smp-chat: unexpected argument "extra"`},
		{[]string{"--server", "not-a-relay", "--name", "x"}, 2, `smp-chat: --server "not-a-relay"`},
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

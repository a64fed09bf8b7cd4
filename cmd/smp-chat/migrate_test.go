package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// /migrate to device on one data directory, smp-chat --migrate on another:
// the profile goes on with its contact and history, and the old one stops.
func TestMigrateToDevice(t *testing.T) {
	srv := startRelay(t)
	oldDir, newDir := t.TempDir(), t.TempDir()
	archive := filepath.Join(t.TempDir(), "alice.archive")
	alice := startChat(t, "alice", oldDir, srv)
	bob := startChat(t, "bob", t.TempDir(), srv)
	connect(alice, bob)
	says(alice, bob, "before the move")

	// An existing file is never overwritten; the profile stays.
	existing := filepath.Join(t.TempDir(), "taken")
	os.WriteFile(existing, []byte("keep"), 0o600)
	alice.send("/migrate to device " + existing)
	alice.expect("error: archive: open " + existing + ": file exists (choose another file: /migrate to device FILE)")
	says(alice, bob, "still here")

	alice.send("/migrate to device " + archive)
	alice.expect("profile alice is exported with its contacts, groups and history to " + archive)
	alice.expectLines(migrateIntro, "")
	cmdline := alice.next()
	link, rest, ok := strings.Cut(strings.TrimPrefix(cmdline, "smp-chat --migrate '"), "' ")
	if !ok || !strings.HasPrefix(link, "smpkit-migrate:") || rest != "--migrate-archive "+archive {
		t.Fatalf("migration command line %q", cmdline)
	}
	alice.expect("alice now lives on the other device: it never runs here again; smp-chat stops")
	for range alice.lines {
	}
	if err := <-alice.exit; err != nil {
		t.Fatalf("old alice: %v", err)
	}
	alice.exit <- nil
	if fi, err := os.Stat(archive); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("archive: %v %v", fi, err)
	}

	moved := startChat(t, "alice", newDir, srv, "--migrate", link, "--migrate-archive", archive)
	moved.send("/tail @bob")
	moved.expect("@bob before the move")
	says(moved, bob, "from the new device")
	says(bob, moved, "welcome back")

	// The old directory does not run the profile again.
	old := startChat(t, "alice", oldDir, srv)
	old.mu.Lock()
	seen := strings.Join(old.seen, "\n")
	old.mu.Unlock()
	if !strings.Contains(seen, "moved to another device, no longer run here: alice") {
		t.Errorf("old directory on start:\n%s", seen)
	}
	old.send("/migrate take back bob")
	old.expect("error: no profile bob")
	old.quit()

	// A wrong archive or link imports nothing.
	other := filepath.Join(t.TempDir(), "other.archive")
	os.WriteFile(other, []byte("not an archive"), 0o600)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--migrate", link, "--migrate-archive", other}, "smp-chat: --migrate: " + other + " is not the archive of this link (nothing was imported)\n"},
		{[]string{"--migrate", "smpkit-migrate:?v=1&key=AAAA", "--migrate-archive", archive}, "smp-chat: --migrate: "},
		{[]string{"--migrate", strings.Replace(link, "key=", "key=A", 1)[:len(link)], "--migrate-archive", archive}, "smp-chat: --migrate: "},
		{[]string{"--migrate", link, "--migrate-archive", filepath.Join(t.TempDir(), "missing")}, "smp-chat: --migrate: archive: "},
		{[]string{"--migrate-archive", archive}, "smp-chat: --migrate-archive needs --migrate LINK"},
		{[]string{"--migrate", link, "--demo"}, "smp-chat: --migrate does not go with --demo"},
	} {
		cmd := chatCmd(t.TempDir(), []string{"SMP_CHAT_PASSPHRASE=" + testPass}, append([]string{"--server", srv.String(), "--name", "x"}, c.args...)...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("%v: %v, output %q; want an error %q", c.args, err, out, c.want)
		}
	}
}

func TestMigrateCommand(t *testing.T) {
	for line, want := range map[string]string{
		"/migrate to device":               defaultArchive,
		"/migrate to device  a b.archive ": "a b.archive",
		"/migrate to devices":              "",
		"/migrate":                         "",
	} {
		file, ok := migrateCommand(line)
		if ok != (want != "") || file != want {
			t.Errorf("%q: %q %v, want %q", line, file, ok, want)
		}
	}
}

// An archive that went nowhere: the old directory takes the profile back
// and chats again.
func TestMigrateTakeBack(t *testing.T) {
	srv := startRelay(t)
	dir := t.TempDir()
	alice := startChat(t, "alice", dir, srv)
	bob := startChat(t, "bob", t.TempDir(), srv)
	connect(alice, bob)
	alice.send("/migrate to device " + filepath.Join(t.TempDir(), "lost.archive"))
	alice.expect("alice now lives on the other device: it never runs here again; smp-chat stops")
	for range alice.lines {
	}
	<-alice.exit
	alice.exit <- nil

	again := startChat(t, "alice", dir, srv)
	again.send("/migrate take back alice")
	again.expect("alice runs here again (use the archive nowhere else now); to use it: /user alice")
	again.send("/migrate take back alice")
	again.expect("error: alice was not moved away")
	again.send("/user alice")
	says(again, bob, "back again")
	says(bob, again, "welcome back")
}

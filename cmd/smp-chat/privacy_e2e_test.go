package main

import (
	"strings"
	"testing"
	"time"
)

func TestHiddenUser(t *testing.T) {
	srv := startRelay(t)
	alice := startChat(t, "alice", t.TempDir(), srv)
	bob := startChat(t, "bob", t.TempDir(), srv)
	alice.send("/create user secret")
	alice.expect("user profile: secret")
	alice.send("/c")
	link := alice.linkAfter("pass this invitation link to your contact (via another channel):")
	bob.send("/c " + link)
	alice.expect("bob: contact is connected")
	bob.expect("secret: contact is connected")
	alice.send("/hide user pw1")
	alice.expectLines("current user secret:", "messages are hidden (use /tail to view)", "profile is hidden")
	alice.send("/user alice")
	alice.expect("user profile: alice")
	alice.send("/users")
	alice.expect("alice (active)")
	// The hidden user's messages arrive but are not shown.
	bob.send("@secret psst")
	bob.expect("@secret psst")
	time.Sleep(300 * time.Millisecond) // let it arrive
	alice.send("/user secret wrong")
	for _, l := range alice.until("user does not exist or incorrect password") {
		if strings.Contains(l, "psst") {
			t.Fatalf("a hidden user's message was shown: %q", l)
		}
	}
	alice.send("/user secret pw1")
	alice.expect("user profile: secret")
	alice.send("/tail @bob 1")
	alice.expect("bob> psst")
	alice.send("/unhide user pw1")
	alice.expectLines("current user secret:", "messages are shown", "profile is visible")
	alice.send("/users")
	alice.expectLines("alice", "secret (active)")
}

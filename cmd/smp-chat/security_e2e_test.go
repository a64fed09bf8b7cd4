package main

import (
	"strings"
	"testing"
)

func TestBroadcastCodesSwitchSync(t *testing.T) {
	srv := startRelay(t)
	alice := startChat(t, "alice", t.TempDir(), srv)
	bob := startChat(t, "bob", t.TempDir(), srv)
	cath := startChat(t, "cath", t.TempDir(), srv)
	connect(alice, bob)
	connect(alice, cath)
	alice.send("/feed hello all")
	if l := alice.expectPrefix("/feed (2) "); !strings.HasSuffix(l, " hello all") {
		t.Fatalf("broadcast line %q", l) // upstream's: "/feed (2) HH:MM hello all"
	}
	bob.expect("alice> hello all")
	cath.expect("alice> hello all")

	alice.send("/code bob")
	alice.expect("bob security code:")
	code := alice.next()
	alice.expect("pass this code to your contact and use /verify bob <code from your contact> to verify")
	bob.send("/code alice")
	bob.expect("alice security code:")
	if got := bob.next(); got != code {
		t.Fatalf("codes differ: %q and %q", code, got)
	}
	alice.send("/verify bob 123")
	alice.expect("connection not verified, current code is " + code)
	alice.send("/verify bob " + code)
	alice.expect("connection verified")

	alice.send("/switch bob")
	alice.expect("switch started")
	alice.expect("bob: you changed address")
	bob.expect("alice changed address for you")
	says(alice, bob, "after the switch")

	alice.send("/sync bob")
	alice.expect("connection synchronization started")
	alice.expect("bob: connection synchronized")
	alice.expect("bob: security code changed")
	says(bob, alice, "after the sync")
}

func TestMemberCodesSwitchSync(t *testing.T) {
	srv := startRelay(t)
	alice := startChat(t, "alice", t.TempDir(), srv)
	bob := startChat(t, "bob", t.TempDir(), srv)
	connect(alice, bob)
	alice.send("/g team")
	alice.expect("group #team is created")
	alice.send("/a team bob")
	bob.expect("use /j team to accept")
	bob.send("/j team")
	bob.expect("#team: you joined the group")
	alice.expect("#team: bob joined the group")

	alice.send("/code #team bob")
	alice.expect("#team bob security code:")
	code := alice.next()
	alice.expect("pass this code to your contact and use /verify #team bob <code from your contact> to verify")
	bob.send("/code #team @alice")
	bob.expect("#team alice security code:")
	if got := bob.next(); got != code {
		t.Fatalf("member codes differ: %q and %q", code, got)
	}
	alice.send("/verify #team bob " + code)
	alice.expect("connection verified")

	alice.send("/switch #team bob")
	alice.expect("switch started")
	alice.expect("#team: you changed address for bob")
	bob.expect("#team: alice changed address for you")
	alice.send("#team after the switch")
	bob.expect("#team alice> after the switch")

	alice.send("/sync #team bob")
	alice.expect("connection synchronization started")
	alice.expect("#team bob: connection synchronized")
	bob.send("#team after the sync")
	alice.expect("#team bob> after the sync")
}

func TestDisappearingMessagesPreference(t *testing.T) {
	srv := startRelay(t)
	alice := startChat(t, "alice", t.TempDir(), srv)
	bob := startChat(t, "bob", t.TempDir(), srv)
	connect(alice, bob)
	alice.send("/set disappear @bob yes 1h")
	alice.expectLines("you updated preferences for bob:", "Disappearing messages: allowed, after 1 hour")
	bob.send("/set disappear @alice yes 1h")
	bob.expectLines("you updated preferences for alice:", "Disappearing messages: allowed, after 1 hour")
	says(alice, bob, "this one goes in an hour")
	alice.send("/set disappear @bob no")
	alice.expectLines("you updated preferences for bob:", "Disappearing messages: off")
	alice.send("/set disappear @bob maybe")
	alice.expect("bad chat command: /set (type /help)")
}

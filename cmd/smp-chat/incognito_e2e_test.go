package main

import (
	"fmt"
	"strings"
	"testing"
)

// expectSuffix waits for a line that ends with suffix and returns it.
func (tm *terminal) expectSuffix(suffix string) string {
	tm.t.Helper()
	return tm.expectLine(fmt.Sprintf("...%q", suffix), func(l string) bool { return strings.HasSuffix(l, suffix) })
}

// afterPrefix waits for a line with prefix and returns the rest of it.
func (tm *terminal) afterPrefix(prefix string) string {
	tm.t.Helper()
	return strings.TrimPrefix(tm.expectPrefix(prefix), prefix)
}

// As upstream's testJoinGroupIncognito (tests/ChatTests/Profiles.hs) and
// testGroupMessageQuotedReply (tests/ChatTests/Groups.hs): cath, connected
// to alice incognito, joins alice's group with that profile; replies in
// the group show the quoted member and text.
func TestIncognitoGroupAndQuotes(t *testing.T) {
	srv := startRelay(t)
	alice := startChat(t, "alice", t.TempDir(), srv)
	bob := startChat(t, "bob", t.TempDir(), srv)
	cath := startChat(t, "cath", t.TempDir(), srv)
	connect(alice, bob)
	alice.send("/c")
	link := alice.linkAfter("pass this invitation link to your contact (via another channel):")
	cath.send("/c i " + link)
	cath.expect("confirmation sent!")
	inc := cath.afterPrefix("alice: contact is connected, your incognito profile for this contact is ")
	cath.expect("use /i alice to print out this incognito profile again")
	alice.expect(inc + ": contact is connected")

	alice.send("/g team")
	alice.expect("to add members use /a team <name> or /create link #team")
	alice.send("/a team bob")
	bob.expect("use /j team to accept")
	bob.send("/j team")
	bob.expect("#team: you joined the group")
	alice.expect("#team: bob joined the group")
	alice.send("/a team " + inc)
	alice.expect("invitation to join the group #team sent to " + inc)
	cath.expectLines("#team: alice invites you to join the group as member", "use /j team to join incognito as "+inc)
	cath.send("/j team")
	cath.expect("#team: you joined the group incognito as " + inc)
	alice.expect("#team: " + inc + " joined the group")
	bob.expect("#team: member " + inc + " is connected")
	cath.expect("#team: member bob is connected")
	cath.send("/gs")
	cath.expect("i #team (3 members)")
	cath.send("/ms team")
	cath.expect("i " + inc + ": member, you, connected")

	alice.send("#team hello! how are you?")
	bob.expect("#team alice> hello! how are you?")
	cath.expect("#team alice> hello! how are you?")
	bob.send("> #team @alice (hello) hello, all good, you?")
	bob.expectLines("#team > alice hello! how are you?", "      hello, all good, you?")
	for _, m := range []*terminal{alice, cath} {
		m.expectLines("#team bob> > alice hello! how are you?", "      hello, all good, you?")
	}
	cath.send("> #team bob (hello, all good) hi there!")
	cath.expectLines("#team > bob hello, all good, you?", "      hi there!")
	for _, m := range []*terminal{alice, bob} {
		m.expectLines("#team "+inc+"> > bob hello, all good, you?", "      hi there!")
	}
	// Without a member: the latest message of anyone, ours included.
	alice.send("> #team (hello!) go on")
	alice.expectLines("#team > alice hello! how are you?", "      go on")
	bob.expectLines("#team alice> > alice hello! how are you?", "      go on")
	alice.send("> #team @bob (nothing like this) x")
	alice.expect("message not found by text: nothing like this")
}

// As upstream's testConnectIncognitoContactAddress,
// testAcceptContactRequestIncognito, testAutoReplyMessageInIncognito and
// testNewGroupIncognito (tests/ChatTests/Profiles.hs).
func TestIncognitoRequestsAndGroups(t *testing.T) {
	srv := startRelay(t)
	alice := startChat(t, "alice", t.TempDir(), srv)
	bob := startChat(t, "bob", t.TempDir(), srv)
	cath := startChat(t, "cath", t.TempDir(), srv)
	alice.send("/ad")
	link := alice.linkAfter("Your new chat address is created!")
	// bob asks incognito, alice accepts incognito.
	bob.send("/c i " + link)
	bob.expect("connection request sent incognito!")
	bobInc := strings.TrimSuffix(alice.expectSuffix(" wants to connect to you!"), " wants to connect to you!")
	alice.send("/ac i " + bobInc)
	alice.expect(bobInc + ": accepting contact request, you can send messages to contact")
	aliceInc := alice.afterPrefix(bobInc + ": contact is connected, your incognito profile for this contact is ")
	bob.expect(aliceInc + ": contact is connected, your incognito profile for this contact is " + bobInc)
	if aliceInc == "alice" || bobInc == "bob" {
		t.Fatalf("incognito names %q %q", aliceInc, bobInc)
	}
	bob.send("@" + aliceInc + " psst")
	alice.expect("i " + bobInc + "> psst")
	// alice is incognito with bob: no invitation to her main-profile group.
	alice.send("/g team")
	alice.expect("to add members use /a team <name> or /create link #team")
	alice.send("/a team " + bobInc)
	alice.expect("you're using your main profile for this group - prohibited to invite contacts to whom you are connected incognito")

	// Requests accepted automatically, each with its own random profile.
	alice.send("/auto_accept on incognito=on text hello!")
	alice.expectLines("auto_accept on, incognito", "auto reply:", "hello!")
	cath.send("/c " + link)
	cath.expect("connection request sent!")
	inc := alice.afterPrefix("cath: contact is connected, your incognito profile for this contact is ")
	cath.expect(inc + ": contact is connected")
	cath.expect(inc + "> hello!")
	if inc == aliceInc || inc == "alice" {
		t.Fatalf("auto-accepted incognito as %q", inc)
	}

	// A group created incognito: no invitations, a group link.
	alice.send("/g i club")
	gInc := alice.afterPrefix("group #club is created, your incognito profile for this group is ")
	alice.expect("to add members use /create link #club")
	alice.send("/a club cath")
	alice.expect("you are using an incognito profile for this group - prohibited to invite contacts")
	alice.send("/create link #club")
	glink := alice.linkAfter("Group link is created!")
	// Our group links carry no group data, so /j tells them from an
	// address (upstream's "/c <group link>").
	cath.send("/j " + glink)
	cath.expect("connection request sent!")
	cath.expect("#club: you joined the group")
	cath.send("#club hi")
	alice.expect("#club cath> hi")
	alice.send("#club welcome")
	cath.expect("#club " + gInc + "> welcome")
	alice.send("/gs")
	alice.expect("i #club (2 members)")
	// bob joins it by the link in incognito mode: a random profile of its
	// own for the membership.
	bob.send("/incognito on")
	bob.expect("incognito mode on: each new connection uses a new random profile")
	bob.send("/j " + glink)
	bob.expect("connection request sent incognito!")
	bobClub := bob.afterPrefix("#club: you joined the group incognito as ")
	if bobClub == bobInc || bobClub == "bob" {
		t.Fatalf("bob's membership %q", bobClub)
	}
	bob.send("#club hi from " + bobClub)
	alice.expect("#club " + bobClub + "> hi from " + bobClub)
}

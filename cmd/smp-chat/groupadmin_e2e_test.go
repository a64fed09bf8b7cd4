package main

import "testing"

func TestGroupLinkRolesEditsReactionsDeletion(t *testing.T) {
	srv := startRelay(t)
	alice := startChat(t, "alice", t.TempDir(), srv)
	bob := startChat(t, "bob", t.TempDir(), srv)
	cath := startChat(t, "cath", t.TempDir(), srv)
	connect(alice, bob)
	alice.send("/g team")
	alice.expect("group #team is created")
	alice.send("/a team bob")
	bob.expect("use /j team to accept")
	bob.send("/j team")
	bob.expect("#team: you joined the group")
	alice.expect("#team: bob joined the group")

	alice.send("/create link #team")
	link := alice.linkAfter("Group link is created!")
	alice.expectLines("Anybody can connect to you and join group as member with: /c <group_link_above>",
		"to show it again: /show link #team", "to delete it: /delete link #team (joined members will remain connected to you)")
	cath.send("/j " + link)
	cath.expect("connection request sent!")
	cath.expect("#team: you joined the group")
	// Our host line for a member by link; upstream's: "#team: cath joined the group".
	alice.expect("#team: member cath is connected")
	bob.expect("#team: member cath is connected")

	alice.send("#team hello")
	bob.expect("#team alice> hello")
	cath.expect("#team alice> hello")
	alice.send("! #team (hello) hello all")
	alice.expect("#team [edited] hello all")
	bob.expect("#team alice> [edited] hello all")
	bob.send("+1 #team hello")
	bob.expect("added 👍")
	alice.expectLines("#team bob> > alice hello all", "    + 👍")
	alice.send(`\ #team hello`)
	alice.expect("message marked deleted")
	bob.expect("#team alice> [marked deleted] hello all")
	bob.send("/tail #team 1")
	bob.expectLines("#team alice> hello all [marked deleted]", "      👍 1")

	alice.send("/mr team bob observer")
	alice.expect("#team: you changed the role of bob from member to observer")
	bob.expect("#team: alice changed your role from member to observer")

	alice.send("/gp team team2 The Team")
	alice.expect("changed to #team2 (The Team)")
	bob.expect("changed to #team2 (The Team)")

	alice.send("/d #team2")
	alice.expect("#team2: you deleted the group")
	bob.expectLines("#team2: alice deleted the group", "use /d #team2 to delete the local copy of the group")
	bob.send("/gs")
	bob.expect("#team2 (The Team) (group deleted, delete local copy: /d #team2)")
	bob.send("/d #team2")
	bob.expect("#team2: you deleted the group")
	bob.send("/gs")
	bob.expect("you have no groups!")
}

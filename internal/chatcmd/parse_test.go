package chatcmd

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/smpkit/smpkit/reference/chatmsg"
)

// The command lines of upstream's terminal tests (simplex-chat
// tests/ChatTests/Direct.hs, Groups.hs, Profiles.hs) and what they mean.
var parseCases = []struct {
	line string
	want Command
}{
	{"/c", Command{Op: OpConnect}},
	{"/connect", Command{Op: OpConnect}},
	{"/c i", Command{Op: OpConnect, Incognito: true}},
	{"/c simplex:/invitation#/?v=2-7&smp=x", Command{Op: OpConnect, Text: "simplex:/invitation#/?v=2-7&smp=x"}},
	{"/c i simplex:/invitation#/?v=2", Command{Op: OpConnect, Incognito: true, Text: "simplex:/invitation#/?v=2"}},
	{"/c --qr /tmp/x.png", Command{Op: OpConnectQR, Text: "/tmp/x.png"}},
	{"/ad", Command{Op: OpCreateAddress}},
	{"/address", Command{Op: OpCreateAddress}},
	{"/sa", Command{Op: OpShowAddress}},
	{"/show_address", Command{Op: OpShowAddress}},
	{"/da", Command{Op: OpDeleteAddress}},
	{"/pa on", Command{Op: OpProfileAddress, On: true}},
	{"/profile_address off", Command{Op: OpProfileAddress}},
	{"/auto_accept on", Command{Op: OpAutoAccept, On: true}},
	{"/auto_accept on hello there", Command{Op: OpAutoAccept, On: true, Text: "hello there"}},
	{"/auto_accept on text hello there", Command{Op: OpAutoAccept, On: true, Text: "hello there"}},
	{"/auto_accept on incognito=on", Command{Op: OpAutoAccept, On: true, Incognito: true}},
	{"/auto_accept off", Command{Op: OpAutoAccept}},
	{"/ac bob", Command{Op: OpAccept, Name: "bob"}},
	{"/accept @bob", Command{Op: OpAccept, Name: "bob"}},
	{"/rc bob", Command{Op: OpReject, Name: "bob"}},
	{"/d @bob", Command{Op: OpDeleteContact, Name: "bob"}},
	{"/d bob", Command{Op: OpDeleteContact, Name: "bob"}},
	{"/delete 'bob smith'", Command{Op: OpDeleteContact, Name: "bob smith"}},
	{"@bob hello there", Command{Op: OpSend, Chat: Chat{'@', "bob"}, Text: "hello there"}},
	{"@'bob smith' hi", Command{Op: OpSend, Chat: Chat{'@', "bob smith"}, Text: "hi"}},
	{"#team hello", Command{Op: OpSend, Chat: Chat{'#', "team"}, Text: "hello"}},
	{"> @bob (hello) hi", Command{Op: OpReply, Chat: Chat{'@', "bob"}, Quote: "hello", Text: "hi"}},
	{">@bob (hello)hi", Command{Op: OpReply, Chat: Chat{'@', "bob"}, Quote: "hello", Text: "hi"}},
	{">> @bob (mine) more", Command{Op: OpReply, Chat: Chat{'@', "bob"}, Own: true, Quote: "mine", Text: "more"}},
	{"> #team (hello) hi", Command{Op: OpReply, Chat: Chat{'#', "team"}, Quote: "hello", Text: "hi"}},
	{"> #team @alice (hello) hi there", Command{Op: OpReply, Chat: Chat{'#', "team"}, Member: "alice", Quote: "hello", Text: "hi there"}},
	{">#team bob (hello, all good) will tell more", Command{Op: OpReply, Chat: Chat{'#', "team"}, Member: "bob", Quote: "hello, all good", Text: "will tell more"}},
	{"/g i club", Command{Op: OpNewGroup, Name: "club", Incognito: true}},
	{"/accept incognito bob", Command{Op: OpAccept, Name: "bob", Incognito: true}},
	{"/ac i @bob", Command{Op: OpAccept, Name: "bob", Incognito: true}},
	{"/auto_accept on incognito=on text hello!", Command{Op: OpAutoAccept, On: true, Incognito: true, Text: "hello!"}},
	{"! @bob (hello) hello there", Command{Op: OpEdit, Chat: Chat{'@', "bob"}, Quote: "hello", Text: "hello there"}},
	{"!@bob new text", Command{Op: OpEdit, Chat: Chat{'@', "bob"}, Text: "new text"}},
	{`\ @bob hello`, Command{Op: OpDeleteMsg, Chat: Chat{'@', "bob"}, Text: "hello"}},
	{`\#team hello`, Command{Op: OpDeleteMsg, Chat: Chat{'#', "team"}, Text: "hello"}},
	{"+1 @bob hi", Command{Op: OpReact, Chat: Chat{'@', "bob"}, Emoji: "👍", On: true, Text: "hi"}},
	{"+👍 bob hi", Command{Op: OpReact, Chat: Chat{'@', "bob"}, Emoji: "👍", On: true, Text: "hi"}},
	{"-1 @bob hi", Command{Op: OpReact, Chat: Chat{'@', "bob"}, Emoji: "👍", Text: "hi"}},
	{"+* #team hi", Command{Op: OpReact, Chat: Chat{'#', "team"}, Emoji: "❤️", On: true, Text: "hi"}},
	{"+❤️ @bob hi", Command{Op: OpReact, Chat: Chat{'@', "bob"}, Emoji: "❤️", On: true, Text: "hi"}},
	{"/tail", Command{Op: OpTail, Count: 10}},
	{"/tail @bob", Command{Op: OpTail, Chat: Chat{'@', "bob"}, Count: 10}},
	{"/tail #team 5", Command{Op: OpTail, Chat: Chat{'#', "team"}, Count: 5}},
	{"/t 3", Command{Op: OpTail, Count: 3}},
	{"/search hello", Command{Op: OpSearch, Count: 10, Text: "hello"}},
	{"/? @bob 2 hello world", Command{Op: OpSearch, Chat: Chat{'@', "bob"}, Count: 2, Text: "hello world"}},
	{"/g team", Command{Op: OpNewGroup, Name: "team"}},
	{"/g #team The Team", Command{Op: OpNewGroup, Name: "team", Text: "The Team"}},
	{"/group i team", Command{Op: OpNewGroup, Name: "team", Incognito: true}},
	{"/a team bob", Command{Op: OpAddMember, Name: "team", Member: "bob", Role: chatmsg.RoleMember}},
	{"/add #team @bob admin", Command{Op: OpAddMember, Name: "team", Member: "bob", Role: chatmsg.RoleAdmin}},
	{"/j team", Command{Op: OpJoin, Name: "team"}},
	{"/join #team", Command{Op: OpJoin, Name: "team"}},
	{"/create link #team", Command{Op: OpCreateGroupLink, Name: "team", Role: chatmsg.RoleMember}},
	{"/create link #team observer", Command{Op: OpCreateGroupLink, Name: "team", Role: chatmsg.RoleObserver}},
	{"/mr team bob observer", Command{Op: OpMemberRole, Name: "team", Member: "bob", Role: chatmsg.RoleObserver}},
	{"/rm team bob", Command{Op: OpRemoveMember, Name: "team", Member: "bob"}},
	{"/l team", Command{Op: OpLeave, Name: "team"}},
	{"/leave #team", Command{Op: OpLeave, Name: "team"}},
	{"/d #team", Command{Op: OpDeleteGroup, Name: "team"}},
	{"/ms team", Command{Op: OpMembers, Name: "team"}},
	{"/gs", Command{Op: OpGroups}},
	{"/feed hello all", Command{Op: OpFeed, Text: "hello all"}},
	{"/incognito on", Command{Op: OpIncognito, On: true}},
	{"/incognito off", Command{Op: OpIncognito}},
	{"/code @bob", Command{Op: OpCode, Name: "bob"}},
	{"/code bob", Command{Op: OpCode, Name: "bob"}},
	{"/verify @bob 12345 67890", Command{Op: OpVerify, Name: "bob", Text: "12345 67890"}},
	{"/switch @bob", Command{Op: OpSwitch, Name: "bob"}},
	{"/set disappear @bob yes 5min", Command{Op: OpSetDisappear, Name: "bob", On: true, Count: 300}},
	{"/set disappear bob yes", Command{Op: OpSetDisappear, Name: "bob", On: true, Count: 86400}},
	{"/set disappear @bob yes 30", Command{Op: OpSetDisappear, Name: "bob", On: true, Count: 30}},
	{"/set disappear @bob no", Command{Op: OpSetDisappear, Name: "bob"}},
	{"/code #team @bob", Command{Op: OpMemberCode, Name: "team", Member: "bob"}},
	{"/verify #team bob 123 45", Command{Op: OpMemberVerify, Name: "team", Member: "bob", Text: "123 45"}},
	{"/switch #team @bob", Command{Op: OpMemberSwitch, Name: "team", Member: "bob"}},
	{"/sync #team @bob force=on", Command{Op: OpMemberSync, Name: "team", Member: "bob", On: true}},
	{"/sync bob force=on", Command{Op: OpSync, Name: "bob", On: true}},
	{"/smp", Command{Op: OpServers}},
	{"/smp smp://a@b", Command{Op: OpSetServers, Text: "smp://a@b"}},
	{"/smp test smp://a@b", Command{Op: OpTestServer, Text: "smp://a@b"}},
	{"/p", Command{Op: OpShowProfile}},
	{"/p alice Alice Smith", Command{Op: OpUpdateProfile, Name: "alice", Text: "Alice Smith"}},
	{"/users", Command{Op: OpUsers}},
	{"/create user bob Bob", Command{Op: OpCreateUser, Name: "bob", Text: "Bob"}},
	{"/user bob", Command{Op: OpSetUser, Name: "bob"}},
	{"/user", Command{Op: OpShowUser}},
	{"/hide user secret", Command{Op: OpHideUser, Text: "secret"}},
	{"/unhide user secret", Command{Op: OpUnhideUser, Text: "secret"}},
	{"/mute user", Command{Op: OpMuteUser}},
	{"/unmute user", Command{Op: OpUnmuteUser}},
	{"/user bob secret", Command{Op: OpSetUser, Name: "bob", Text: "secret"}},
	{"/delete user bob", Command{Op: OpDeleteUser, Name: "bob"}},
	{"/j simplex:/contact#/?v=2-7&smp=x", Command{Op: OpJoin, Name: "simplex:/contact#/?v=2-7&smp=x"}},
	{"/show link #team", Command{Op: OpShowGroupLink, Name: "team"}},
	{"/delete link #team", Command{Op: OpDeleteGroupLink, Name: "team"}},
	{"/gp team newname New Name", Command{Op: OpGroupProfile, Name: "team", Member: "newname", Text: "New Name"}},
	{"/help", Command{Op: OpHelp}},
	{"/help groups", Command{Op: OpHelp, Section: "groups"}},
	{"/hm", Command{Op: OpHelp, Section: "messages"}},
	{"/contacts", Command{Op: OpContacts}},
	{"/chats", Command{Op: OpChats, Count: 20}},
	{"/cs 5", Command{Op: OpChats, Count: 5}},
	{"/chats all", Command{Op: OpChats}},
	{"/i @bob", Command{Op: OpInfo, Name: "bob"}},
	{"/info #team", Command{Op: OpGroupInfo, Name: "team"}},
	{"/q", Command{Op: OpQuit}},
	{"/c   ", Command{Op: OpConnect}}, // trailing spaces are ignored
}

func TestParse(t *testing.T) {
	for _, c := range parseCases {
		got, err := Parse(c.line)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.line, err)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", c.line, diff)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, line := range []string{
		"", "   ", "hello", "/nope", "@bob", "@ hi", "@#x hi", "/c a b", "/a team", "/mr team bob boss",
		"+1 @bob", "> @bob hi", "/verify @bob abc", "/tail @", "/search", "@'bob hi", "\xff\xfe", "/auto_accept maybe",
		"/g", "#team", "! @bob", `\\ #team @bob x`, "/chats x",
	} {
		c, err := Parse(line)
		if err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", line, c)
			continue
		}
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q): %v does not wrap ErrSyntax", line, err)
		}
	}
}

func TestKindOfLink(t *testing.T) {
	for link, want := range map[string]string{
		"simplex:/invitation#/?v=2-7&smp=x":             "invitation",
		"https://simplex.chat/invitation#/?v=2-7":       "invitation",
		"simplex:/contact#/?v=2-7&smp=x":                "contact",
		"https://simplex.chat/contact#/?v=2-7&smp=x":    "contact",
		"simplex:/contact#/?v=2&data=%7B%22groupLinkId": "group",
		"hello":           "",
		"simplex:/other#": "",
	} {
		if got := kindOfLink(link); got != want {
			t.Errorf("kindOfLink(%q) = %q, want %q", link, got, want)
		}
	}
}

package chatcmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/chat"
	"github.com/smpkit/smpkit/reference/chatmsg"
)

// check compares apiValue(v) as JSON with want (written with any spacing).
func check(t *testing.T, v any, want string) {
	t.Helper()
	got, err := marshal(apiValue(v))
	if err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	if err := json.Compact(&w, []byte(want)); err != nil {
		t.Fatalf("bad want: %v", err)
	}
	if string(got) != w.String() {
		t.Errorf("got  %s\nwant %s", got, w.String())
	}
}

func str(s string) *string { return &s }

var (
	ts    = time.Date(2026, 12, 1, 14, 30, 5, 123_000_000, time.UTC)
	alice = chatmsg.Profile{DisplayName: "alice", FullName: "Alice", Extra: chatmsg.Object{"shortDescr": json.RawMessage(`"Alice"`)}}
	bob   = chatmsg.Profile{DisplayName: "bob", FullName: ""}
)

// upstream's tests/JSONFixtures.hs userJSON: user 1, "alice", default
// preferences, active.
const upstreamUser = `{"userId":1,"agentUserId":"1","userContactId":1,"localDisplayName":"alice","profile":{"profileId":1,"displayName":"alice","fullName":"","shortDescr":"Alice","localAlias":""},"fullPreferences":{"timedMessages":{"allow":"yes"},"fullDelete":{"allow":"no"},"reactions":{"allow":"yes"},"voice":{"allow":"yes"},"files":{"allow":"always"},"calls":{"allow":"yes"},"sessions":{"allow":"no"},"commands":[]},"activeUser":true,"activeOrder":1,"showNtfs":true,"sendRcptsContacts":true,"sendRcptsSmallGroups":true,"autoAcceptMemberContacts":false,"userChatRelay":false}`

func TestUserJSON(t *testing.T) {
	u := chat.User{ID: 1, Active: true, Profile: chatmsg.Profile{DisplayName: "alice", Extra: chatmsg.Object{"shortDescr": json.RawMessage(`"Alice"`)}}}
	check(t, u, `{"activeUser":true,
		"fullPreferences":{"calls":{"allow":"yes"},"commands":[],"files":{"allow":"always"},"fullDelete":{"allow":"no"},"reactions":{"allow":"yes"},"sessions":{"allow":"no"},"timedMessages":{"allow":"yes"},"voice":{"allow":"yes"}},
		"localDisplayName":"alice",
		"profile":{"displayName":"alice","fullName":"","localAlias":"","shortDescr":"Alice"},
		"userId":1}`)

	// Every field we write has upstream's value for the same user; the
	// fields we leave out are the ones listed in userJSON's comment.
	var up, ours map[string]any
	if err := json.Unmarshal([]byte(upstreamUser), &up); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(apiValue(u))
	json.Unmarshal(b, &ours)
	for _, k := range []string{"agentUserId", "userContactId", "activeOrder", "showNtfs", "sendRcptsContacts", "sendRcptsSmallGroups", "autoAcceptMemberContacts", "userChatRelay"} {
		delete(up, k)
	}
	delete(up["profile"].(map[string]any), "profileId")
	if d := cmp.Diff(up, ours); d != "" {
		t.Errorf("differs from upstream's JSONFixtures userJSON (-upstream +ours):\n%s", d)
	}
}

func TestUserPreferencesOverrideDefaults(t *testing.T) {
	u := chat.User{ID: 2, Profile: chatmsg.Profile{DisplayName: "bot", Preferences: &chatmsg.Preferences{FullDelete: &chatmsg.Preference{Allow: "yes"}, TimedMessages: &chatmsg.Preference{Allow: "yes", TTL: new(int64(86400))}}}}
	check(t, u, `{"activeUser":false,
		"fullPreferences":{"calls":{"allow":"yes"},"commands":[],"files":{"allow":"always"},"fullDelete":{"allow":"yes"},"reactions":{"allow":"yes"},"sessions":{"allow":"no"},"timedMessages":{"allow":"yes","ttl":86400},"voice":{"allow":"yes"}},
		"localDisplayName":"bot",
		"profile":{"displayName":"bot","fullName":"","localAlias":"","preferences":{"fullDelete":{"allow":"yes"},"timedMessages":{"allow":"yes","ttl":86400}}},
		"userId":2}`)
}

func TestContactJSON(t *testing.T) {
	c := chat.Contact{ID: 2, UserID: 1, LocalName: "bob", Profile: &bob, Status: chat.StatusConnected}
	check(t, c, `{"activeConn":{"connStatus":"ready","connType":"contact","contactConnInitiated":false,"localAlias":""},
		"contactId":2,"contactStatus":"active","localDisplayName":"bob",
		"profile":{"displayName":"bob","fullName":"","localAlias":""}}`)
	// Before the profile comes: no name yet, an invitation we made.
	check(t, &chat.Contact{ID: 3, Status: chat.StatusInvited}, `{"activeConn":{"connStatus":"new","connType":"contact","contactConnInitiated":true,"localAlias":""},
		"contactId":3,"contactStatus":"active","localDisplayName":"",
		"profile":{"displayName":"","fullName":"","localAlias":""}}`)
	check(t, chat.Contact{ID: 4, LocalName: "bob_1", Profile: &bob, Status: chat.StatusDeletedByPeer}, `{"activeConn":{"connStatus":"deleted","connType":"contact","contactConnInitiated":false,"localAlias":""},
		"contactId":4,"contactStatus":"deleted","localDisplayName":"bob_1",
		"profile":{"displayName":"bob","fullName":"","localAlias":""}}`)
	check(t, (*chat.Contact)(nil), `null`)
}

func TestProfileJSON(t *testing.T) {
	p := chatmsg.Profile{DisplayName: "alice", FullName: "Alice A", Image: str("data:image/png;base64,AA=="), ContactLink: str("simplex:/contact#/?v=2"), Preferences: &chatmsg.Preferences{Reactions: &chatmsg.Preference{Allow: "no"}}, Extra: chatmsg.Object{"peerType": json.RawMessage(`"bot"`)}}
	check(t, p, `{"contactLink":"simplex:/contact#/?v=2","displayName":"alice","fullName":"Alice A","image":"data:image/png;base64,AA==","peerType":"bot","preferences":{"reactions":{"allow":"no"}}}`)
}

func TestItemJSON(t *testing.T) {
	sent := chat.Item{ID: 10, UserID: 1, ContactID: 2, Sent: true, SharedID: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, Content: chatmsg.Content{Type: "text", Text: "hello", HasText: true}, Text: "hello", Status: chat.ItemDelivered, Edited: true, Reactions: []chat.Reaction{{Emoji: "👍", Sent: false}, {Emoji: "❤️", Sent: true}, {Emoji: "👍", Sent: true}}, CreatedAt: ts}
	check(t, sent, `{"chatDir":{"type":"directSnd"},
		"content":{"msgContent":{"text":"hello","type":"text"},"type":"sndMsgContent"},
		"mentions":{},
		"meta":{"createdAt":"2026-12-01T14:30:05.123Z","itemEdited":true,"itemId":10,"itemSharedMsgId":"AQIDBAUGBwgJCgsM",
			"itemStatus":{"msgRcptStatus":"ok","sndProgress":"complete","type":"sndRcvd"},
			"itemText":"hello","itemTs":"2026-12-01T14:30:05.123Z","showGroupAsSender":false,"userMention":false},
		"reactions":[{"reaction":{"emoji":"👍","type":"emoji"},"totalReacted":2,"userReacted":true},{"reaction":{"emoji":"❤️","type":"emoji"},"totalReacted":1,"userReacted":true}]}`)

	rcvd := chat.Item{ID: 11, ContactID: 2, Content: chatmsg.Content{Type: "text", Text: "bye", HasText: true}, Text: "bye", Status: chat.ItemReceived, Deleted: true, QuoteID: 10, CreatedAt: ts.Add(time.Second)}
	check(t, &rcvd, `{"chatDir":{"type":"directRcv"},
		"content":{"msgContent":{"text":"bye","type":"text"},"type":"rcvMsgContent"},
		"mentions":{},
		"meta":{"createdAt":"2026-12-01T14:30:06.123Z","itemDeleted":{"chatType":"direct","type":"deleted"},"itemEdited":false,"itemId":11,
			"itemStatus":{"type":"rcvNew"},"itemText":"bye","itemTs":"2026-12-01T14:30:06.123Z","quotedItemId":10,"showGroupAsSender":false,"userMention":false},
		"reactions":[]}`)
}

func TestItemStatusJSON(t *testing.T) {
	for st, want := range map[chat.ItemStatus]string{
		chat.ItemSending:   `{"type":"sndNew"}`,
		chat.ItemSent:      `{"sndProgress":"complete","type":"sndSent"}`,
		chat.ItemDelivered: `{"msgRcptStatus":"ok","sndProgress":"complete","type":"sndRcvd"}`,
		chat.ItemReceived:  `{"type":"rcvNew"}`,
	} {
		check(t, itemStatusJSON(st), want)
	}
}

func TestMsgContentJSON(t *testing.T) {
	check(t, chatmsg.Content{Type: "link", Text: "see https://x.org", HasText: true, Preview: &chatmsg.LinkPreview{URI: "https://x.org", Title: "X", Description: "d", Image: "data:image/jpg;base64,AA=="}},
		`{"preview":{"description":"d","image":"data:image/jpg;base64,AA==","title":"X","uri":"https://x.org"},"text":"see https://x.org","type":"link"}`)
	check(t, chatmsg.Content{Type: "image", Text: "", HasText: true, Image: str("data:image/jpg;base64,AA==")},
		`{"image":"data:image/jpg;base64,AA==","text":"","type":"image"}`)
	// A type ours does not know: upstream's MsgContent "unknown" {tag, text, json}.
	check(t, chatmsg.Content{Type: "voice", Text: "", HasText: true, Extra: chatmsg.Object{"duration": json.RawMessage(`12`)}},
		`{"json":{"duration":12,"text":"","type":"voice"},"tag":"voice","text":"","type":"unknown"}`)
}

var team = chat.Group{ID: 5, UserID: 1, Profile: chatmsg.GroupProfile{DisplayName: "team", FullName: "The team", Description: str("welcome"), GroupPreferences: &chatmsg.GroupPreferences{DirectMessages: &chatmsg.GroupPreference{Enable: "on", Role: new(chatmsg.RoleAdmin)}, History: &chatmsg.GroupPreference{Enable: "on"}}}, MemberID: []byte("memberid-alice"), Role: chatmsg.RoleOwner, Status: chat.GroupActive}

func TestGroupJSON(t *testing.T) {
	check(t, team, `{"groupId":5,
		"groupProfile":{"description":"welcome","displayName":"team","fullName":"The team","groupPreferences":{"directMessages":{"enable":"on","role":"admin"},"history":{"enable":"on"}}},
		"localAlias":"","localDisplayName":"team",
		"membership":{"groupId":5,"memberCategory":"user","memberId":"bWVtYmVyaWQtYWxpY2U=","memberRole":"owner","memberStatus":"connected"}}`)
}

func TestMemberJSON(t *testing.T) {
	m := chat.Member{ID: 7, GroupID: 5, MemberID: []byte("memberid-bob"), Role: chatmsg.RoleMember, Profile: &bob, Status: chat.MemberReady, Host: true}
	check(t, m, `{"groupId":5,"groupMemberId":7,"localDisplayName":"bob","memberCategory":"host","memberId":"bWVtYmVyaWQtYm9i","memberProfile":{"displayName":"bob","fullName":"","localAlias":""},"memberRole":"member","memberStatus":"connected"}`)
	check(t, chat.Member{ID: 8, GroupID: 5, MemberID: []byte{0xff}, Role: chatmsg.RoleAdmin, Status: chat.MemberInvited},
		`{"groupId":5,"groupMemberId":8,"localDisplayName":"","memberCategory":"invitee","memberId":"_w==","memberProfile":{"displayName":"","fullName":"","localAlias":""},"memberRole":"admin","memberStatus":"invited"}`)
}

func TestAChatItemJSON(t *testing.T) {
	c := chat.Contact{ID: 2, LocalName: "bob", Profile: &bob, Status: chat.StatusConnected}
	it := chat.Item{ID: 11, ContactID: 2, Content: chatmsg.Content{Type: "text", Text: "hi", HasText: true}, Text: "hi", Status: chat.ItemReceived, CreatedAt: ts}
	check(t, []AChatItem{{Contact: &c, Item: &it}}, `[{"chatInfo":{"contact":{"activeConn":{"connStatus":"ready","connType":"contact","contactConnInitiated":false,"localAlias":""},"contactId":2,"contactStatus":"active","localDisplayName":"bob","profile":{"displayName":"bob","fullName":"","localAlias":""}},"type":"direct"},
		"chatItem":{"chatDir":{"type":"directRcv"},"content":{"msgContent":{"text":"hi","type":"text"},"type":"rcvMsgContent"},"mentions":{},
		"meta":{"createdAt":"2026-12-01T14:30:05.123Z","itemEdited":false,"itemId":11,"itemStatus":{"type":"rcvNew"},"itemText":"hi","itemTs":"2026-12-01T14:30:05.123Z","showGroupAsSender":false,"userMention":false},"reactions":[]}}]`)

	m := chat.Member{ID: 7, GroupID: 5, MemberID: []byte("memberid-bob"), Role: chatmsg.RoleMember, Profile: &bob, Status: chat.MemberReady}
	gi := chat.GroupItem{ID: 20, GroupID: 5, UserID: 1, Author: 7, Content: chatmsg.Content{Type: "text", Text: "hello team", HasText: true}, Text: "hello team", CreatedAt: ts}
	got, _ := json.Marshal(apiValue(AChatItem{Group: &team, Member: &m, GroupItem: &gi}))
	var v struct {
		ChatInfo struct {
			Type      string
			GroupInfo struct{ GroupID int64 }
		}
		ChatItem struct {
			ChatDir struct {
				Type        string
				GroupMember struct {
					GroupMemberID    int64
					LocalDisplayName string
				}
			}
			Meta struct{ ItemText string }
		}
	}
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatal(err)
	}
	if v.ChatInfo.Type != "group" || v.ChatInfo.GroupInfo.GroupID != 5 || v.ChatItem.ChatDir.Type != "groupRcv" ||
		v.ChatItem.ChatDir.GroupMember.GroupMemberID != 7 || v.ChatItem.ChatDir.GroupMember.LocalDisplayName != "bob" || v.ChatItem.Meta.ItemText != "hello team" {
		t.Errorf("group item: %s", got)
	}
	check(t, groupItemJSON(chat.GroupItem{ID: 21, GroupID: 5, Sent: true, Content: chatmsg.Content{Type: "text", Text: "mine", HasText: true}, Text: "mine", CreatedAt: ts}, nil)["chatDir"], `{"type":"groupSnd"}`)
}

func TestAddressAndRequestJSON(t *testing.T) {
	check(t, chat.Address{UserID: 1, Link: "simplex:/contact#/?v=2-7&smp=x", AutoAccept: true, Welcome: "hi, I echo"},
		`{"addressSettings":{"autoAccept":{"acceptIncognito":false},"autoReply":{"text":"hi, I echo","type":"text"},"businessAddress":false},"connLinkContact":{"connFullLink":"simplex:/contact#/?v=2-7&smp=x"}}`)
	check(t, chat.Address{Link: "simplex:/contact#x"}, `{"addressSettings":{"businessAddress":false},"connLinkContact":{"connFullLink":"simplex:/contact#x"}}`)
	check(t, chat.Request{ID: 3, UserID: 1, Profile: &alice}, `{"contactRequestId":3,"localDisplayName":"alice","profile":{"displayName":"alice","fullName":"Alice","shortDescr":"Alice"}}`)
	check(t, ConnLink("simplex:/invitation#x"), `{"connFullLink":"simplex:/invitation#x"}`)
}

// A Response writes its Fields through apiValue, beside "type".
func TestResponseJSON(t *testing.T) {
	r := Response{Type: "contactConnected", Fields: map[string]any{
		"user":    chat.User{ID: 1, Active: true, Profile: bob},
		"contact": chat.Contact{ID: 2, LocalName: "alice", Profile: &alice, Status: chat.StatusConnected},
	}, Lines: []string{"alice: contact is connected"}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Type    string
		User    struct{ UserID int64 }
		Contact struct {
			ContactID        int64
			LocalDisplayName string
			Profile          struct{ ShortDescr string }
		}
		Lines any
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v.Type != "contactConnected" || v.User.UserID != 1 || v.Contact.ContactID != 2 || v.Contact.LocalDisplayName != "alice" || v.Contact.Profile.ShortDescr != "Alice" || v.Lines != nil {
		t.Errorf("got %s", b)
	}
	b, err = EncodeAPI(Response{Type: "invitation", Fields: map[string]any{"connLinkInvitation": ConnLink("simplex:/invitation#/?v=2&smp=a")}})
	if want := `{"connLinkInvitation":{"connFullLink":"simplex:/invitation#/?v=2&smp=a"},"type":"invitation"}`; err != nil || string(b) != want {
		t.Errorf("EncodeAPI: got %s, %v; want %s", b, err, want)
	}
	check(t, Response{Type: "chatCmdError", Fields: map[string]any{"chatError": errors.New("no contact bob")}},
		`{"chatError":{"errorType":{"message":"no contact bob","type":"commandError"},"type":"error"},"type":"chatCmdError"}`)
	check(t, map[string]any{"at": ts.In(time.FixedZone("x", 3600)), "role": chatmsg.RoleAdmin, "n": 1}, `{"at":"2026-12-01T14:30:05.123Z","n":1,"role":"admin"}`)
}

func TestKeyedFieldsJSON(t *testing.T) {
	c := chat.Contact{ID: 3, UserID: 1, Status: chat.StatusInvited}
	b, err := EncodeAPI(Response{Type: "invitation", Fields: map[string]any{"connLinkInvitation": "simplex:/invitation#/?v=2&x=1", "connection": c}})
	want := `{"connLinkInvitation":{"connFullLink":"simplex:/invitation#/?v=2&x=1"},"connection":{"localAlias":"","pccConnId":3,"pccConnStatus":"new","viaContactUri":false},"type":"invitation"}`
	if err != nil || string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	b, _ = EncodeAPI(Response{Type: "sentInvitation", Fields: map[string]any{"connection": chat.Contact{ID: 4, Status: chat.StatusRequested}}})
	if want := `{"connection":{"localAlias":"","pccConnId":4,"pccConnStatus":"joined","viaContactUri":true},"type":"sentInvitation"}`; string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	// Elsewhere a contact is a Contact.
	b, _ = EncodeAPI(Response{Type: "contactDeleted", Fields: map[string]any{"contact": c}})
	if !bytes.Contains(b, []byte(`"contact":{"activeConn"`)) {
		t.Errorf("got %s", b)
	}
}

func TestChatErrorJSON(t *testing.T) {
	check(t, ChatError{Type: "noActiveUser", Message: "no active user"}, `{"errorType":{"message":"no active user","type":"noActiveUser"},"type":"error"}`)
	check(t, &ChatError{Type: "commandError", Message: "bad"}, `{"errorType":{"message":"bad","type":"commandError"},"type":"error"}`)
	var e error = ChatError{Type: "notSupported", Message: "/x: not supported yet"}
	check(t, e, `{"errorType":{"message":"/x: not supported yet","type":"notSupported"},"type":"error"}`)
}

func TestDeletionAndReactionJSON(t *testing.T) {
	c := chat.Contact{ID: 2, LocalName: "bob", Profile: &bob, Status: chat.StatusConnected}
	it := chat.Item{ID: 11, ContactID: 2, Sent: true, Content: chatmsg.Content{Type: "text", Text: "hi", HasText: true}, Text: "hi", Status: chat.ItemSent, CreatedAt: ts}
	del := it
	del.Deleted = true
	var d struct {
		DeletedChatItem struct {
			ChatItem struct{ Meta struct{ ItemDeleted any } }
		}
		ToChatItem struct {
			ChatInfo struct{ Type string }
			ChatItem struct {
				Meta struct {
					ItemDeleted struct{ Type, ChatType string }
				}
			}
		}
	}
	b, _ := marshal(apiValue(ChatItemDeletion{Deleted: AChatItem{Contact: &c, Item: &it}, To: &AChatItem{Contact: &c, Item: &del}}))
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.DeletedChatItem.ChatItem.Meta.ItemDeleted != nil || d.ToChatItem.ChatInfo.Type != "direct" || d.ToChatItem.ChatItem.Meta.ItemDeleted.Type != "deleted" || d.ToChatItem.ChatItem.Meta.ItemDeleted.ChatType != "direct" {
		t.Errorf("deletion: %s", b)
	}
	check(t, apiValue(ChatItemDeletion{Deleted: AChatItem{Contact: &c, Item: &it}}).(obj)["toChatItem"], `null`)

	b, _ = marshal(apiValue(Reaction{ChatItem: AChatItem{Contact: &c, Item: &it}, Emoji: "👍"}))
	var r struct {
		ChatInfo     struct{ Type string }
		ChatReaction struct {
			ChatDir  struct{ Type string }
			ChatItem struct{ Meta struct{ ItemID int64 } }
			Reaction struct{ Type, Emoji string }
		}
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.ChatInfo.Type != "direct" || r.ChatReaction.ChatDir.Type != "directRcv" || r.ChatReaction.ChatItem.Meta.ItemID != 11 || r.ChatReaction.Reaction != (struct{ Type, Emoji string }{"emoji", "👍"}) {
		t.Errorf("reaction: %s", b)
	}
}

func TestMsgErrorJSON(t *testing.T) {
	check(t, agent.MsgIntegrity{Err: agent.MsgSkipped, FromMsgID: 3, ToMsgID: 5}, `{"fromMsgId":3,"toMsgId":5,"type":"msgSkipped"}`)
	check(t, agent.MsgIntegrity{Err: agent.MsgBadID, MsgID: 2}, `{"msgId":2,"type":"msgBadId"}`)
	check(t, agent.MsgIntegrity{Err: agent.MsgBadHash}, `{"type":"msgBadHash"}`)
	check(t, agent.MsgIntegrity{Err: agent.MsgDuplicate}, `{"type":"msgDuplicate"}`)
}

func TestGroupMembersJSON(t *testing.T) {
	m := chat.Member{ID: 7, GroupID: 5, MemberID: []byte("m"), Role: chatmsg.RoleMember, Status: chat.MemberReady}
	b, err := EncodeAPI(Response{Type: "groupMembers", Fields: map[string]any{"groupInfo": team, "members": []chat.Member{m}}})
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		GroupInfo struct{ GroupID int64 }
		Members   []struct{ GroupMemberID int64 }
		Group     struct {
			GroupInfo struct{ GroupID int64 }
			Members   []struct{ GroupMemberID int64 }
		}
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v.GroupInfo.GroupID != 5 || v.Group.GroupInfo.GroupID != 5 || len(v.Members) != 1 || len(v.Group.Members) != 1 || v.Group.Members[0].GroupMemberID != 7 {
		t.Errorf("got %s", b)
	}
}

func TestUsersListJSON(t *testing.T) {
	b, err := EncodeAPI(Response{Type: "usersList", Fields: map[string]any{"users": []chat.User{{ID: 1, Active: true, Profile: bob}}}})
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Users []struct {
			User struct {
				UserID           int64
				LocalDisplayName string
				ActiveUser       bool
			}
		}
	}
	if err := json.Unmarshal(b, &v); err != nil || len(v.Users) != 1 || v.Users[0].User.UserID != 1 || v.Users[0].User.LocalDisplayName != "bob" || !v.Users[0].User.ActiveUser {
		t.Errorf("got %s (%v)", b, err)
	}
}

func TestPeerBroadcastEventJSON(t *testing.T) {
	check(t, chat.Peer{UserID: 1, ContactID: 2}, `{"contactId":2,"userId":1}`)
	check(t, chat.Peer{UserID: 1, GroupID: 5, MemberID: 7}, `{"groupId":5,"groupMemberId":7,"userId":1}`)
	check(t, chat.Broadcast{ID: 3, Text: "news", CreatedAt: ts, Items: []chat.Item{{ID: 10}, {ID: 11}}},
		`{"broadcastId":3,"chatItemIds":[10,11],"createdAt":"2026-12-01T14:30:05.123Z","itemDeleted":false,"itemEdited":false,"itemText":"news"}`)
	check(t, chat.QueueSwitched{Peer: chat.Peer{UserID: 1}}, `{"eventType":"QueueSwitched"}`)
}

func TestTimedItemJSON(t *testing.T) {
	it := chat.Item{ID: 12, Sent: true, Content: chatmsg.Content{Type: "text", Text: "soon gone", HasText: true}, Text: "soon gone", Status: chat.ItemSent, CreatedAt: ts, TTL: 30 * time.Second, DeleteAt: ts.Add(30 * time.Second)}
	check(t, itemJSON(it)["meta"].(obj)["itemTimed"], `{"deleteAt":"2026-12-01T14:30:35.123Z","ttl":30}`)
	it.DeleteAt = time.Time{}
	check(t, itemJSON(it)["meta"].(obj)["itemTimed"], `{"ttl":30}`)
	it.TTL = 0
	check(t, itemJSON(it)["meta"].(obj)["itemTimed"], `null`)
}

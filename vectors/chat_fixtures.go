package vectors

import (
	"encoding/json"
	"time"

	cm "github.com/smpkit/smpkit/reference/chatmsg"
)

// Fixed inputs of vectors/chat/events.json: one or more messages per event
// of spec/chat.md §6-§8, every id from Rand.

func cid(label string) []byte { return RandBytes("chat "+label, 12) }

func sp(s string) *string { return &s }
func ip(n int64) *int64   { return &n }
func bp(b bool) *bool     { return &b }

const (
	fxImg     = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
	fxConnReq = upConn
)

var fxTime = time.Date(2026, 12, 1, 9, 30, 0, 250_000_000, time.UTC)

func fxAlice() *cm.Profile {
	return &cm.Profile{DisplayName: "alice", FullName: "Alice Liddell", Image: sp(fxImg), ContactLink: sp("simplex:/contact#/?v=2-7&smp=smp%3A%2F%2Fexample"),
		Preferences: &cm.Preferences{TimedMessages: &cm.Preference{Allow: "yes", TTL: ip(86400)}, FullDelete: &cm.Preference{Allow: "no"}, Reactions: &cm.Preference{Allow: "always"}}}
}

func fxBob() *cm.Profile { return &cm.Profile{DisplayName: "bob", FullName: ""} }

func fxTeam() *cm.GroupProfile {
	role := cm.RoleMember
	return &cm.GroupProfile{DisplayName: "team", FullName: "The Team", Description: sp("Welcome to the team!"),
		GroupPreferences: &cm.GroupPreferences{DirectMessages: &cm.GroupPreference{Enable: "off"}, Voice: &cm.GroupPreference{Enable: "on", Role: &role}, History: &cm.GroupPreference{Enable: "on"}, TimedMessages: &cm.GroupPreference{Enable: "on", TTL: ip(3600)}}}
}

func fxMemberInfo(label string, role cm.Role, p *cm.Profile) *cm.MemberInfo {
	v := cm.Supported
	return &cm.MemberInfo{MemberID: cid("member " + label), Role: role, V: &v, Profile: p.Redacted()}
}

func fxText(s string) *cm.Content { return &cm.Content{Type: cm.ContentText, Text: s, HasText: true} }

type fxEvent struct {
	id, spec, comment string
	msgID             []byte
	ev                cm.Event
}

func chatFixtures() []fxEvent {
	probe := RandBytes("chat probe", 32)
	probeHash := cm.ProbeHash(probe)
	ref := &cm.MsgRef{MsgID: cid("msg 1"), SentAt: fxTime, Sent: false, MemberID: cid("member alice")}
	inner := &cm.Message{V: cm.Supported, MsgID: cid("msg fwd"), Event: &cm.MsgNew{Container: cm.Container{Content: fxText("sent before we were connected")}}}
	return []fxEvent{
		{"x-info", "CH-CONN-1", "profile in the invitation handshake", nil, &cm.Info{Profile: fxAlice()}},
		{"x-info-minimal", "CH-PROF-1", "empty full name, nothing optional", nil, &cm.Info{Profile: fxBob()}},
		{"x-contact", "CH-CONN-2", "request to an address", nil, &cm.Contact{Profile: fxBob(), ContactReqID: cid("xcontact")}},
		{"x-contact-with-message", "CH-CONN-2", "request with the welcome message seen and a first message", nil,
			&cm.Contact{Profile: fxBob(), ContactReqID: cid("xcontact"), WelcomeMsgID: cid("welcome"), ReqMsgID: cid("req msg"), ReqContent: fxText("hi, it's Bob")}},
		{"x-ok", "CH-CONN-3", "", nil, &cm.OK{}},
		{"x-direct-del", "CH-CONN-4", "", nil, &cm.DirectDel{}},
		{"x-info-probe", "CH-PROBE-1", "32 random bytes", nil, &cm.Probe{Probe: probe}},
		{"x-info-probe-check", "CH-PROBE-2", "SHA-256 of the probe above", nil, &cm.ProbeCheck{ProbeHash: probeHash}},
		{"x-info-probe-ok", "CH-PROBE-3", "", nil, &cm.ProbeOK{Probe: probe}},
		{"x-msg-new-text", "CH-MSG-NEW-1", "", cid("msg 1"), &cm.MsgNew{Container: cm.Container{Content: fxText("hello 👋 \"world\"\n")}}},
		{"x-msg-new-timed-live", "CH-MSG-NEW-2", "disappears an hour after it is read; live", cid("msg 2"),
			&cm.MsgNew{Container: cm.Container{Content: fxText("typing…"), TTL: ip(3600), Live: bp(true)}}},
		{"x-msg-new-link", "CH-CONTENT-2", "", cid("msg 3"), &cm.MsgNew{Container: cm.Container{Content: &cm.Content{Type: cm.ContentLink, Text: "see https://example.org/", HasText: true,
			Preview: &cm.LinkPreview{URI: "https://example.org/", Title: "Example", Description: "An example page", Image: fxImg}}}}},
		{"x-msg-new-image", "CH-CONTENT-1", "preview only; the picture is a file", cid("msg 4"), &cm.MsgNew{Container: cm.Container{Content: &cm.Content{Type: cm.ContentImage, Text: "", HasText: true, Image: sp(fxImg)},
			File: &cm.FileInvitation{FileName: "cat.jpg", FileSize: 48213}}}},
		{"x-msg-new-file", "CH-FILE-1", "an offer, shown and not accepted", cid("msg 5"), &cm.MsgNew{Container: cm.Container{Content: &cm.Content{Type: cm.ContentFile, Text: "the report", HasText: true},
			File: &cm.FileInvitation{FileName: "report.pdf", FileSize: 1048576, FileDigest: RandBytes("chat file digest", 32), Extra: cm.Object{"fileInline": json.RawMessage(`"offer"`)}}}}},
		{"x-msg-new-quote", "CH-MSG-NEW-3", "a reply in a group", cid("msg 6"), &cm.MsgNew{Container: cm.Container{Content: fxText("agreed"), Quote: &cm.Quote{MsgRef: ref, Content: fxText("shall we?")}}}},
		{"x-msg-new-forward", "CH-MSG-NEW-5", "", cid("msg 7"), &cm.MsgNew{Container: cm.Container{Content: fxText("forwarded"), Forward: json.RawMessage(`true`)}}},
		{"x-msg-new-mentions-scope", "CH-MSG-NEW-1", "mention and member side chat", cid("msg 8"), &cm.MsgNew{Container: cm.Container{Content: fxText("@alice look"),
			Mentions: cm.Mentions{"alice": {MemberID: cid("member alice")}}, Scope: &cm.Scope{MemberID: cid("member bob")}}}},
		{"x-msg-new-unknown-content", "CH-CONTENT-3", "voice is outside this revision: kept, shown by its text", cid("msg 9"),
			&cm.MsgNew{Container: cm.Container{Content: &cm.Content{Type: "voice", Text: "", HasText: true, Extra: cm.Object{"duration": json.RawMessage(`12`)}}}}},
		{"x-msg-new-unknown-content-no-text", "CH-CONTENT-3", "shown as \"unknown message type\"", cid("msg 10"),
			&cm.MsgNew{Container: cm.Container{Content: &cm.Content{Type: "poll", Extra: cm.Object{"options": json.RawMessage(`["a","b"]`)}}}}},
		{"x-msg-update", "CH-MSG-UPD-1", "", nil, &cm.MsgUpdate{MsgID: cid("msg 1"), Content: fxText("hello, edited"), Live: bp(false)}},
		{"x-msg-update-group", "CH-MSG-UPD-1", "every optional param: mentions, ttl, live, scope", nil, &cm.MsgUpdate{MsgID: cid("msg 8"), Content: fxText("@alice @carol look"),
			Mentions: cm.Mentions{"alice": {MemberID: cid("member alice")}, "carol": {MemberID: cid("member carol")}}, TTL: ip(600), Live: bp(true), Scope: &cm.Scope{MemberID: cid("member bob")}}},
		{"x-msg-new-parent", "CH-MSG-NEW-4", "a comment on a channel post (parent), decoded and kept", cid("msg 12"), &cm.MsgNew{Container: cm.Container{Content: fxText("nice post"),
			Parent: &cm.MsgRef{MsgID: cid("msg post"), SentAt: fxTime, Sent: false}}}},
		{"x-msg-del", "CH-MSG-DEL-1", "", nil, &cm.MsgDel{MsgID: cid("msg 1")}},
		{"x-msg-del-scope", "CH-MSG-DEL-1", "in a member side chat", nil, &cm.MsgDel{MsgID: cid("msg 8"), Scope: &cm.Scope{MemberID: cid("member bob")}}},
		{"x-msg-del-moderation", "CH-MSG-DEL-2", "a moderator deletes a member's message", nil, &cm.MsgDel{MsgID: cid("msg 6"), MemberID: cid("member alice")}},
		{"x-msg-react-add", "CH-MSG-REACT-1", "", nil, &cm.MsgReact{MsgID: cid("msg 1"), Reaction: &cm.Reaction{Type: "emoji", Emoji: "👍"}, Add: true}},
		{"x-msg-react-remove-group", "CH-MSG-REACT-1", "", nil, &cm.MsgReact{MsgID: cid("msg 6"), MemberID: cid("member alice"), Reaction: &cm.Reaction{Type: "emoji", Emoji: "❤️"}, Add: false}},
		{"x-msg-react-scope", "CH-MSG-REACT-1", "in a member side chat", nil, &cm.MsgReact{MsgID: cid("msg 8"), MemberID: cid("member alice"), Scope: &cm.Scope{MemberID: cid("member bob")}, Reaction: &cm.Reaction{Type: "emoji", Emoji: "✅"}, Add: true}},
		{"x-msg-react-unknown", "CH-MSG-REACT-2", "an emoji outside the list: kept, not shown", nil, &cm.MsgReact{MsgID: cid("msg 1"), Reaction: &cm.Reaction{Type: "emoji", Emoji: "🦄"}, Add: true}},
		{"x-grp-inv", "CH-GRP-INV-1", "", cid("msg grp inv"), &cm.GrpInv{Invitation: &cm.GroupInvitation{
			FromMember: &cm.MemberIDRole{MemberID: cid("member alice"), Role: cm.RoleOwner}, InvitedMember: &cm.MemberIDRole{MemberID: cid("member bob"), Role: cm.RoleMember},
			ConnRequest: fxConnReq, GroupProfile: fxTeam()}}},
		{"x-grp-inv-link-id", "CH-GRP-INV-1", "answer to a pre-v3 join by group link", cid("msg grp inv 2"), &cm.GrpInv{Invitation: &cm.GroupInvitation{
			FromMember: &cm.MemberIDRole{MemberID: cid("member alice"), Role: cm.RoleAdmin}, InvitedMember: &cm.MemberIDRole{MemberID: cid("member carol"), Role: cm.RoleObserver},
			ConnRequest: fxConnReq, GroupProfile: fxTeam(), GroupLinkID: cid("group link")}}},
		{"x-grp-acpt", "CH-GRP-INV-2", "", nil, &cm.GrpAcpt{MemberID: cid("member bob")}},
		{"x-grp-link-inv", "CH-GRP-LINK-2", "", nil, &cm.GrpLinkInv{Invitation: &cm.GroupLinkInvitation{
			FromMember: &cm.MemberIDRole{MemberID: cid("member alice"), Role: cm.RoleOwner}, FromMemberName: "alice",
			InvitedMember: &cm.MemberIDRole{MemberID: cid("member dave"), Role: cm.RoleMember}, GroupProfile: fxTeam()}}},
		{"x-grp-link-mem", "CH-GRP-LINK-3", "", nil, &cm.GrpLinkMem{Profile: fxAlice().Redacted()}},
		{"x-grp-mem-new", "CH-GRP-INTRO-1", "", nil, &cm.GrpMemNew{MemberInfo: fxMemberInfo("bob", cm.RoleMember, fxBob())}},
		{"x-grp-mem-new-scope", "CH-GRP-INTRO-1", "announced in a member side chat (upstream's knocking), kept", nil,
			&cm.GrpMemNew{MemberInfo: fxMemberInfo("dave", cm.RoleObserver, &cm.Profile{DisplayName: "dave", FullName: ""}), Scope: &cm.Scope{MemberID: cid("member dave")}}},
		{"x-grp-mem-intro", "CH-GRP-INTRO-2", "profile redacted", nil, &cm.GrpMemIntro{MemberInfo: fxMemberInfo("alice", cm.RoleOwner, fxAlice())}},
		{"x-grp-mem-intro-restrictions", "CH-GRP-INTRO-2", "memberRestrictions (outside this revision) kept as sent", nil,
			&cm.GrpMemIntro{MemberInfo: fxMemberInfo("eve", cm.RoleMember, &cm.Profile{DisplayName: "eve", FullName: ""}), Restrictions: cm.Object{"restriction": json.RawMessage(`"blocked"`)}}},
		{"x-grp-mem-inv", "CH-GRP-INTRO-3", "", nil, &cm.GrpMemInv{MemberID: cid("member carol"), Intro: &cm.IntroInvitation{GroupConnReq: fxConnReq}}},
		{"x-grp-mem-inv-direct", "CH-GRP-INTRO-3", "with directConnReq, for a peer below version 2", nil,
			&cm.GrpMemInv{MemberID: cid("member carol"), Intro: &cm.IntroInvitation{GroupConnReq: fxConnReq, DirectConnReq: sp(fxConnReq)}}},
		{"x-grp-mem-fwd", "CH-GRP-INTRO-4", "", nil, &cm.GrpMemFwd{MemberInfo: fxMemberInfo("bob", cm.RoleMember, fxBob()), Intro: &cm.IntroInvitation{GroupConnReq: fxConnReq}}},
		{"x-grp-mem-info", "CH-GRP-INTRO-5", "", nil, &cm.GrpMemInfo{MemberID: cid("member carol"), Profile: &cm.Profile{DisplayName: "carol", FullName: "Carol"}}},
		{"x-grp-mem-con", "CH-GRP-INTRO-6", "", nil, &cm.GrpMemCon{MemberID: cid("member carol")}},
		{"x-grp-mem-role", "CH-GRP-ROLE-1", "", nil, &cm.GrpMemRole{MemberID: cid("member bob"), Role: cm.RoleModerator}},
		{"x-grp-mem-del", "CH-GRP-DEL-1", "", nil, &cm.GrpMemDel{MemberID: cid("member carol")}},
		{"x-grp-mem-del-messages", "CH-GRP-DEL-1", "also delete the member's messages", nil, &cm.GrpMemDel{MemberID: cid("member carol"), Messages: true}},
		{"x-grp-leave", "CH-GRP-LEAVE-1", "", nil, &cm.GrpLeave{}},
		{"x-grp-del", "CH-GRP-DEL-3", "", nil, &cm.GrpDel{}},
		{"x-grp-info", "CH-GRP-INFO-1", "", nil, &cm.GrpInfo{GroupProfile: fxTeam()}},
		{"x-grp-msg-forward", "CH-FWD-1", "the host forwards bob's message to carol", nil,
			&cm.GrpMsgForward{MemberID: cid("member bob"), MemberName: sp("bob"), Msg: inner, MsgTs: fxTime}},
		{"x-grp-msg-forward-as-group", "CH-FWD-1", "no memberId: from the group", nil, &cm.GrpMsgForward{Msg: inner, MsgTs: fxTime.Add(time.Nanosecond)}},
		{"x-grp-msg-forward-history", "CH-GRP-HIST-1", "history for a new member: the host's own message, wrapped with its own memberId and the item's time", nil,
			&cm.GrpMsgForward{MemberID: cid("member alice"), Msg: &cm.Message{V: cm.Supported, MsgID: cid("msg hist"), Event: &cm.MsgNew{Container: cm.Container{Content: fxText("before you joined")}}}, MsgTs: fxTime}},
		{"unknown-event", "CH-EXT-2", "an event this revision does not know: kept whole", nil,
			&cm.Unknown{Event: "x.call.inv", Params: cm.Object{"callId": json.RawMessage(`"AQIDBA=="`), "invitation": json.RawMessage(`{"callType":{"capabilities":{"encryption":true},"media":"video"}}`)}}},
		{"unknown-fields", "CH-EXT-1", "unknown fields at several levels survive re-encoding", cid("msg 11"), &cm.MsgNew{Container: cm.Container{
			Content: &cm.Content{Type: cm.ContentText, Text: "from the future", HasText: true, Extra: cm.Object{"format": json.RawMessage(`[{"bold":true}]`)}},
			Extra:   cm.Object{"parentHash": json.RawMessage(`"3q2+7w=="`), "zz": json.RawMessage(`{"a":[1,2.5,null],"b":false}`)}}}},
	}
}

package chatcmd

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/chat"
	"github.com/smpkit/smpkit/reference/chatmsg"
)

// This file gives each reference/chat value the JSON shape upstream's bot
// API uses for it. The shapes are upstream's aeson encodings: records with
// their field names and omitNothingFields (Nothing is left out), sum types
// tagged with "type" (simplexmq src/Simplex/Messaging/Parsers.hs:
// defaultJSON, taggedObjectJSON), as listed in simplex-chat bots/api/TYPES.md
// (generated from src/Simplex/Chat/Types.hs, Messages.hs, Protocol.hs) and
// as tests/JSONFixtures.hs shows them (userJSON).
//
// Where upstream has a field ours has no value for (profileId, timestamps
// of contacts, connection ids, chat settings, ...), the field is left out
// rather than made up; docs/chat-api.md lists them. Keys are written in
// sorted order (encoding/json's order for maps), not upstream's.

// ConnLink is a link we made or were given, shown as upstream's
// CreatedConnLink {connFullLink, connShortLink?}; ours are all full links.
type ConnLink string

// EncodeAPI writes r as the bot API sends it: {"type": ..., fields...}
// without encoding/json's HTML escaping (aeson writes "&" in links as it
// is, not as \u0026).
func EncodeAPI(r Response) ([]byte, error) {
	m := make(obj, len(r.Fields)+1)
	for k, v := range r.Fields {
		m[k] = fieldValue(k, v)
	}
	// Upstream's groupMembers holds a Group {groupInfo, members}.
	if r.Type == "groupMembers" && m["groupInfo"] != nil && m["members"] != nil {
		m["group"] = obj{"groupInfo": m["groupInfo"], "members": m["members"]}
	}
	m["type"] = r.Type
	return marshal(m)
}

// fieldValue is apiValue for the few fields whose shape depends on the
// key: links (upstream's CreatedConnLink objects, ours held as strings),
// "connection", the pending contact of an invitation (upstream's
// PendingContactConnection), and "users" (UserInfo).
func fieldValue(key string, v any) any {
	switch key {
	case "connLinkInvitation", "connLinkContact":
		if s, ok := v.(string); ok {
			return apiValue(ConnLink(s))
		}
	case "connection":
		if c, ok := v.(chat.Contact); ok {
			return pendingJSON(c)
		}
	case "users":
		// Upstream's usersList holds UserInfo {user, unreadCount}; ours
		// counts no unread messages, so unreadCount is left out.
		if us, ok := v.([]chat.User); ok {
			out := make([]any, len(us))
			for i, u := range us {
				out[i] = obj{"user": userJSON(u)}
			}
			return out
		}
	}
	return apiValue(v)
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// obj is one JSON object being built.
type obj = map[string]any

// apiValue turns a Fields value into what the bot API sends for it. Fields
// hold reference/chat values (chat.Contact, chat.Item, chat.Group, ...)
// under upstream's key names; this is the one place that knows upstream's
// JSON shape of each. Values of other types go out as encoding/json
// writes them.
func apiValue(v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case chat.User:
		return userJSON(v)
	case *chat.User:
		return ptr(v, userJSON)
	case chat.Contact:
		return contactJSON(v)
	case *chat.Contact:
		return ptr(v, contactJSON)
	case chat.Request:
		return requestJSON(v)
	case *chat.Request:
		return ptr(v, requestJSON)
	case chat.Address:
		return addressJSON(v)
	case *chat.Address:
		return ptr(v, addressJSON)
	case chat.Item:
		return itemJSON(v)
	case *chat.Item:
		return ptr(v, itemJSON)
	case chat.Group:
		return groupJSON(v)
	case *chat.Group:
		return ptr(v, groupJSON)
	case chat.Member:
		return memberJSON(v)
	case *chat.Member:
		return ptr(v, memberJSON)
	case chat.GroupItem:
		return groupItemJSON(v, nil)
	case *chat.GroupItem:
		if v == nil {
			return nil
		}
		return groupItemJSON(*v, nil)
	case AChatItem:
		return aChatItemJSON(v)
	case *AChatItem:
		return ptr(v, aChatItemJSON)
	case chatmsg.Profile:
		return profileJSON(&v)
	case *chatmsg.Profile:
		if v == nil {
			return nil
		}
		return profileJSON(v)
	case chatmsg.GroupProfile:
		return groupProfileJSON(&v)
	case *chatmsg.GroupProfile:
		if v == nil {
			return nil
		}
		return groupProfileJSON(v)
	case chatmsg.Content:
		return msgContentJSON(&v)
	case *chatmsg.Content:
		if v == nil {
			return nil
		}
		return msgContentJSON(v)
	case chatmsg.Role:
		return string(v)
	case ConnLink:
		return obj{"connFullLink": string(v)}
	case agent.MsgIntegrity:
		return msgErrorJSON(v)
	case ChatItemDeletion:
		return deletionJSON(v)
	case Reaction:
		return reactionJSON(v)
	case ChatError:
		return obj{"type": "error", "errorType": obj{"type": v.Type, "message": v.Message}}
	case *ChatError:
		if v == nil {
			return nil
		}
		return apiValue(*v)
	case time.Time:
		return timeJSON(v)
	case error:
		return chatErrorJSON(v)
	case chat.Peer:
		return peerJSON(v)
	case chat.Broadcast:
		return broadcastJSON(v)
	case json.Marshaler, []byte, string:
		return v
	case chat.Event:
		// An event this package does not render: its kind only, not
		// Go's field names.
		return obj{"eventType": strings.TrimPrefix(fmt.Sprintf("%T", v), "chat.")}
	}
	// Lists and string-keyed maps of the values above.
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = apiValue(rv.Index(i).Interface())
		}
		return out
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return v
		}
		out := make(obj, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			out[it.Key().String()] = apiValue(it.Value().Interface())
		}
		return out
	}
	return v
}

func ptr[T any](v *T, f func(T) obj) any {
	if v == nil {
		return nil
	}
	return f(*v)
}

// timeJSON is aeson's UTCTime: ISO 8601 in UTC, fraction without trailing
// zeros.
func timeJSON(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// b64 is simplexmq's StrEncoding of bytes (base64url with padding), which
// SharedMsgId and MemberId use in JSON.
func b64(b []byte) string { return base64.URLEncoding.EncodeToString(b) }

// extra copies fields ours keeps but does not know (shortDescr, peerType,
// ...) into o, without overwriting known ones.
func extra(o obj, x chatmsg.Object) {
	for k, raw := range x {
		if _, ok := o[k]; !ok {
			o[k] = raw
		}
	}
}

// profileJSON is upstream's Profile (Types.hs): displayName, fullName,
// image?, contactLink?, preferences?, and the fields we carry unread
// (shortDescr?, peerType?).
func profileJSON(p *chatmsg.Profile) obj {
	o := obj{"displayName": p.DisplayName, "fullName": p.FullName}
	if p.Image != nil {
		o["image"] = *p.Image
	}
	if p.ContactLink != nil {
		o["contactLink"] = *p.ContactLink
	}
	if p.Preferences != nil {
		o["preferences"] = preferencesJSON(p.Preferences)
	}
	extra(o, p.Extra)
	return o
}

// localProfileJSON is upstream's LocalProfile: a Profile with localAlias
// (ours has no aliases: always ""). profileId is left out.
func localProfileJSON(p *chatmsg.Profile) obj {
	if p == nil {
		p = &chatmsg.Profile{}
	}
	o := profileJSON(p)
	o["localAlias"] = ""
	return o
}

func preferenceJSON(p *chatmsg.Preference) obj {
	o := obj{"allow": p.Allow}
	if p.TTL != nil {
		o["ttl"] = *p.TTL
	}
	extra(o, p.Extra)
	return o
}

// preferencesJSON is upstream's Preferences: each feature's {allow, ttl?}.
func preferencesJSON(p *chatmsg.Preferences) obj {
	o := obj{}
	for _, f := range []struct {
		key string
		p   *chatmsg.Preference
	}{{"timedMessages", p.TimedMessages}, {"fullDelete", p.FullDelete}, {"reactions", p.Reactions}, {"voice", p.Voice}, {"calls", p.Calls}} {
		if f.p != nil {
			o[f.key] = preferenceJSON(f.p)
		}
	}
	extra(o, p.Extra)
	return o
}

// defaultPrefs are upstream's defaults of a user's preferences, as
// tests/JSONFixtures.hs userJSON shows them.
var defaultPrefs = map[string]string{
	"timedMessages": "yes", "fullDelete": "no", "reactions": "yes", "voice": "yes",
	"files": "always", "calls": "yes", "sessions": "no",
}

// fullPreferencesJSON is upstream's FullPreferences: every feature, the
// user's own setting or the default.
func fullPreferencesJSON(p *chatmsg.Preferences) obj {
	o := obj{"commands": []any{}}
	for k, allow := range defaultPrefs {
		o[k] = obj{"allow": allow}
	}
	if p != nil {
		for k, v := range preferencesJSON(p) {
			o[k] = v
		}
	}
	return o
}

// userJSON is upstream's User (Types.hs; tests/JSONFixtures.hs userJSON).
// Left out: agentUserId, userContactId, activeOrder, viewPwdHash and the
// notification and receipt settings ours does not have.
func userJSON(u chat.User) obj {
	return obj{
		"userId":           u.ID,
		"localDisplayName": u.Profile.DisplayName,
		"profile":          localProfileJSON(&u.Profile),
		"fullPreferences":  fullPreferencesJSON(u.Profile.Preferences),
		"activeUser":       u.Active,
	}
}

// contactJSON is upstream's Contact (Types.hs). contactStatus is
// upstream's: active, or deleted once the contact deleted us, or
// deletedByUser while our deletion is on its way; where our connection is
// goes in activeConn.connStatus (upstream's ConnStatus). Left out:
// contactUsed, chatSettings, userPreferences, mergedPreferences,
// createdAt, updatedAt, chatTags and the connection's ids.
func contactJSON(c chat.Contact) obj {
	name := c.LocalName
	if name == "" && c.Profile != nil {
		name = c.Profile.DisplayName
	}
	status := "active"
	switch c.Status {
	case chat.StatusDeletedByPeer:
		status = "deleted"
	case chat.StatusDeleting:
		status = "deletedByUser"
	}
	o := obj{
		"contactId":        c.ID,
		"localDisplayName": name,
		"profile":          localProfileJSON(c.Profile),
		"contactStatus":    status,
		"activeConn":       connJSON(c),
	}
	return o
}

// connJSON is the part of upstream's Connection ours knows: connType,
// connStatus (ConnStatus: new, joined, accepted, ready, deleted) and
// whether we made the invitation.
func connJSON(c chat.Contact) obj {
	st := "new"
	switch c.Status {
	case chat.StatusInvited:
		st = "new"
	case chat.StatusJoined, chat.StatusRequested:
		st = "joined"
	case chat.StatusAccepted:
		st = "accepted"
	case chat.StatusConnected:
		st = "ready"
	case chat.StatusDeleting, chat.StatusDeletedByPeer:
		st = "deleted"
	}
	return obj{
		"connType":             "contact",
		"connStatus":           st,
		"contactConnInitiated": c.Status == chat.StatusInvited,
		"localAlias":           "",
	}
}

// requestJSON is upstream's UserContactRequest: contactRequestId,
// localDisplayName, profile. Left out: agentInvitationId, versions,
// timestamps.
func requestJSON(r chat.Request) obj {
	p := r.Profile
	if p == nil {
		p = &chatmsg.Profile{}
	}
	return obj{
		"contactRequestId": r.ID,
		"localDisplayName": p.DisplayName,
		"profile":          profileJSON(p),
	}
}

// addressJSON is upstream's UserContactLink: connLinkContact and
// addressSettings {businessAddress, autoAccept?, autoReply?}.
func addressJSON(a chat.Address) obj {
	set := obj{"businessAddress": false}
	if a.AutoAccept {
		set["autoAccept"] = obj{"acceptIncognito": false}
	}
	if a.Welcome != "" {
		set["autoReply"] = obj{"type": "text", "text": a.Welcome}
	}
	return obj{
		"connLinkContact": obj{"connFullLink": a.Link},
		"addressSettings": set,
	}
}

// msgContentJSON is upstream's MsgContent (Protocol.hs): text, link,
// image, file as they are; a type upstream does not know to this revision
// goes out as upstream's "unknown" {tag, text, json}.
func msgContentJSON(c *chatmsg.Content) obj {
	if !c.Known() {
		j := obj{"type": c.Type}
		if c.HasText {
			j["text"] = c.Text
		}
		extra(j, c.Extra)
		return obj{"type": "unknown", "tag": c.Type, "text": c.Text, "json": j}
	}
	o := obj{"type": c.Type, "text": c.Text}
	if c.Preview != nil {
		pv := obj{"uri": c.Preview.URI, "title": c.Preview.Title, "description": c.Preview.Description, "image": c.Preview.Image}
		extra(pv, c.Preview.Extra)
		o["preview"] = pv
	}
	if c.Image != nil {
		o["image"] = *c.Image
	}
	extra(o, c.Extra)
	return o
}

// itemStatusJSON is upstream's CIStatus: sndNew, sndSent, sndRcvd (a
// receipt came), rcvNew (ours does not mark items read).
func itemStatusJSON(s chat.ItemStatus) obj {
	switch s {
	case chat.ItemSending:
		return obj{"type": "sndNew"}
	case chat.ItemSent:
		return obj{"type": "sndSent", "sndProgress": "complete"}
	case chat.ItemDelivered:
		return obj{"type": "sndRcvd", "msgRcptStatus": "ok", "sndProgress": "complete"}
	case chat.ItemReceived:
		return obj{"type": "rcvNew"}
	}
	return obj{"type": "invalid", "text": string(s)}
}

// reactionsJSON is upstream's [CIReactionCount]: one per emoji, in the
// order first given.
func reactionsJSON(rs []chat.Reaction) []any {
	out := []any{}
	at := map[string]obj{}
	for _, r := range rs {
		o, ok := at[r.Emoji]
		if !ok {
			o = obj{"reaction": obj{"type": "emoji", "emoji": r.Emoji}, "userReacted": false, "totalReacted": 0}
			at[r.Emoji] = o
			out = append(out, o)
		}
		o["totalReacted"] = o["totalReacted"].(int) + 1
		if r.Sent {
			o["userReacted"] = true
		}
	}
	return out
}

// chatItemJSON is upstream's ChatItem {chatDir, meta, content, mentions,
// reactions} (Messages.hs). Left out: quotedItem (ours keeps only the id
// of the item replied to; it is meta.quotedItemId, not upstream's), file,
// formattedText, and meta's deletable, editable, updatedAt and timers.
func chatItemJSON(dir obj, chatType string, sent bool, id int64, sharedID []byte, content *chatmsg.Content, text string, status obj, edited, deleted bool, reactions []chat.Reaction, created time.Time) obj {
	ts := timeJSON(created)
	meta := obj{
		"itemId":            id,
		"itemTs":            ts,
		"itemText":          text,
		"itemStatus":        status,
		"itemEdited":        edited,
		"userMention":       false,
		"showGroupAsSender": false,
		"createdAt":         ts,
	}
	if len(sharedID) > 0 {
		meta["itemSharedMsgId"] = b64(sharedID)
	}
	if deleted {
		meta["itemDeleted"] = obj{"type": "deleted", "chatType": chatType}
	}
	ct := "rcvMsgContent"
	if sent {
		ct = "sndMsgContent"
	}
	return obj{
		"chatDir":   dir,
		"meta":      meta,
		"content":   obj{"type": ct, "msgContent": msgContentJSON(content)},
		"mentions":  obj{},
		"reactions": reactionsJSON(reactions),
	}
}

// itemJSON is a direct chat's ChatItem.
func itemJSON(it chat.Item) obj {
	dir := obj{"type": "directRcv"}
	if it.Sent {
		dir = obj{"type": "directSnd"}
	}
	o := chatItemJSON(dir, "direct", it.Sent, it.ID, it.SharedID, &it.Content, it.Text, itemStatusJSON(it.Status), it.Edited, it.Deleted, it.Reactions, it.CreatedAt)
	if it.QuoteID != 0 {
		o["meta"].(obj)["quotedItemId"] = it.QuoteID
	}
	if it.TTL > 0 { // upstream's CITimed {ttl (seconds), deleteAt?}
		timed := obj{"ttl": int64(it.TTL / time.Second)}
		if !it.DeleteAt.IsZero() {
			timed["deleteAt"] = timeJSON(it.DeleteAt)
		}
		o["meta"].(obj)["itemTimed"] = timed
	}
	return o
}

// groupItemJSON is a group's ChatItem; author is the member that sent a
// received item (groupRcv's groupMember), when known.
func groupItemJSON(it chat.GroupItem, author *chat.Member) obj {
	dir := obj{"type": "groupSnd"}
	status := obj{"type": "sndSent", "sndProgress": "complete"}
	if !it.Sent {
		dir = obj{"type": "groupRcv"}
		if author != nil {
			dir["groupMember"] = memberJSON(*author)
		}
		status = obj{"type": "rcvNew"}
	}
	return chatItemJSON(dir, "group", it.Sent, it.ID, it.SharedID, &it.Content, it.Text, status, false, false, nil, it.CreatedAt)
}

// aChatItemJSON is upstream's AChatItem {chatInfo, chatItem}, chatInfo
// being ChatInfo's direct {contact} or group {groupInfo}.
func aChatItemJSON(a AChatItem) obj {
	switch {
	case a.GroupItem != nil:
		var info obj
		if a.Group != nil {
			info = obj{"type": "group", "groupInfo": groupJSON(*a.Group)}
		} else {
			info = obj{"type": "group", "groupInfo": obj{"groupId": a.GroupItem.GroupID}}
		}
		return obj{"chatInfo": info, "chatItem": groupItemJSON(*a.GroupItem, a.Member)}
	case a.Item != nil:
		var info obj
		if a.Contact != nil {
			info = obj{"type": "direct", "contact": contactJSON(*a.Contact)}
		} else {
			info = obj{"type": "direct", "contact": obj{"contactId": a.Item.ContactID}}
		}
		return obj{"chatInfo": info, "chatItem": itemJSON(*a.Item)}
	}
	return obj{}
}

// groupProfileJSON is upstream's GroupProfile: displayName, fullName,
// description?, image?, groupPreferences?, and fields carried unread
// (shortDescr?, memberAdmission?).
func groupProfileJSON(g *chatmsg.GroupProfile) obj {
	o := obj{"displayName": g.DisplayName, "fullName": g.FullName}
	if g.Description != nil {
		o["description"] = *g.Description
	}
	if g.Image != nil {
		o["image"] = *g.Image
	}
	if p := g.GroupPreferences; p != nil {
		gp := obj{}
		for _, f := range []struct {
			key string
			p   *chatmsg.GroupPreference
		}{{"timedMessages", p.TimedMessages}, {"directMessages", p.DirectMessages}, {"fullDelete", p.FullDelete}, {"reactions", p.Reactions}, {"voice", p.Voice}, {"files", p.Files}, {"simplexLinks", p.SimplexLinks}, {"reports", p.Reports}, {"history", p.History}} {
			if f.p == nil {
				continue
			}
			e := obj{"enable": f.p.Enable}
			if f.p.Role != nil {
				e["role"] = string(*f.p.Role)
			}
			if f.p.TTL != nil {
				e["ttl"] = *f.p.TTL
			}
			extra(e, f.p.Extra)
			gp[f.key] = e
		}
		extra(gp, p.Extra)
		o["groupPreferences"] = gp
	}
	extra(o, g.Extra)
	return o
}

// groupJSON is upstream's GroupInfo: groupId, localDisplayName,
// groupProfile, localAlias and membership (the user's own GroupMember:
// memberId, memberRole, memberCategory "user", memberStatus). Left out:
// fullGroupPreferences, chatSettings, timestamps, groupSummary.
func groupJSON(g chat.Group) obj {
	st := "connected"
	switch g.Status {
	case chat.GroupPending:
		st = "invited"
	case chat.GroupJoining:
		st = "accepted"
	case chat.GroupLeft:
		st = "left"
	case chat.GroupRemoved:
		st = "removed"
	}
	return obj{
		"groupId":          g.ID,
		"localDisplayName": g.Profile.DisplayName,
		"groupProfile":     groupProfileJSON(&g.Profile),
		"localAlias":       "",
		"membership": obj{
			"groupId":        g.ID,
			"memberId":       b64(g.MemberID),
			"memberRole":     string(g.Role),
			"memberCategory": "user",
			"memberStatus":   st,
		},
	}
}

// memberJSON is upstream's GroupMember: groupMemberId, groupId, memberId,
// memberRole, memberCategory (where ours knows it), memberStatus
// (GroupMemberStatus), localDisplayName, memberProfile. Left out:
// indexInGroup, memberSettings, invitedBy, activeConn, versions,
// timestamps.
func memberJSON(m chat.Member) obj {
	st := string(m.Status)
	switch m.Status {
	case chat.MemberConnecting:
		st = "accepted"
	case chat.MemberReady:
		st = "connected"
	}
	name := ""
	if m.Profile != nil {
		name = m.Profile.DisplayName
	}
	o := obj{
		"groupMemberId":    m.ID,
		"groupId":          m.GroupID,
		"memberId":         b64(m.MemberID),
		"memberRole":       string(m.Role),
		"memberStatus":     st,
		"localDisplayName": name,
		"memberProfile":    localProfileJSON(m.Profile),
	}
	switch {
	case m.Host:
		o["memberCategory"] = "host"
	case m.Status == chat.MemberInvited:
		o["memberCategory"] = "invitee"
	case m.Status == chat.MemberIntroduced:
		o["memberCategory"] = "pre"
	case m.Status == chat.MemberAnnounced:
		o["memberCategory"] = "post"
	}
	return o
}

// peerJSON names the other end of a connection (chat.Peer): contactId, or
// groupId and groupMemberId. Upstream's events carry the whole contact or
// member instead.
func peerJSON(p chat.Peer) obj {
	o := obj{"userId": p.UserID}
	if p.ContactID != 0 {
		o["contactId"] = p.ContactID
	}
	if p.GroupID != 0 {
		o["groupId"] = p.GroupID
	}
	if p.MemberID != 0 {
		o["groupMemberId"] = p.MemberID
	}
	return o
}

// broadcastJSON is ours (upstream's broadcastSent has no such object):
// the broadcast's id, text, time and the ids of its copies, one per
// contact.
func broadcastJSON(b chat.Broadcast) obj {
	ids := make([]int64, len(b.Items))
	for i, it := range b.Items {
		ids[i] = it.ID
	}
	return obj{"broadcastId": b.ID, "itemText": b.Text, "createdAt": timeJSON(b.CreatedAt), "chatItemIds": ids, "itemEdited": b.Edited, "itemDeleted": b.Deleted}
}

// pendingJSON is upstream's PendingContactConnection for a contact we
// invited or asked: pccConnId (ours: the contact's id, which our commands
// take), pccConnStatus, viaContactUri (true when we asked through an
// address), localAlias. Left out: pccAgentConnId, timestamps, the link.
func pendingJSON(c chat.Contact) obj {
	return obj{
		"pccConnId":     c.ID,
		"pccConnStatus": connJSON(c)["connStatus"],
		"viaContactUri": c.Status == chat.StatusRequested,
		"localAlias":    "",
	}
}

// deletionJSON is upstream's ChatItemDeletion {deletedChatItem,
// toChatItem?}.
func deletionJSON(d ChatItemDeletion) obj {
	o := obj{"deletedChatItem": aChatItemJSON(d.Deleted)}
	if d.To != nil {
		o["toChatItem"] = aChatItemJSON(*d.To)
	}
	return o
}

// reactionJSON is upstream's ACIReaction {chatInfo, chatReaction:
// CIReaction {chatDir, chatItem, reaction}}; chatDir says who reacted.
// Left out: sentAt.
func reactionJSON(r Reaction) obj {
	a := aChatItemJSON(r.ChatItem)
	dir := "directRcv"
	switch {
	case r.ChatItem.GroupItem != nil && r.Sent:
		dir = "groupSnd"
	case r.ChatItem.GroupItem != nil:
		dir = "groupRcv"
	case r.Sent:
		dir = "directSnd"
	}
	return obj{
		"chatInfo": a["chatInfo"],
		"chatReaction": obj{
			"chatDir":  obj{"type": dir},
			"chatItem": a["chatItem"],
			"reaction": obj{"type": "emoji", "emoji": r.Emoji},
		},
	}
}

// msgErrorJSON is upstream's MsgErrorType: msgSkipped {fromMsgId,
// toMsgId}, msgBadId {msgId}, msgBadHash, msgDuplicate.
func msgErrorJSON(m agent.MsgIntegrity) any {
	switch m.Err {
	case agent.MsgSkipped:
		return obj{"type": "msgSkipped", "fromMsgId": m.FromMsgID, "toMsgId": m.ToMsgID}
	case agent.MsgBadID:
		return obj{"type": "msgBadId", "msgId": m.MsgID}
	case agent.MsgBadHash:
		return obj{"type": "msgBadHash"}
	case agent.MsgDuplicate:
		return obj{"type": "msgDuplicate"}
	case "":
		return nil
	}
	return obj{"type": "unknown", "error": string(m.Err)}
}

// chatErrorJSON is upstream's ChatError for an error of ours: "error" with
// ChatErrorType commandError and the error's text.
func chatErrorJSON(err error) obj {
	return obj{"type": "error", "errorType": obj{"type": "commandError", "message": err.Error()}}
}

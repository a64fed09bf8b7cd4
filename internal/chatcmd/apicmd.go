package chatcmd

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/smpkit/smpkit/reference/chat"
	"github.com/smpkit/smpkit/reference/chatmsg"
)

// Upstream's API-only commands: the "/_..." forms with ids and JSON that
// upstream's bot libraries send (simplex-chat bots/api/COMMANDS.md), for
// the features ours has. The bot API runs them (ExecAPI) before the
// terminal's language.

// ExecAPI runs line if it is one of upstream's API commands this client
// takes; ok is false for any other line.
func (s *Engine) ExecAPI(ctx context.Context, line string) (rs []Response, ok bool) {
	name, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
	f, ok := apiCommands[name]
	if !ok {
		return nil, false
	}
	if _, ok := ctx.Deadline(); !ok { // as Exec: a relay that never answers
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, CommandTimeout)
		defer cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			s.opts.Log.Error("chat API command failed", "command", name, "panic", p)
			rs = []Response{errorResponse(ChatError{Type: "internalError", Message: "internal error, see the log"})}
		}
	}()
	r, err := f(s, ctx, strings.TrimSpace(rest))
	if err != nil {
		return []Response{errorResponse(chatError(err))}, true
	}
	return []Response{r}, true
}

type apiCommand func(s *Engine, ctx context.Context, args string) (Response, error)

var apiCommands map[string]apiCommand

func init() {
	apiCommands = map[string]apiCommand{
		"/_address":          userOp(OpCreateAddress),
		"/_show_address":     userOp(OpShowAddress),
		"/_delete_address":   userOp(OpDeleteAddress),
		"/_address_settings": (*Engine).apiAddressSettings,
		"/_send":             (*Engine).apiSend,
		"/_accept":           (*Engine).apiAccept,
		"/_reject":           (*Engine).apiReject,
		"/_contacts":         (*Engine).apiContacts,
		"/_connect":          (*Engine).apiConnect,
		"/_update":           (*Engine).apiUpdate,
		"/_delete":           (*Engine).apiDelete,
		"/_reaction":         (*Engine).apiReaction,
	}
}

func apiSyntax(format string, args ...any) error {
	return cmdErr("commandError", "bad API command: "+format, args...)
}

// apiUser checks that an API command's userId is the active user's, as
// ours runs commands for the active user only (upstream's
// differentActiveUser error otherwise).
func (s *Engine) apiUser(ctx context.Context, arg string) (chat.User, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil {
		return chat.User{}, apiSyntax("user id %q", arg)
	}
	u, err := s.activeUser(ctx)
	if err != nil {
		return u, err
	}
	if u.ID != id {
		return u, cmdErr("differentActiveUser", "user %d is not the active user (%d): /_user is not taken yet, use /user NAME", id, u.ID)
	}
	return u, nil
}

// userOp is an API command "/_x <userId>" that is the terminal's command
// op for the active user.
func userOp(op Op) apiCommand {
	return func(s *Engine, ctx context.Context, args string) (Response, error) {
		if _, err := s.apiUser(ctx, args); err != nil {
			return Response{}, err
		}
		return s.exec(ctx, Command{Op: op})
	}
}

// apiAddressSettings: /_address_settings <userId> <json AddressSettings>.
func (s *Engine) apiAddressSettings(ctx context.Context, args string) (Response, error) {
	id, js, _ := strings.Cut(args, " ")
	if _, err := s.apiUser(ctx, id); err != nil {
		return Response{}, err
	}
	var set struct {
		BusinessAddress bool `json:"businessAddress"`
		AutoAccept      *struct {
			AcceptIncognito bool `json:"acceptIncognito"`
		} `json:"autoAccept"`
		AutoReply *struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"autoReply"`
	}
	if err := json.Unmarshal([]byte(js), &set); err != nil {
		return Response{}, apiSyntax("address settings: %v", err)
	}
	if set.BusinessAddress {
		return Response{}, notSupported("business addresses")
	}
	cmd := Command{Op: OpAutoAccept, On: set.AutoAccept != nil}
	if set.AutoAccept != nil {
		cmd.Incognito = set.AutoAccept.AcceptIncognito
	}
	if r := set.AutoReply; r != nil {
		if r.Type != chatmsg.ContentText {
			return Response{}, notSupported("auto-replies of type " + r.Type)
		}
		cmd.Text = r.Text
	}
	return s.exec(ctx, cmd)
}

// composed is upstream's ComposedMessage, as far as ours sends it.
type composed struct {
	FileSource   json.RawMessage `json:"fileSource"`
	QuotedItemID *int64          `json:"quotedItemId"`
	MsgContent   struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"msgContent"`
}

// apiSend: /_send @<contactId>|#<groupId>[ live=on][ ttl=<seconds>|default] json <[ComposedMessage]>.
// A ttl makes the messages disappear when timed messages are on with the
// contact (chat.SendMessageTTL).
func (s *Engine) apiSend(ctx context.Context, args string) (Response, error) {
	ref, rest, _ := strings.Cut(args, " ")
	var ttl time.Duration // 0: the chat's own setting
	for opts := true; opts; {
		opt, more, _ := strings.Cut(rest, " ")
		switch {
		case opt == "live=on":
			return Response{}, notSupported("live messages")
		case opt == "ttl=default", opt == "live=off":
			rest = more
		case strings.HasPrefix(opt, "ttl="):
			n, err := strconv.ParseInt(strings.TrimPrefix(opt, "ttl="), 10, 64)
			if err != nil || n < 1 || n > 1<<31 {
				return Response{}, apiSyntax("%s: want ttl=<seconds> or ttl=default", opt)
			}
			ttl = time.Duration(n) * time.Second
			rest = more
		default:
			opts = false
		}
	}
	js, ok := strings.CutPrefix(rest, "json ")
	if !ok {
		return Response{}, apiSyntax("want /_send @<contactId> json [...]")
	}
	var msgs []composed
	if err := json.Unmarshal([]byte(js), &msgs); err != nil {
		return Response{}, apiSyntax("messages: %v", err)
	}
	if len(msgs) == 0 {
		return Response{}, apiSyntax("no messages")
	}
	for _, m := range msgs {
		if len(m.FileSource) > 0 && string(m.FileSource) != "null" {
			return Response{}, notSupported("files")
		}
		if t := m.MsgContent.Type; t != chatmsg.ContentText && t != "" {
			return Response{}, notSupported("messages of type " + t)
		}
	}
	if len(ref) < 2 || (ref[0] != '@' && ref[0] != '#') {
		return Response{}, apiSyntax("chat %q: want @<contactId> or #<groupId>", ref)
	}
	id, err := strconv.ParseInt(ref[1:], 10, 64)
	if err != nil {
		return Response{}, apiSyntax("chat %q: want @<contactId> or #<groupId>", ref)
	}
	u, err := s.activeUser(ctx)
	if err != nil {
		return Response{}, err
	}
	if ref[0] == '#' {
		if ttl > 0 {
			return Response{}, notSupported("disappearing messages in groups")
		}
		return s.apiSendGroup(ctx, u, id, msgs)
	}
	c, err := s.c.Contact(ctx, id)
	if err != nil || c.UserID != u.ID {
		return Response{}, cmdErr("contactNotFound", "no contact %d", id)
	}
	if c.Status != chat.StatusConnected {
		return Response{}, cmdErr("contactNotReady", "%s: contact is not ready", viewName(c.LocalName))
	}
	var items []AChatItem
	var lines []string
	for _, m := range msgs {
		var quote int64
		if m.QuotedItemID != nil {
			quote = *m.QuotedItemID
		}
		var it chat.Item
		var err error
		if ttl > 0 {
			it, err = s.c.SendMessageTTL(ctx, c.ID, text(m.MsgContent.Text), quote, ttl)
		} else {
			it, err = s.c.SendMessage(ctx, c.ID, text(m.MsgContent.Text), quote)
		}
		if err != nil {
			return Response{}, err
		}
		s.remember(it)
		items = append(items, s.directItem(c, it))
		lines = append(lines, s.directLines(ctx, c, it, markNone)...)
	}
	return resp("newChatItems", lines, "user", u, "chatItems", items), nil
}

func (s *Engine) apiSendGroup(ctx context.Context, u chat.User, id int64, msgs []composed) (Response, error) {
	gs, err := s.c.Groups(ctx, u.ID)
	if err != nil {
		return Response{}, err
	}
	var g *chat.Group
	for i := range gs {
		if gs[i].ID == id {
			g = &gs[i]
		}
	}
	if g == nil {
		return Response{}, cmdErr("groupNotFound", "no group %d", id)
	}
	if g.Status != chat.GroupActive {
		return Response{}, cmdErr("groupNotJoined", "you are not an active member of %s", groupRef(*g))
	}
	var items []AChatItem
	var lines []string
	for _, m := range msgs {
		var it chat.GroupItem
		var err error
		if m.QuotedItemID != nil {
			it, err = s.c.SendGroupReply(ctx, g.ID, m.MsgContent.Text, *m.QuotedItemID)
		} else {
			it, err = s.c.SendGroupText(ctx, g.ID, m.MsgContent.Text)
		}
		if err != nil {
			return Response{}, err
		}
		items = append(items, AChatItem{Group: g, GroupItem: &it})
		lines = append(lines, s.groupLines(*g, nil, it)...)
	}
	return resp("newChatItems", lines, "user", u, "chatItems", items), nil
}

// request finds a pending contact request of the active user by id.
func (s *Engine) request(ctx context.Context, arg string) (chat.User, chat.Request, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil {
		return chat.User{}, chat.Request{}, apiSyntax("contact request id %q", arg)
	}
	u, err := s.activeUser(ctx)
	if err != nil {
		return u, chat.Request{}, err
	}
	rs, err := s.c.Requests(ctx, u.ID)
	if err != nil {
		return u, chat.Request{}, err
	}
	for _, r := range rs {
		if r.ID == id {
			return u, r, nil
		}
	}
	return u, chat.Request{}, cmdErr("contactRequestNotFound", "no contact request %d", id)
}

// apiAccept: /_accept[ incognito=on] <contactReqId>.
func (s *Engine) apiAccept(ctx context.Context, args string) (Response, error) {
	incognito := strings.HasPrefix(args, "incognito=on ")
	args = strings.TrimPrefix(strings.TrimPrefix(args, "incognito=on "), "incognito=off ")
	u, r, err := s.request(ctx, args)
	if err != nil {
		return Response{}, err
	}
	accept := s.c.AcceptRequest
	if incognito {
		accept = s.c.AcceptRequestIncognito
	}
	c, err := accept(ctx, r.ID)
	if err != nil {
		return Response{}, err
	}
	name := ""
	if r.Profile != nil {
		name = r.Profile.DisplayName
	}
	return resp("acceptingContactRequest", []string{profileFull(name, r.Profile) + ": accepting contact request, you can send messages to contact"}, "user", u, "contact", c), nil
}

// apiReject: /_reject <contactReqId>.
func (s *Engine) apiReject(ctx context.Context, args string) (Response, error) {
	u, r, err := s.request(ctx, args)
	if err != nil {
		return Response{}, err
	}
	if err := s.c.RejectRequest(ctx, r.ID); err != nil {
		return Response{}, err
	}
	name := fmt.Sprint(r.ID)
	if r.Profile != nil {
		name = r.Profile.DisplayName
	}
	return resp("contactRequestRejected", []string{viewName(name) + ": contact request rejected"}, "user", u, "contactRequest", r), nil
}

// apiContacts: /_contacts <userId>.
func (s *Engine) apiContacts(ctx context.Context, args string) (Response, error) {
	u, err := s.apiUser(ctx, args)
	if err != nil {
		return Response{}, err
	}
	return s.contactsList(ctx, u)
}

// apiConnect: /_connect <userId>[ incognito=on] makes an invitation;
// /_connect <userId> <link> connects.
func (s *Engine) apiConnect(ctx context.Context, args string) (Response, error) {
	if strings.HasPrefix(args, "plan ") {
		return Response{}, notSupported("connection plans")
	}
	id, rest, _ := strings.Cut(args, " ")
	u, err := s.apiUser(ctx, id)
	if err != nil {
		return Response{}, err
	}
	cmd := Command{Op: OpConnect}
	switch rest = strings.TrimSpace(rest); rest {
	case "incognito=on":
		cmd.Incognito = true
	case "", "incognito=off":
	default:
		cmd.Text = rest
	}
	return s.connect(ctx, u, cmd)
}

// apiContact reads "@<contactId>" naming a contact of the active user.
func (s *Engine) apiContact(ctx context.Context, ref string) (chat.User, chat.Contact, error) {
	if strings.HasPrefix(ref, "#") {
		return chat.User{}, chat.Contact{}, notSupported("this command in groups by id")
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(ref, "@"), 10, 64)
	if err != nil || !strings.HasPrefix(ref, "@") {
		return chat.User{}, chat.Contact{}, apiSyntax("chat %q: want @<contactId>", ref)
	}
	u, err := s.activeUser(ctx)
	if err != nil {
		return u, chat.Contact{}, err
	}
	c, err := s.c.Contact(ctx, id)
	if err != nil || c.UserID != u.ID {
		return u, chat.Contact{}, cmdErr("contactNotFound", "no contact %d", id)
	}
	return u, c, nil
}

// apiItem reads an item id of the contact's conversation.
func (s *Engine) apiItem(ctx context.Context, c chat.Contact, arg string) (chat.Item, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil {
		return chat.Item{}, apiSyntax("item id %q", arg)
	}
	it, err := s.c.Item(ctx, id)
	if err != nil || it.ContactID != c.ID {
		return chat.Item{}, cmdErr("chatItemNotFound", "no message %d with %s", id, viewName(c.LocalName))
	}
	return it, nil
}

// apiUpdate: /_update item @<contactId> <itemId>[ live=on] json <UpdatedMessage>.
func (s *Engine) apiUpdate(ctx context.Context, args string) (Response, error) {
	f := strings.SplitN(args, " ", 4)
	if len(f) < 4 || f[0] != "item" {
		return Response{}, apiSyntax("want /_update item @<contactId> <itemId> json {...}")
	}
	u, c, err := s.apiContact(ctx, f[1])
	if err != nil {
		return Response{}, err
	}
	old, err := s.apiItem(ctx, c, f[2])
	if err != nil {
		return Response{}, err
	}
	js := f[3]
	if strings.HasPrefix(js, "live=on ") {
		return Response{}, notSupported("live messages")
	}
	js, ok := strings.CutPrefix(js, "json ")
	if !ok {
		return Response{}, apiSyntax("want json {...}")
	}
	var upd struct {
		MsgContent struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"msgContent"`
	}
	if err := json.Unmarshal([]byte(js), &upd); err != nil {
		return Response{}, apiSyntax("updated message: %v", err)
	}
	if upd.MsgContent.Type != chatmsg.ContentText {
		return Response{}, notSupported("messages of type " + upd.MsgContent.Type)
	}
	if !old.Sent || old.Deleted {
		return Response{}, cmdErr("invalidChatItemUpdate", "message %d cannot be edited", old.ID)
	}
	if old.Text == upd.MsgContent.Text {
		return resp("chatItemNotChanged", []string{"message didn't change"}, "user", u, "chatItem", s.directItem(c, old)), nil
	}
	it, err := s.c.UpdateMessage(ctx, old.ID, text(upd.MsgContent.Text))
	if err != nil {
		return Response{}, err
	}
	s.remember(it)
	return resp("chatItemUpdated", s.directLines(ctx, c, it, markEdited), "user", u, "chatItem", s.directItem(c, it)), nil
}

// apiDelete: /_delete item @<contactId> <itemId>[,<itemId>...] broadcast|internal,
// or /_delete @<contactId>[ full|entity][ notify=on|off] (the contact).
func (s *Engine) apiDelete(ctx context.Context, args string) (Response, error) {
	if rest, ok := strings.CutPrefix(args, "item "); ok {
		return s.apiDeleteItems(ctx, rest)
	}
	ref, mode, _ := strings.Cut(args, " ")
	switch mode {
	case "", "full", "full notify=on", "entity", "entity notify=on":
	case "messages":
		return Response{}, notSupported("deleting only the messages of a chat")
	default:
		return Response{}, notSupported("deleting a chat with " + mode)
	}
	u, c, err := s.apiContact(ctx, ref)
	if err != nil {
		return Response{}, err
	}
	if err := s.c.DeleteContact(ctx, c.ID); err != nil {
		return Response{}, err
	}
	return resp("contactDeleted", []string{viewName(c.LocalName) + ": contact is deleted"}, "user", u, "contact", c), nil
}

func (s *Engine) apiDeleteItems(ctx context.Context, args string) (Response, error) {
	f := strings.Fields(args)
	if len(f) != 3 {
		return Response{}, apiSyntax("want /_delete item @<contactId> <itemId>[,...] broadcast|internal")
	}
	var forEveryone bool
	switch f[2] {
	case "broadcast":
		forEveryone = true
	case "internal":
	default:
		return Response{}, notSupported("delete mode " + f[2])
	}
	u, c, err := s.apiContact(ctx, f[0])
	if err != nil {
		return Response{}, err
	}
	var items []chat.Item
	for _, id := range strings.Split(f[1], ",") {
		it, err := s.apiItem(ctx, c, id)
		if err != nil {
			return Response{}, err
		}
		if forEveryone && !it.Sent {
			return Response{}, cmdErr("invalidChatItemDelete", "message %d is not yours to delete for everyone", it.ID)
		}
		items = append(items, it)
	}
	var dels []ChatItemDeletion
	var lines []string
	for _, it := range items {
		if err := s.c.DeleteMessage(ctx, it.ID, forEveryone); err != nil {
			return Response{}, err
		}
		d := ChatItemDeletion{Deleted: s.directItem(c, it)}
		if now, err := s.c.Item(ctx, it.ID); err == nil {
			s.remember(now)
			ai := s.directItem(c, now)
			d.To = &ai
		}
		dels = append(dels, d)
		if d.To != nil {
			lines = append(lines, "message marked deleted")
		} else {
			lines = append(lines, "message deleted")
		}
	}
	return resp("chatItemsDeleted", lines, "user", u, "chatItemDeletions", dels, "byUser", true, "timed", false), nil
}

// apiReaction: /_reaction @<contactId> <itemId> on|off {"type":"emoji","emoji":"👍"}.
func (s *Engine) apiReaction(ctx context.Context, args string) (Response, error) {
	f := strings.SplitN(args, " ", 4)
	if len(f) != 4 || (f[2] != "on" && f[2] != "off") {
		return Response{}, apiSyntax("want /_reaction @<contactId> <itemId> on|off {\"type\":\"emoji\",\"emoji\":...}")
	}
	var r struct {
		Type  string `json:"type"`
		Emoji string `json:"emoji"`
	}
	if err := json.Unmarshal([]byte(f[3]), &r); err != nil {
		return Response{}, apiSyntax("reaction: %v", err)
	}
	if r.Type != "emoji" {
		return Response{}, notSupported("reactions of type " + r.Type)
	}
	u, c, err := s.apiContact(ctx, f[0])
	if err != nil {
		return Response{}, err
	}
	it, err := s.apiItem(ctx, c, f[1])
	if err != nil {
		return Response{}, err
	}
	on := f[2] == "on"
	it, err = s.c.React(ctx, it.ID, r.Emoji, on)
	if err != nil {
		return Response{}, cmdErr("invalidReaction", "%s", oneLine(err.Error()))
	}
	s.remember(it)
	line := "added " + r.Emoji
	if !on {
		line = "removed " + r.Emoji
	}
	return resp("chatItemReaction", []string{line}, "user", u, "added", on,
		"reaction", Reaction{ChatItem: s.directItem(c, it), Emoji: r.Emoji, Sent: true}), nil
}

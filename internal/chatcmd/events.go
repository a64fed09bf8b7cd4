package chatcmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/smpkit/smpkit/reference/chat"
)

// event renders what the library reports, as upstream's terminal shows the
// matching ChatResponse.
func (s *Engine) event(ctx context.Context, ev chat.Event) []Response {
	if !s.shown(ctx, ev) {
		return nil
	}
	u, _ := s.userByID(ctx, ev.User())
	r, ok := s.eventResponse(ctx, u, ev)
	if !ok {
		return nil
	}
	if r.Fields == nil {
		r.Fields = map[string]any{}
	}
	r.Fields["user"] = u
	// Events of another user than the active one say whose they are.
	if !u.Active && len(r.Lines) > 0 && u.Profile.DisplayName != "" {
		r.Lines = append([]string{"[user: " + viewName(u.Profile.DisplayName) + "] " + r.Lines[0]}, r.Lines[1:]...)
	}
	return []Response{r}
}

func (s *Engine) eventResponse(ctx context.Context, u chat.User, ev chat.Event) (Response, bool) {
	switch e := ev.(type) {
	case chat.ContactConnected:
		c := e.Contact
		s.mu.Lock()
		s.contacts[c.ID] = c
		s.mu.Unlock()
		ls := []string{contactFull(c) + ": contact is connected"}
		if c.Incognito != nil {
			ls = []string{
				contactFull(c) + ": contact is connected, your incognito profile for this contact is " + c.Incognito.DisplayName,
				"use /i " + viewName(contactName(c)) + " to print out this incognito profile again",
			}
		}
		return resp("contactConnected", ls, "contact", c), true
	case chat.ContactRequested:
		r := e.Request
		name := "?"
		if r.Profile != nil {
			name = r.Profile.DisplayName
		}
		return resp("receivedContactRequest", []string{
			profileFull(name, r.Profile) + " wants to connect to you!",
			"to accept: /ac " + viewName(name),
			"to reject: /rc " + viewName(name) + " (the sender will NOT be notified)",
		}, "contactRequest", r), true
	case chat.ContactDeleted:
		return resp("contactDeletedByContact", []string{contactFull(e.Contact) + " deleted contact with you"}, "contact", e.Contact), true
	case chat.ContactUpdated:
		c := e.Contact
		s.mu.Lock()
		prev, had := s.contacts[c.ID]
		s.contacts[c.ID] = c
		s.mu.Unlock()
		var ls []string
		if had {
			ls = viewContactUpdated(prev, c)
		}
		return resp("contactUpdated", ls, "fromContact", prev, "toContact", c), true
	case chat.NewItem:
		it := e.Item
		c, err := s.c.Contact(ctx, it.ContactID)
		if err != nil {
			return Response{}, false
		}
		s.remember(it)
		if u.Active {
			s.setLast(Chat{'@', c.LocalName})
		}
		return resp("newChatItems", s.directLines(ctx, c, it, markNone), "chatItems", []AChatItem{s.directItem(c, it)}), true
	case chat.ItemUpdated:
		return s.itemUpdated(ctx, e.Item)
	case chat.GroupInvited:
		g := e.Group
		s.seenGroup(g)
		n := viewName(groupName(g))
		return resp("receivedGroupInvitation", []string{
			groupFull(g) + ": " + viewName(contactName(e.Contact)) + " invites you to join the group as " + string(g.Role),
			"use /j " + n + " to accept",
		}, "groupInfo", g, "contact", e.Contact, "memberRole", g.Role), true
	case chat.MemberConnected:
		g, m := e.Group, e.Member
		s.seenGroup(g)
		s.mu.Lock()
		invited := s.invited[m.ID]
		s.mu.Unlock()
		switch {
		case m.Host:
			return resp("userJoinedGroup", []string{groupRef(g) + ": you joined the group"}, "groupInfo", g, "hostMember", m), true
		case invited:
			return resp("joinedGroupMember", []string{groupRef(g) + ": " + viewName(memberName(m)) + " joined the group"}, "groupInfo", g, "member", m), true
		}
		return resp("connectedToGroupMember", []string{groupRef(g) + ": member " + memberFull(m) + " is connected"}, "groupInfo", g, "member", m), true
	case chat.MemberLeft:
		return resp("leftMember", []string{groupRef(e.Group) + ": " + viewName(memberName(e.Member)) + " left the group"}, "groupInfo", e.Group, "member", e.Member), true
	case chat.MemberRemoved:
		g := e.Group
		if e.Member.ID == 0 {
			return resp("deletedMemberUser", []string{
				groupRef(g) + ": " + viewName(memberName(e.By)) + " removed you from the group",
				"use /d " + groupRef(g) + " to delete the group",
			}, "groupInfo", g, "member", e.By), true
		}
		return resp("deletedMember", []string{groupRef(g) + ": " + viewName(memberName(e.By)) + " removed " + viewName(memberName(e.Member)) + " from the group"},
			"groupInfo", g, "byMember", e.By, "deletedMember", e.Member), true
	case chat.NewGroupItem:
		it := e.Item
		gs, err := s.c.Groups(ctx, it.UserID)
		if err != nil {
			return Response{}, false
		}
		for _, g := range gs {
			if g.ID == it.GroupID {
				m := s.member(ctx, g.ID, it.Author)
				s.seenGroupItem(it)
				if u.Active {
					s.setLast(Chat{'#', groupName(g)})
				}
				return resp("newChatItems", s.groupLines(g, m, it), "chatItems", []AChatItem{{Group: &g, Member: m, GroupItem: &it}}), true
			}
		}
		return Response{}, false
	case chat.MessageIntegrity:
		return resp("msgIntegrityError", []string{viewName(contactName(e.Contact)) + ": " + integrityText(e)}, "contact", e.Contact, "msgError", e.Integrity), true
	case chat.Error:
		return resp("chatError", []string{"error: " + oneLine(fmt.Sprint(e.Err))}, "chatError", ChatError{Type: "chatError", Message: oneLine(fmt.Sprint(e.Err))}), true
	}
	if r, ok := s.eventSec(ctx, u, ev); ok {
		return r, true
	}
	return s.eventGroups(ctx, u, ev)
}

func integrityText(e chat.MessageIntegrity) string {
	s := strings.TrimSpace(fmt.Sprintf("%v", e.Integrity))
	return "message integrity error " + s
}

func viewContactUpdated(prev, c chat.Contact) []string {
	n, n2 := contactName(prev), contactName(c)
	var full, full2 string
	if prev.Profile != nil {
		full = prev.Profile.FullName
	}
	if c.Profile != nil {
		full2 = c.Profile.FullName
	}
	switch {
	case n != n2:
		return []string{
			"contact " + viewName(n) + " changed to " + fullName(n2, full2),
			"use @" + viewName(n2) + " <message> to send messages",
		}
	case full == full2 && contactLink(prev) != contactLink(c):
		if contactLink(c) == "" {
			return []string{viewName(n) + " removed contact address"}
		}
		return []string{viewName(n) + " set new contact address, use /info " + viewName(n) + " to view"}
	case full != full2 && (full2 == "" || full2 == n2):
		return []string{"contact " + viewName(n) + " removed full name"}
	case full != full2:
		return []string{"contact " + viewName(n) + " updated full name: " + full2}
	}
	return nil
}

// itemUpdated tells what an ItemUpdated changed against the state last
// seen: an edit, a deletion, a reaction of the contact, or only a status.
func (s *Engine) itemUpdated(ctx context.Context, it chat.Item) (Response, bool) {
	s.mu.Lock()
	prev, had := s.items[it.ID]
	s.mu.Unlock()
	s.remember(it)
	c, err := s.c.Contact(ctx, it.ContactID)
	if err != nil {
		return Response{}, false
	}
	ai := s.directItem(c, it)
	switch {
	case it.Deleted && !(had && prev.Deleted):
		if it.Sent {
			return resp("chatItemsDeleted", nil, "chatItemDeletions", []ChatItemDeletion{{Deleted: ai, To: &ai}}, "byUser", true), true
		}
		return resp("chatItemsDeleted", s.directLines(ctx, c, it, markDeleted), "chatItemDeletions", []ChatItemDeletion{{Deleted: ai, To: &ai}}, "byUser", false), true
	case it.Edited && !(had && prev.Text == it.Text && prev.Edited):
		var ls []string
		if !it.Sent {
			ls = s.directLines(ctx, c, it, markEdited)
		}
		return resp("chatItemUpdated", ls, "chatItem", ai), true
	}
	if added, removed := reactionDiff(prev.Reactions, it.Reactions, had); len(added)+len(removed) > 0 {
		p := ">"
		if it.Sent {
			p = ">>"
		}
		head := msgTime(s.opts.Now(), s.opts.Now()) + " " + incognitoPrefix(c) + viewName(contactName(c)) + "> "
		quote := prependFirst(p+" ", textLines(preview(it.Text)))
		var rs []Response
		for _, e := range added {
			rs = append(rs, resp("chatItemReaction", append(prependFirst(head, quote), "    + "+e), "added", true, "reaction", Reaction{ChatItem: ai, Emoji: e}))
		}
		for _, e := range removed {
			rs = append(rs, resp("chatItemReaction", append(prependFirst(head, quote), "    - "+e), "added", false, "reaction", Reaction{ChatItem: ai, Emoji: e}))
		}
		// One event, one response: several changes at once are rare
		// (a restart); their lines go together.
		r := rs[0]
		for _, x := range rs[1:] {
			r.Lines = append(r.Lines, x.Lines...)
		}
		return r, true
	}
	return resp("chatItemsStatusesUpdated", nil, "chatItems", []AChatItem{ai}), true
}

// reactionDiff is which of the contact's reactions came and went.
func reactionDiff(prev, cur []chat.Reaction, had bool) (added, removed []string) {
	count := func(rs []chat.Reaction) map[string]int {
		m := map[string]int{}
		for _, r := range rs {
			if !r.Sent {
				m[r.Emoji]++
			}
		}
		return m
	}
	p, c := count(prev), count(cur)
	if !had {
		return nil, nil
	}
	for _, r := range cur {
		if !r.Sent && c[r.Emoji] > p[r.Emoji] {
			added = append(added, r.Emoji)
			p[r.Emoji] = c[r.Emoji]
		}
	}
	for _, r := range prev {
		if !r.Sent && p[r.Emoji] > c[r.Emoji] {
			removed = append(removed, r.Emoji)
			c[r.Emoji] = p[r.Emoji]
		}
	}
	return added, removed
}

func contactLink(c chat.Contact) string {
	if c.Profile == nil || c.Profile.ContactLink == nil {
		return ""
	}
	return *c.Profile.ContactLink
}

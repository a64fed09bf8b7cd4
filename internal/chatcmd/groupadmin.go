package chatcmd

// Group links, roles, deletion, profiles and group edits, deletes and
// reactions over reference/chat, as upstream's
// terminal shows them.

import (
	"context"
	"errors"
	"strings"

	"github.com/smpkit/smpkit/reference/chat"
	"github.com/smpkit/smpkit/reference/chatmsg"
)

func groupLinkLines(intro string, g chat.Group, link string, role chatmsg.Role) []string {
	n := groupRef(g)
	return []string{
		intro,
		"",
		link,
		"",
		"Anybody can connect to you and join group as " + string(role) + " with: /c <group_link_above>",
		"to show it again: /show link " + n,
		"to delete it: /delete link " + n + " (joined members will remain connected to you)",
	}
}

func (s *Engine) createGroupLink(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	g, err := s.findGroup(ctx, u.ID, cmd.Name)
	if err != nil {
		return Response{}, err
	}
	if _, _, err := s.c.GroupLink(ctx, g.ID); err == nil {
		return Response{}, cmdErr("duplicateGroupLink", "you already have link for this group, to show: /show link %s", groupRef(g))
	}
	if cmd.Role != chatmsg.RoleMember && cmd.Role != chatmsg.RoleObserver {
		return Response{}, cmdErr("groupMemberInitialRole", "%s: initial role for group member cannot be %s, use member or observer", groupRef(g), cmd.Role)
	}
	link, err := s.c.CreateGroupLink(ctx, g.ID, cmd.Role)
	if err != nil {
		return Response{}, err
	}
	return resp("groupLinkCreated", groupLinkLines("Group link is created!", g, link, cmd.Role),
		"user", u, "groupInfo", g, "connLinkContact", link, "memberRole", cmd.Role), nil
}

func (s *Engine) groupLink(ctx context.Context, g chat.Group) (string, chatmsg.Role, error) {
	link, role, err := s.c.GroupLink(ctx, g.ID)
	if errors.Is(err, chat.ErrNotFound) {
		return "", "", cmdErr("groupLinkNotFound", "no group link, to create: /create link %s", groupRef(g))
	}
	return link, role, err
}

func (s *Engine) showGroupLink(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	g, err := s.findGroup(ctx, u.ID, cmd.Name)
	if err != nil {
		return Response{}, err
	}
	link, role, err := s.groupLink(ctx, g)
	if err != nil {
		return Response{}, err
	}
	return resp("groupLink", groupLinkLines("Group link:", g, link, role),
		"user", u, "groupInfo", g, "connLinkContact", link, "memberRole", role), nil
}

func (s *Engine) deleteGroupLink(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	g, err := s.findGroup(ctx, u.ID, cmd.Name)
	if err != nil {
		return Response{}, err
	}
	if _, _, err := s.groupLink(ctx, g); err != nil {
		return Response{}, err
	}
	if err := s.c.DeleteGroupLink(ctx, g.ID); err != nil {
		return Response{}, err
	}
	return resp("groupLinkDeleted", []string{
		"Group link is deleted - joined members will remain connected.",
		"To create a new group link use /create link " + groupRef(g),
	}, "user", u, "groupInfo", g), nil
}

func (s *Engine) joinGroupLink(ctx context.Context, u chat.User, link string) (Response, error) {
	g, err := s.c.JoinGroupLink(ctx, link)
	if err != nil {
		return Response{}, linkError(err)
	}
	return resp("sentInvitation", []string{"connection request sent!"}, "user", u, "groupInfo", g), nil
}

func (s *Engine) memberRole(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	g, err := s.findGroup(ctx, u.ID, cmd.Name)
	if err != nil {
		return Response{}, err
	}
	m, err := s.findMember(ctx, g, cmd.Member)
	if err != nil {
		return Response{}, err
	}
	if m.Role == cmd.Role {
		return resp("membersRoleUser", []string{groupRef(g) + ": member role did not change"}, "user", u, "groupInfo", g, "members", []chat.Member{m}, "toRole", cmd.Role), nil
	}
	if err := s.c.ChangeMemberRole(ctx, g.ID, m.ID, cmd.Role); err != nil {
		return Response{}, err
	}
	return resp("membersRoleUser", []string{groupRef(g) + ": you changed the role of " + viewName(memberName(m)) + " from " + string(m.Role) + " to " + string(cmd.Role)},
		"user", u, "groupInfo", g, "members", []chat.Member{m}, "toRole", cmd.Role), nil
}

func (s *Engine) deleteGroup(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	g, err := s.findGroup(ctx, u.ID, cmd.Name)
	if err != nil {
		return Response{}, err
	}
	leaves := g.Status == chat.GroupActive && g.Role != chatmsg.RoleOwner
	if err := s.c.DeleteGroup(ctx, g.ID); err != nil {
		return Response{}, err
	}
	if leaves {
		return resp("leftMemberUser", []string{groupRef(g) + ": you left the group", "use /d " + groupRef(g) + " to delete the group"}, "user", u, "groupInfo", g), nil
	}
	return resp("groupDeletedUser", []string{groupRef(g) + ": you deleted the group"}, "user", u, "groupInfo", g), nil
}

// groupProfile shows the profile (/gp team) or changes its names
// (/gp team NEWNAME [FULL NAME]).
func (s *Engine) groupProfile(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	g, err := s.findGroup(ctx, u.ID, cmd.Name)
	if err != nil {
		return Response{}, err
	}
	if cmd.Member == "" {
		ls := []string{groupFull(g)}
		if d := g.Profile.Description; d != nil && *d != "" {
			ls = append(ls, "description:")
			ls = append(ls, textLines(*d)...)
		}
		return resp("groupProfile", ls, "user", u, "groupInfo", g), nil
	}
	p := g.Profile
	p.DisplayName, p.FullName = cmd.Member, cmd.Text
	g2, err := s.c.UpdateGroupProfile(ctx, g.ID, p)
	if err != nil {
		return Response{}, err
	}
	s.seenGroup(g2)
	return resp("groupUpdated", groupUpdatedLines(g, g2), "user", u, "fromGroup", g, "toGroup", g2), nil
}

// groupUpdatedLines is upstream's viewGroupUpdated for the names and the
// description.
func groupUpdatedLines(g, g2 chat.Group) []string {
	var ls []string
	n, n2 := groupName(g), groupName(g2)
	if n != n2 {
		ls = append(ls, "changed to "+groupFull(g2))
	}
	if f2 := g2.Profile.FullName; n == n2 && g.Profile.FullName != f2 {
		if f2 == "" || f2 == n2 {
			ls = append(ls, "full name removed")
		} else {
			ls = append(ls, "full name changed to: "+f2)
		}
	}
	d, d2 := "", ""
	if g.Profile.Description != nil {
		d = *g.Profile.Description
	}
	if g2.Profile.Description != nil {
		d2 = *g2.Profile.Description
	}
	if d != d2 {
		if d2 == "" {
			ls = append(ls, "description removed")
		} else {
			ls = append(ls, "description changed to:")
			ls = append(ls, textLines(d2)...)
		}
	}
	return ls
}

// findGroupItem is the newest group item whose text starts with prefix.
func (s *Engine) findGroupItem(ctx context.Context, g chat.Group, prefix string, dir direction) (chat.GroupItem, error) {
	items, err := s.c.GroupItems(ctx, g.ID, 0, 1000)
	if err != nil {
		return chat.GroupItem{}, err
	}
	for i := len(items) - 1; i >= 0; i-- {
		it := items[i]
		if it.Deleted || dir == sentDir && !it.Sent || dir == rcvdDir && it.Sent {
			continue
		}
		if strings.HasPrefix(it.Text, prefix) {
			return it, nil
		}
	}
	return chat.GroupItem{}, cmdErr("chatItemNotFoundByText", "message not found by text: %s", prefix)
}

func (s *Engine) groupItemOf(ctx context.Context, g chat.Group, it chat.GroupItem) AChatItem {
	m := s.member(ctx, g.ID, it.Author)
	return AChatItem{Group: &g, Member: m, GroupItem: &it}
}

func (s *Engine) editGroup(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	g, err := s.findGroup(ctx, u.ID, cmd.Chat.Name)
	if err != nil {
		return Response{}, err
	}
	old, err := s.findGroupItem(ctx, g, cmd.Quote, sentDir)
	if err != nil {
		return Response{}, err
	}
	if old.Text == cmd.Text {
		return resp("chatItemNotChanged", []string{"message didn't change"}, "user", u, "chatItem", s.groupItemOf(ctx, g, old)), nil
	}
	it, err := s.c.UpdateGroupMessage(ctx, old.ID, text(cmd.Text))
	if err != nil {
		return Response{}, err
	}
	s.rememberGroup(it)
	ls := messageLines(msgTime(s.opts.Now(), it.CreatedAt), groupRef(g)+" [edited] ", quoteView{}, it.Text)
	return resp("chatItemUpdated", ls, "user", u, "chatItem", s.groupItemOf(ctx, g, it)), nil
}

func (s *Engine) deleteGroupMsg(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	g, err := s.findGroup(ctx, u.ID, cmd.Chat.Name)
	if err != nil {
		return Response{}, err
	}
	it, err := s.findGroupItem(ctx, g, cmd.Text, sentDir)
	if err != nil {
		return Response{}, err
	}
	if err := s.c.DeleteGroupMessage(ctx, it.ID, true); err != nil {
		return Response{}, err
	}
	before := s.groupItemOf(ctx, g, it)
	var to *AChatItem
	if now, err := s.c.GroupItem(ctx, it.ID); err == nil {
		s.rememberGroup(now)
		ai := s.groupItemOf(ctx, g, now)
		to = &ai
	}
	return resp("chatItemsDeleted", []string{"message marked deleted"}, "user", u,
		"chatItemDeletions", []ChatItemDeletion{{Deleted: before, To: to}}, "byUser", true), nil
}

func (s *Engine) reactGroup(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	g, err := s.findGroup(ctx, u.ID, cmd.Chat.Name)
	if err != nil {
		return Response{}, err
	}
	it, err := s.findGroupItem(ctx, g, cmd.Text, anyDir)
	if err != nil {
		return Response{}, err
	}
	it, err = s.c.ReactGroup(ctx, it.ID, cmd.Emoji, cmd.On)
	if err != nil {
		return Response{}, cmdErr("invalidReaction", "%s", oneLine(err.Error()))
	}
	s.rememberGroup(it)
	line := "added " + cmd.Emoji
	if !cmd.On {
		line = "removed " + cmd.Emoji
	}
	return resp("chatItemReaction", []string{line}, "user", u, "added", cmd.On,
		"reaction", Reaction{ChatItem: s.groupItemOf(ctx, g, it), Emoji: cmd.Emoji, Sent: true}), nil
}

func (s *Engine) groupItems() map[int64]chat.GroupItem {
	if s.extra == nil {
		s.extra = map[string]any{}
	}
	m, ok := s.extra["groupItems"].(map[int64]chat.GroupItem)
	if !ok || len(m) > 5000 {
		m = map[int64]chat.GroupItem{}
		s.extra["groupItems"] = m
	}
	return m
}

func (s *Engine) rememberGroup(it chat.GroupItem) {
	s.mu.Lock()
	s.groupItems()[it.ID] = it
	s.mu.Unlock()
}

func (s *Engine) groupOf(ctx context.Context, userID, groupID int64) (chat.Group, bool) {
	gs, err := s.c.Groups(ctx, userID)
	if err != nil {
		return chat.Group{}, false
	}
	for _, g := range gs {
		if g.ID == groupID {
			return g, true
		}
	}
	return chat.Group{}, false
}

func (s *Engine) eventGroups(ctx context.Context, u chat.User, ev chat.Event) (Response, bool) {
	switch e := ev.(type) {
	case chat.GroupDeleted:
		g := e.Group
		s.seenGroup(g)
		return resp("groupDeleted", []string{
			groupRef(g) + ": " + viewName(memberName(e.By)) + " deleted the group",
			"use /d " + groupRef(g) + " to delete the local copy of the group",
		}, "groupInfo", g, "member", e.By), true
	case chat.GroupUpdated:
		s.mu.Lock()
		prev, had := s.groupCache()[e.Group.ID]
		s.groupCache()[e.Group.ID] = e.Group
		s.mu.Unlock()
		ls := []string{viewName(memberName(e.By)) + " updated group " + groupRef(e.Group) + ":"}
		if had {
			ls = []string{viewName(memberName(e.By)) + " updated group " + groupRef(prev) + ":"}
			ls = append(ls, groupUpdatedLines(prev, e.Group)...)
		} else {
			ls = append(ls, "profile: "+groupFull(e.Group))
		}
		return resp("groupUpdated", ls, "toGroup", e.Group, "member_", e.By), true
	case chat.MemberRoleChanged:
		g := groupRef(e.Group)
		by := viewName(memberName(e.By))
		var what string
		switch {
		case e.From == e.To:
			return resp("memberRole", []string{g + ": member role did not change"}, "groupInfo", e.Group), true
		case e.Member.ID == 0:
			what = "your role"
		case e.By.ID == e.Member.ID:
			what = "the role"
		default:
			what = "the role of " + viewName(memberName(e.Member))
		}
		return resp("memberRole", []string{g + ": " + by + " changed " + what + " from " + string(e.From) + " to " + string(e.To)},
			"groupInfo", e.Group, "byMember", e.By, "member", e.Member, "fromRole", e.From, "toRole", e.To), true
	case chat.MemberUpdated:
		return resp("groupMemberUpdated", nil, "groupInfo", e.Group, "member", e.Member), true
	case chat.GroupItemUpdated:
		return s.groupItemUpdated(ctx, e.Item)
	}
	return Response{}, false
}

func (s *Engine) groupCache() map[int64]chat.Group {
	if s.extra == nil {
		s.extra = map[string]any{}
	}
	m, ok := s.extra["groups"].(map[int64]chat.Group)
	if !ok {
		m = map[int64]chat.Group{}
		s.extra["groups"] = m
	}
	return m
}

func (s *Engine) groupItemUpdated(ctx context.Context, it chat.GroupItem) (Response, bool) {
	s.mu.Lock()
	prev, had := s.groupItems()[it.ID]
	s.groupItems()[it.ID] = it
	s.mu.Unlock()
	g, ok := s.groupOf(ctx, it.UserID, it.GroupID)
	if !ok {
		return Response{}, false
	}
	ai := s.groupItemOf(ctx, g, it)
	author := "?"
	if ai.Member != nil {
		author = viewName(memberName(*ai.Member))
	}
	ts := msgTime(s.opts.Now(), it.CreatedAt)
	switch {
	case it.Deleted && !(had && prev.Deleted):
		var ls []string
		if !it.Sent {
			mark := "[marked deleted] "
			if it.ModeratedBy > 0 {
				if m := s.member(ctx, g.ID, it.ModeratedBy); m != nil {
					mark = "[marked deleted by " + viewName(memberName(*m)) + "] "
				}
			}
			ls = messageLines(ts, groupRef(g)+" "+author+"> "+mark, quoteView{}, it.Text)
		}
		return resp("chatItemsDeleted", ls, "chatItemDeletions", []ChatItemDeletion{{Deleted: ai, To: &ai}}, "byUser", it.Sent), true
	case it.Edited && !(had && prev.Edited && prev.Text == it.Text):
		var ls []string
		if !it.Sent {
			ls = messageLines(ts, groupRef(g)+" "+author+"> [edited] ", quoteView{}, it.Text)
		}
		return resp("chatItemUpdated", ls, "chatItem", ai), true
	}
	if !had {
		return resp("chatItemsStatusesUpdated", nil, "chatItems", []AChatItem{ai}), true
	}
	count := func(rs []chat.GroupReaction) map[chat.GroupReaction]int {
		m := map[chat.GroupReaction]int{}
		for _, r := range rs {
			if r.Member != 0 {
				m[r]++
			}
		}
		return m
	}
	p, c := count(prev.Reactions), count(it.Reactions)
	quoted := author
	if it.Sent {
		quoted = viewName(u0(ctx, s, it.UserID))
	}
	var ls []string
	var last Reaction
	add := func(r chat.GroupReaction, sign string) {
		who := "?"
		if m := s.member(ctx, g.ID, r.Member); m != nil {
			who = viewName(memberName(*m))
		}
		ls = append(ls, prependFirst(msgTime(s.opts.Now(), s.opts.Now())+" "+groupRef(g)+" "+who+"> ", prependFirst("> "+quoted+" ", textLines(preview(it.Text))))...)
		ls = append(ls, "    "+sign+" "+r.Emoji)
		last = Reaction{ChatItem: ai, Emoji: r.Emoji}
	}
	for r, n := range c {
		if n > p[r] {
			add(r, "+")
		}
	}
	for r, n := range p {
		if n > c[r] {
			add(r, "-")
		}
	}
	if len(ls) == 0 {
		return resp("chatItemsStatusesUpdated", nil, "chatItems", []AChatItem{ai}), true
	}
	return resp("chatItemReaction", ls, "reaction", last), true
}

// u0 is a user's display name.
func u0(ctx context.Context, s *Engine, userID int64) string {
	if u, ok := s.userByID(ctx, userID); ok {
		return u.Profile.DisplayName
	}
	return "?"
}

func (s *Engine) seenGroupItem(it chat.GroupItem) { s.rememberGroup(it) }

func (s *Engine) seenGroup(g chat.Group) {
	s.mu.Lock()
	s.groupCache()[g.ID] = g
	s.mu.Unlock()
}

// groupItemExtra is what a group item's lines show of its deletion (a
// suffix) and its reactions (upstream's viewItemReactions).
func groupItemExtra(it chat.GroupItem) (string, []string) {
	suffix := ""
	if it.Deleted {
		suffix = " [marked deleted]"
	}
	rs := make([]chat.Reaction, len(it.Reactions))
	for i, r := range it.Reactions {
		rs[i] = chat.Reaction{Emoji: r.Emoji, Sent: r.Member == 0}
	}
	return suffix, reactionsLine(rs)
}

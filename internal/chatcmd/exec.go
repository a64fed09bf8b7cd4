package chatcmd

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/smpkit/smpkit/internal/qr"
	"github.com/smpkit/smpkit/reference/chat"
	"github.com/smpkit/smpkit/reference/chatmsg"
)

func text(s string) chatmsg.Content {
	return chatmsg.Content{Type: chatmsg.ContentText, Text: s, HasText: true}
}

func (s *Engine) exec(ctx context.Context, cmd Command) (Response, error) {
	switch cmd.Op {
	case OpHelp:
		return resp("chatHelp", helpLines(cmd.Section), "helpSection", cmd.Section), nil
	case OpVersion:
		return resp("versionInfo", []string{s.opts.Version}, "version", s.opts.Version), nil
	case OpQuit:
		return Response{}, cmdErr("commandError", "/quit is taken by the terminal only")
	case OpUsers:
		return s.users(ctx)
	case OpCreateUser:
		return s.createUser(ctx, cmd)
	case OpSetUser:
		if cmd.Text != "" {
			return s.setUserPassword(ctx, cmd)
		}
		u, err := s.findUser(ctx, cmd.Name)
		if err != nil {
			return Response{}, err
		}
		if err := s.c.SetActiveUser(ctx, u.ID); err != nil {
			return Response{}, err
		}
		u.Active = true
		return resp("activeUser", viewUserProfile(u.Profile), "user", u), nil
	case OpDeleteUser:
		if cmd.Text != "" {
			return s.deleteUserPassword(ctx, cmd)
		}
		u, err := s.findUser(ctx, cmd.Name)
		if err != nil {
			return Response{}, err
		}
		if u.Active {
			return Response{}, cmdErr("cantDeleteActiveUser", "cannot delete active user")
		}
		if err := s.c.DeleteUser(ctx, u.ID); err != nil {
			return Response{}, err
		}
		return resp("cmdOk", []string{"ok"}), nil
	case OpServers:
		return s.servers(), nil
	case OpSetServers:
		return s.setServers(cmd.Text)
	case OpTestServer:
		if s.opts.TestServer == nil {
			return Response{}, notSupported("/smp test")
		}
		if err := s.opts.TestServer(ctx, cmd.Text); err != nil {
			return resp("serverTestResult", []string{"SMP server test failed, error: " + oneLine(err.Error())}, "server", cmd.Text), nil
		}
		return resp("serverTestResult", []string{"SMP server test passed"}, "server", cmd.Text), nil
	case OpIncognito:
		s.mu.Lock()
		if cmd.Section != "show" {
			s.incognito = cmd.On
		}
		on := s.incognito
		s.mu.Unlock()
		line := "incognito mode off: new connections use your profile"
		if on {
			line = "incognito mode on: each new connection uses a new random profile"
		}
		return resp("cmdOk", []string{line}, "incognito", on), nil
	}
	u, err := s.activeUser(ctx)
	if err != nil {
		return Response{}, err
	}
	switch cmd.Op {
	case OpHideUser:
		return s.hideUser(ctx, u, cmd.Text)
	case OpUnhideUser:
		return s.unhideUser(ctx, u, cmd.Text)
	case OpMuteUser:
		return s.muteUser(ctx, u, true)
	case OpUnmuteUser:
		return s.muteUser(ctx, u, false)
	case OpFeed:
		return s.feed(ctx, u, cmd)
	case OpCode:
		return s.code(ctx, u, cmd)
	case OpVerify:
		return s.verify(ctx, u, cmd)
	case OpSwitch:
		return s.switchContact(ctx, u, cmd)
	case OpSync:
		return s.syncContact(ctx, u, cmd)
	case OpSetDisappear:
		c, err := s.readyContact(ctx, u.ID, cmd.Name)
		if err != nil {
			return Response{}, err
		}
		ttl := time.Duration(0)
		if cmd.On {
			ttl = time.Duration(cmd.Count) * time.Second
		}
		if err := s.c.SetTimedMessages(ctx, c.ID, ttl); err != nil {
			return Response{}, err
		}
		line := "Disappearing messages: off"
		if cmd.On {
			line = "Disappearing messages: allowed, after " + ttlText(cmd.Count)
		}
		return resp("contactPrefsUpdated", []string{"you updated preferences for " + viewName(c.LocalName) + ":", line},
			"user", u, "fromContact", c, "toContact", c), nil
	case OpMemberCode, OpMemberVerify, OpMemberSwitch, OpMemberSync:
		return s.memberSecurity(ctx, u, cmd)
	case OpCreateGroupLink:
		return s.createGroupLink(ctx, u, cmd)
	case OpShowGroupLink:
		return s.showGroupLink(ctx, u, cmd)
	case OpDeleteGroupLink:
		return s.deleteGroupLink(ctx, u, cmd)
	case OpMemberRole:
		return s.memberRole(ctx, u, cmd)
	case OpDeleteGroup:
		return s.deleteGroup(ctx, u, cmd)
	case OpGroupProfile:
		return s.groupProfile(ctx, u, cmd)
	case OpShowUser:
		return resp("activeUser", viewUserProfile(u.Profile), "user", u), nil
	case OpShowProfile:
		return resp("userProfile", viewUserProfile(u.Profile), "user", u, "profile", u.Profile), nil
	case OpUpdateProfile:
		return s.updateProfile(ctx, u, cmd)
	case OpConnect:
		return s.connect(ctx, u, cmd)
	case OpConnectQR:
		link, err := qr.DecodeFile(cmd.Text)
		if err != nil {
			return Response{}, cmdErr("commandError", "%s", oneLine(err.Error()))
		}
		cmd.Text = strings.TrimSpace(link)
		return s.connect(ctx, u, cmd)
	case OpCreateAddress:
		if _, err := s.c.UserAddress(ctx, u.ID); err == nil {
			return Response{}, cmdErr("duplicateContactLink", "you already have chat address, to show: /sa")
		}
		a, err := s.c.CreateAddress(ctx)
		if err != nil {
			return Response{}, err
		}
		return resp("userContactLinkCreated", viewAddress("Your new chat address is created!", a.Link), "user", u, "connLinkContact", a.Link), nil
	case OpShowAddress:
		a, err := s.address(ctx, u)
		if err != nil {
			return Response{}, err
		}
		return resp("userContactLink", append(viewAddress("Your chat address:", a.Link), viewAutoAccept(a)...), "user", u, "contactLink", a), nil
	case OpDeleteAddress:
		if _, err := s.address(ctx, u); err != nil {
			return Response{}, err
		}
		if err := s.c.DeleteAddress(ctx, u.ID); err != nil {
			return Response{}, err
		}
		return resp("userContactLinkDeleted", []string{
			"Your chat address is deleted - accepted contacts will remain connected.",
			"To create a new chat address use /ad",
		}, "user", u), nil
	case OpProfileAddress:
		return s.profileAddress(ctx, u, cmd.On)
	case OpAutoAccept:
		if cmd.Incognito {
			return Response{}, notSupported("incognito auto-accept")
		}
		if _, err := s.address(ctx, u); err != nil {
			return Response{}, err
		}
		if err := s.c.SetAutoAccept(ctx, u.ID, cmd.On, cmd.Text); err != nil {
			return Response{}, err
		}
		a, err := s.address(ctx, u)
		if err != nil {
			return Response{}, err
		}
		return resp("userContactLinkUpdated", viewAutoAccept(a), "user", u, "contactLink", a), nil
	case OpAccept:
		if cmd.Incognito {
			return Response{}, notSupported("accepting incognito")
		}
		r, err := s.findRequest(ctx, u.ID, cmd.Name)
		if err != nil {
			return Response{}, err
		}
		c, err := s.c.AcceptRequest(ctx, r.ID)
		if err != nil {
			return Response{}, err
		}
		return resp("acceptingContactRequest", []string{profileFull(cmd.Name, r.Profile) + ": accepting contact request, you can send messages to contact"}, "user", u, "contact", c), nil
	case OpReject:
		r, err := s.findRequest(ctx, u.ID, cmd.Name)
		if err != nil {
			return Response{}, err
		}
		if err := s.c.RejectRequest(ctx, r.ID); err != nil {
			return Response{}, err
		}
		return resp("contactRequestRejected", []string{viewName(cmd.Name) + ": contact request rejected"}, "user", u, "contactRequest", r), nil
	case OpDeleteContact:
		c, err := s.findContact(ctx, u.ID, cmd.Name)
		if err != nil {
			return Response{}, err
		}
		if err := s.c.DeleteContact(ctx, c.ID); err != nil {
			return Response{}, err
		}
		return resp("contactDeleted", []string{viewName(c.LocalName) + ": contact is deleted"}, "user", u, "contact", c), nil
	case OpContacts:
		return s.contactsList(ctx, u)
	case OpChats:
		return s.chats(ctx, u, cmd.Count)
	case OpInfo:
		c, err := s.findContact(ctx, u.ID, cmd.Name)
		if err != nil {
			return Response{}, err
		}
		ls := []string{fmt.Sprintf("contact ID: %d", c.ID)}
		if l := contactLink(c); l != "" {
			ls = append(ls, "contact address: "+l)
		}
		if c.Incognito != nil {
			ls = append(ls, "you've shared incognito profile with this contact: "+c.Incognito.DisplayName)
		} else {
			ls = append(ls, "you've shared main profile with this contact")
		}
		ls = append(ls, "connection not verified, use /code command to see security code")
		return resp("contactInfo", ls, "user", u, "contact", c), nil
	case OpGroupInfo:
		g, err := s.findGroup(ctx, u.ID, cmd.Name)
		if err != nil {
			return Response{}, err
		}
		ms, err := s.c.Members(ctx, g.ID)
		if err != nil {
			return Response{}, err
		}
		n := 1
		for _, m := range ms {
			if m.Status != chat.MemberHasLeft && m.Status != chat.MemberWasRemoved {
				n++
			}
		}
		return resp("groupInfo", []string{fmt.Sprintf("group ID: %d", g.ID), fmt.Sprintf("current members: %d", n)},
			"user", u, "groupInfo", g, "groupSummary", map[string]int{"currentMembers": n}), nil
	case OpSend:
		return s.send(ctx, u, cmd)
	case OpReply:
		return s.reply(ctx, u, cmd)
	case OpEdit:
		return s.edit(ctx, u, cmd)
	case OpDeleteMsg:
		return s.deleteMsg(ctx, u, cmd)
	case OpReact:
		return s.react(ctx, u, cmd)
	case OpTail:
		return s.tail(ctx, u, cmd)
	case OpSearch:
		return s.search(ctx, u, cmd)
	case OpNewGroup:
		if cmd.Incognito {
			return Response{}, notSupported("incognito groups")
		}
		if _, err := s.findGroup(ctx, u.ID, cmd.Name); err == nil {
			return Response{}, cmdErr("duplicateName", "this display name is already used by user, contact or group")
		}
		g, err := s.c.CreateGroup(ctx, chatmsg.GroupProfile{DisplayName: cmd.Name, FullName: cmd.Text})
		if err != nil {
			return Response{}, err
		}
		n := viewName(groupName(g))
		return resp("groupCreated", []string{
			"group " + groupFull(g) + " is created",
			"to add members use /a " + n + " <name> or /create link #" + n,
		}, "user", u, "groupInfo", g), nil
	case OpAddMember:
		g, err := s.findGroup(ctx, u.ID, cmd.Name)
		if err != nil {
			return Response{}, err
		}
		c, err := s.readyContact(ctx, u.ID, cmd.Member)
		if err != nil {
			return Response{}, err
		}
		m, err := s.c.InviteToGroup(ctx, g.ID, c.ID, cmd.Role)
		if err != nil {
			return Response{}, err
		}
		s.mu.Lock()
		s.invited[m.ID] = true
		s.mu.Unlock()
		return resp("sentGroupInvitation", []string{"invitation to join the group " + groupRef(g) + " sent to " + viewName(c.LocalName)},
			"user", u, "groupInfo", g, "contact", c, "member", m), nil
	case OpJoin:
		if isLink(cmd.Name) {
			return s.joinGroupLink(ctx, u, cmd.Name)
		}
		g, err := s.findGroup(ctx, u.ID, cmd.Name)
		if err != nil {
			return Response{}, err
		}
		if g.Status != chat.GroupPending {
			return Response{}, cmdErr("groupAlreadyJoined", "you already joined this group")
		}
		if err := s.c.JoinGroup(ctx, g.ID); err != nil {
			return Response{}, err
		}
		// Upstream prints nothing until "#team: you joined the group".
		return resp("userAcceptedGroupSent", nil, "user", u, "groupInfo", g), nil
	case OpRemoveMember:
		g, err := s.findGroup(ctx, u.ID, cmd.Name)
		if err != nil {
			return Response{}, err
		}
		m, err := s.findMember(ctx, g, cmd.Member)
		if err != nil {
			return Response{}, err
		}
		if err := s.c.RemoveMember(ctx, g.ID, m.ID); err != nil {
			return Response{}, err
		}
		return resp("userDeletedMembers", []string{groupRef(g) + ": you removed " + viewName(memberName(m)) + " from the group"},
			"user", u, "groupInfo", g, "members", []chat.Member{m}), nil
	case OpLeave:
		g, err := s.findGroup(ctx, u.ID, cmd.Name)
		if err != nil {
			return Response{}, err
		}
		if err := s.c.LeaveGroup(ctx, g.ID); err != nil {
			return Response{}, err
		}
		return resp("leftMemberUser", []string{groupRef(g) + ": you left the group", "use /d " + groupRef(g) + " to delete the group"},
			"user", u, "groupInfo", g), nil
	case OpMembers:
		return s.members(ctx, u, cmd.Name)
	case OpGroups:
		return s.groupsList(ctx, u)
	}
	return Response{}, cmdErr("commandError", "bad chat command")
}

func (s *Engine) address(ctx context.Context, u chat.User) (chat.Address, error) {
	a, err := s.c.UserAddress(ctx, u.ID)
	if errors.Is(err, chat.ErrNotFound) {
		return a, cmdErr("userContactLinkNotFound", "no chat address, to create: /ad")
	}
	return a, err
}

func (s *Engine) users(ctx context.Context) (Response, error) {
	us, err := s.c.Users(ctx)
	if err != nil {
		return Response{}, err
	}
	sorted := append([]chat.User(nil), us...)
	sort.SliceStable(sorted, func(i, j int) bool {
		return strings.ToLower(sorted[i].Profile.DisplayName) < strings.ToLower(sorted[j].Profile.DisplayName)
	})
	var ls []string
	for _, u := range sorted {
		l := fullName(u.Profile.DisplayName, u.Profile.FullName)
		var info []string
		if u.Active {
			info = append(info, "active")
		}
		info = append(info, userMarks(u)...)
		if len(info) > 0 {
			l += " (" + strings.Join(info, ", ") + ")"
		}
		ls = append(ls, l)
	}
	if len(ls) == 0 {
		ls = []string{"no users"}
	}
	return resp("usersList", ls, "users", us), nil
}

func (s *Engine) createUser(ctx context.Context, cmd Command) (Response, error) {
	if _, err := s.findUser(ctx, cmd.Name); err == nil {
		return Response{}, cmdErr("userExists", "user with the name %s already exists", viewName(cmd.Name))
	}
	u, err := s.c.CreateUser(ctx, chatmsg.Profile{DisplayName: cmd.Name, FullName: cmd.Text})
	if err != nil {
		return Response{}, cmdErr("invalidDisplayName", "%s", oneLine(err.Error()))
	}
	if err := s.c.SetActiveUser(ctx, u.ID); err != nil {
		return Response{}, err
	}
	u.Active = true
	return resp("activeUser", viewUserProfile(u.Profile), "user", u), nil
}

func (s *Engine) updateProfile(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	p := u.Profile
	if p.DisplayName == cmd.Name && p.FullName == cmd.Text {
		return resp("userProfileNoChange", []string{"user profile did not change"}, "user", u), nil
	}
	from := p
	p.DisplayName, p.FullName = cmd.Name, cmd.Text
	if err := s.c.UpdateProfile(ctx, u.ID, p); err != nil {
		return Response{}, err
	}
	cs, _ := s.c.Contacts(ctx, u.ID)
	n := 0
	for _, c := range cs {
		if c.Status == chat.StatusConnected {
			n++
		}
	}
	notified := fmt.Sprintf(" (your %d contacts are notified)", n)
	var line string
	switch {
	case from.DisplayName != p.DisplayName:
		line = "user profile is changed to " + fullName(p.DisplayName, p.FullName) + notified
	case p.FullName == "" || p.FullName == p.DisplayName:
		line = "user full name removed" + notified
	default:
		line = "user full name changed to " + p.FullName + notified
	}
	u.Profile = p
	return resp("userProfileUpdated", []string{line}, "user", u, "fromProfile", from, "toProfile", p), nil
}

func (s *Engine) connect(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	s.mu.Lock()
	incognito := cmd.Incognito || s.incognito
	s.mu.Unlock()
	if cmd.Text == "" {
		create := s.c.CreateInvitation
		if incognito {
			create = s.c.CreateIncognitoInvitation
		}
		c, link, err := create(ctx)
		if err != nil {
			return Response{}, err
		}
		return resp("invitation", viewInvitation(link), "user", u, "connLinkInvitation", link, "connection", c), nil
	}
	link := cmd.Text
	switch kindOfLink(link) {
	case "invitation":
		connect := s.c.Connect
		if incognito {
			connect = s.c.ConnectIncognito
		}
		c, err := connect(ctx, link)
		if err != nil {
			return Response{}, linkError(err)
		}
		return resp("sentConfirmation", []string{"confirmation sent!"}, "user", u, "connection", c), nil
	case "contact":
		if incognito {
			return Response{}, notSupported("incognito contact requests")
		}
		c, err := s.c.ConnectAddress(ctx, link)
		if err != nil {
			return Response{}, linkError(err)
		}
		return resp("sentInvitation", []string{"connection request sent!"}, "user", u, "connection", c), nil
	case "group":
		return s.joinGroupLink(ctx, u, link)
	}
	return Response{}, cmdErr("invalidConnReq", "invalid connection link: neither an invitation nor an address")
}

func linkError(err error) error {
	if errors.Is(err, chat.ErrClosed) {
		return err
	}
	return cmdErr("invalidConnReq", "invalid connection link: %s", oneLine(err.Error()))
}

// kindOfLink tells an invitation from an address (and a group link, an
// address with group data) by the link's path.
func kindOfLink(link string) string {
	_, rest, ok := strings.Cut(link, "/")
	if !ok {
		return ""
	}
	switch {
	case strings.HasPrefix(rest, "invitation"), strings.HasPrefix(rest, "/invitation"):
		return "invitation"
	case strings.HasPrefix(rest, "contact"), strings.HasPrefix(rest, "/contact"):
		if strings.Contains(link, "&data=") && strings.Contains(link, "groupLinkId") {
			return "group"
		}
		return "contact"
	}
	// https://host/invitation#... : the path after the host.
	for _, k := range []string{"invitation", "contact"} {
		if strings.Contains(link, "/"+k+"#") {
			return k
		}
	}
	return ""
}

func (s *Engine) contactsList(ctx context.Context, u chat.User) (Response, error) {
	cs, err := s.c.Contacts(ctx, u.ID)
	if err != nil {
		return Response{}, err
	}
	var shown []chat.Contact
	for _, c := range cs {
		if c.LocalName != "" && c.Status != chat.StatusDeleting {
			shown = append(shown, c)
		}
	}
	sort.SliceStable(shown, func(i, j int) bool { return strings.ToLower(shown[i].LocalName) < strings.ToLower(shown[j].LocalName) })
	var ls []string
	for _, c := range shown {
		ls = append(ls, incognitoPrefix(c)+contactFull(c))
	}
	return resp("contactsList", ls, "user", u, "contacts", shown), nil
}

func (s *Engine) send(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	if cmd.Chat.Type == '#' {
		g, err := s.findGroup(ctx, u.ID, cmd.Chat.Name)
		if err != nil {
			return Response{}, err
		}
		if g.Status == chat.GroupPending {
			return Response{}, cmdErr("groupNotJoined", "you did not join this group, use /join %s", groupRef(g))
		}
		if g.Status == chat.GroupLeft || g.Status == chat.GroupRemoved {
			return Response{}, cmdErr("groupMemberUserRemoved", "you are no longer a member of the group")
		}
		it, err := s.c.SendGroupText(ctx, g.ID, cmd.Text)
		if err != nil {
			return Response{}, err
		}
		s.seenGroupItem(it)
		s.setLast(cmd.Chat)
		return resp("newChatItems", s.groupLines(g, nil, it), "user", u, "chatItems", []AChatItem{{Group: &g, GroupItem: &it}}), nil
	}
	c, err := s.readyContact(ctx, u.ID, cmd.Chat.Name)
	if err != nil {
		return Response{}, err
	}
	it, err := s.c.SendText(ctx, c.ID, cmd.Text)
	if err != nil {
		return Response{}, err
	}
	s.remember(it)
	s.setLast(cmd.Chat)
	return resp("newChatItems", s.directLines(ctx, c, it, markNone), "user", u, "chatItems", []AChatItem{s.directItem(c, it)}), nil
}

func (s *Engine) reply(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	if cmd.Chat.Type == '#' {
		return Response{}, notSupported("replies in groups")
	}
	c, err := s.readyContact(ctx, u.ID, cmd.Chat.Name)
	if err != nil {
		return Response{}, err
	}
	dir := rcvdDir
	if cmd.Own {
		dir = sentDir
	}
	q, err := s.findItem(ctx, c.ID, cmd.Quote, dir)
	if err != nil {
		return Response{}, err
	}
	it, err := s.c.SendMessage(ctx, c.ID, text(cmd.Text), q.ID)
	if err != nil {
		return Response{}, err
	}
	s.remember(it)
	s.setLast(cmd.Chat)
	return resp("newChatItems", s.directLines(ctx, c, it, markNone), "user", u, "chatItems", []AChatItem{s.directItem(c, it)}), nil
}

func (s *Engine) edit(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	if cmd.Chat.Type == '#' {
		return s.editGroup(ctx, u, cmd)
	}
	c, err := s.readyContact(ctx, u.ID, cmd.Chat.Name)
	if err != nil {
		return Response{}, err
	}
	old, err := s.findItem(ctx, c.ID, cmd.Quote, sentDir)
	if err != nil {
		return Response{}, err
	}
	if old.Text == cmd.Text {
		return resp("chatItemNotChanged", []string{"message didn't change"}, "user", u, "chatItem", s.directItem(c, old)), nil
	}
	it, err := s.c.UpdateMessage(ctx, old.ID, text(cmd.Text))
	if err != nil {
		return Response{}, err
	}
	s.remember(it)
	return resp("chatItemUpdated", s.directLines(ctx, c, it, markEdited), "user", u, "chatItem", s.directItem(c, it)), nil
}

func (s *Engine) deleteMsg(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	if cmd.Chat.Type == '#' {
		return s.deleteGroupMsg(ctx, u, cmd)
	}
	c, err := s.findContact(ctx, u.ID, cmd.Chat.Name)
	if err != nil {
		return Response{}, err
	}
	it, err := s.findItem(ctx, c.ID, cmd.Text, sentDir)
	if err != nil {
		return Response{}, err
	}
	if err := s.c.DeleteMessage(ctx, it.ID, true); err != nil {
		return Response{}, err
	}
	before := s.directItem(c, it)
	var to *AChatItem
	if now, err := s.c.Item(ctx, it.ID); err == nil {
		s.remember(now)
		ai := s.directItem(c, now)
		to = &ai
	}
	return resp("chatItemsDeleted", []string{"message marked deleted"}, "user", u,
		"chatItemDeletions", []ChatItemDeletion{{Deleted: before, To: to}}, "byUser", true), nil
}

func (s *Engine) react(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	if cmd.Chat.Type == '#' {
		return s.reactGroup(ctx, u, cmd)
	}
	c, err := s.readyContact(ctx, u.ID, cmd.Chat.Name)
	if err != nil {
		return Response{}, err
	}
	it, err := s.findItem(ctx, c.ID, cmd.Text, anyDir)
	if err != nil {
		return Response{}, err
	}
	it, err = s.c.React(ctx, it.ID, cmd.Emoji, cmd.On)
	if err != nil {
		return Response{}, cmdErr("invalidReaction", "%s", oneLine(err.Error()))
	}
	s.remember(it)
	line := "added " + cmd.Emoji
	if !cmd.On {
		line = "removed " + cmd.Emoji
	}
	return resp("chatItemReaction", []string{line}, "user", u, "added", cmd.On,
		"reaction", Reaction{ChatItem: s.directItem(c, it), Emoji: cmd.Emoji, Sent: true}), nil
}

func (s *Engine) tail(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	var ais []AChatItem
	var ls []string
	var err error
	switch cmd.Chat.Type {
	case '@':
		var c chat.Contact
		if c, err = s.findContact(ctx, u.ID, cmd.Chat.Name); err != nil {
			return Response{}, err
		}
		ais, ls, err = s.tailDirect(ctx, c, cmd.Count)
	case '#':
		var g chat.Group
		if g, err = s.findGroup(ctx, u.ID, cmd.Chat.Name); err != nil {
			return Response{}, err
		}
		ais, ls, err = s.tailGroup(ctx, g, cmd.Count)
	default:
		ais, ls, err = s.tailAll(ctx, u.ID, cmd.Count)
	}
	if err != nil {
		return Response{}, err
	}
	return resp("chatItems", ls, "user", u, "chatItems", ais), nil
}

func (s *Engine) search(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	var ais []AChatItem
	var ls []string
	if cmd.Chat.Type == '#' {
		g, err := s.findGroup(ctx, u.ID, cmd.Chat.Name)
		if err != nil {
			return Response{}, err
		}
		all, _, err := s.tailGroup(ctx, g, 1000)
		if err != nil {
			return Response{}, err
		}
		q := strings.ToLower(cmd.Text)
		for _, ai := range all {
			if strings.Contains(strings.ToLower(ai.GroupItem.Text), q) {
				ais = append(ais, ai)
			}
		}
		if len(ais) > cmd.Count {
			ais = ais[len(ais)-cmd.Count:]
		}
		for _, ai := range ais {
			ls = append(ls, s.groupLines(g, ai.Member, *ai.GroupItem)...)
		}
		return resp("chatItems", ls, "user", u, "chatItems", ais), nil
	}
	var only int64
	if cmd.Chat.Type == '@' {
		c, err := s.findContact(ctx, u.ID, cmd.Chat.Name)
		if err != nil {
			return Response{}, err
		}
		only = c.ID
	}
	limit := cmd.Count
	if only != 0 {
		limit = 1000
	}
	found, err := s.c.Search(ctx, u.ID, cmd.Text, limit)
	if err != nil {
		return Response{}, err
	}
	contacts := map[int64]chat.Contact{}
	var picked []chat.Item
	for _, it := range found {
		if only != 0 && it.ContactID != only {
			continue
		}
		if len(picked) == cmd.Count {
			break
		}
		picked = append(picked, it)
	}
	for i := len(picked) - 1; i >= 0; i-- { // oldest first
		it := picked[i]
		c, ok := contacts[it.ContactID]
		if !ok {
			if c, err = s.c.Contact(ctx, it.ContactID); err != nil {
				continue
			}
			contacts[it.ContactID] = c
		}
		ais = append(ais, s.directItem(c, it))
		ls = append(ls, s.directLines(ctx, c, it, markNone)...)
	}
	return resp("chatItems", ls, "user", u, "chatItems", ais), nil
}

func (s *Engine) members(ctx context.Context, u chat.User, name string) (Response, error) {
	g, err := s.findGroup(ctx, u.ID, name)
	if err != nil {
		return Response{}, err
	}
	ms, err := s.c.Members(ctx, g.ID)
	if err != nil {
		return Response{}, err
	}
	host := false
	for _, m := range ms {
		host = host || m.Host
	}
	us := "connected"
	if !host {
		us = "created group"
	}
	ls := []string{fullName(u.Profile.DisplayName, u.Profile.FullName) + ": " + string(g.Role) + ", you, " + us}
	var shown []chat.Member
	for _, m := range ms {
		if m.Status == chat.MemberHasLeft || m.Status == chat.MemberWasRemoved {
			continue
		}
		shown = append(shown, m)
		parts := []string{string(m.Role)}
		s.mu.Lock()
		invited := s.invited[m.ID]
		s.mu.Unlock()
		switch {
		case m.Host:
			parts = append(parts, "host")
		case invited || m.Status == chat.MemberInvited:
			parts = append(parts, "invited")
		}
		switch m.Status {
		case chat.MemberInvited:
			parts = append(parts, "not yet joined")
		case chat.MemberReady:
			parts = append(parts, "connected")
		}
		ls = append(ls, memberFull(m)+": "+strings.Join(parts, ", "))
	}
	return resp("groupMembers", ls, "user", u, "groupInfo", g, "members", shown), nil
}

func (s *Engine) groupsList(ctx context.Context, u chat.User) (Response, error) {
	gs, err := s.c.Groups(ctx, u.ID)
	if err != nil {
		return Response{}, err
	}
	if len(gs) == 0 {
		return resp("groupsList", []string{"you have no groups!", "to create: /g <name>"}, "user", u, "groups", gs), nil
	}
	sorted := append([]chat.Group(nil), gs...)
	sort.SliceStable(sorted, func(i, j int) bool {
		return strings.ToLower(groupName(sorted[i])) < strings.ToLower(groupName(sorted[j]))
	})
	var ls []string
	for _, g := range sorted {
		n := viewName(groupName(g))
		del := ", delete local copy: /d #" + n + ")"
		switch g.Status {
		case chat.GroupPending:
			ls = append(ls, groupFull(g)+" - you are invited (/j "+n+" to join, /d #"+n+" to delete invitation)")
		case chat.GroupLeft:
			ls = append(ls, groupFull(g)+" (you left"+del)
		case chat.GroupRemoved:
			ls = append(ls, groupFull(g)+" (you are removed"+del)
		case chat.GroupWasDeleted:
			ls = append(ls, groupFull(g)+" (group deleted"+del)
		default:
			ms, _ := s.c.Members(ctx, g.ID)
			count := 1
			for _, m := range ms {
				if m.Status != chat.MemberHasLeft && m.Status != chat.MemberWasRemoved {
					count++
				}
			}
			plural := "s"
			if count == 1 {
				plural = ""
			}
			ls = append(ls, fmt.Sprintf("%s (%d member%s)", groupFull(g), count, plural))
		}
	}
	return resp("groupsList", ls, "user", u, "groups", gs), nil
}

func (s *Engine) servers() Response {
	ls := append([]string(nil), s.opts.Servers...)
	ls = append(ls, "",
		"use /smp test <srv> to test SMP server connection",
		"use /smp <srv1[,srv2,...]> to configure SMP servers",
		"use /smp default to remove configured SMP servers and use presets",
		"(chat option -s (--server) has precedence over saved SMP servers for chat session)")
	return resp("userProtoServers", ls, "servers", s.opts.Servers)
}

func (s *Engine) setServers(arg string) (Response, error) {
	if s.opts.SaveServers == nil {
		return Response{}, notSupported("/smp SERVERS here")
	}
	var list []string
	if arg != "default" {
		for _, srv := range strings.Split(arg, ",") {
			if srv = strings.TrimSpace(srv); srv != "" {
				list = append(list, srv)
			}
		}
	}
	if err := s.opts.SaveServers(list); err != nil {
		return Response{}, cmdErr("commandError", "%s", oneLine(err.Error()))
	}
	return resp("cmdOk", []string{"ok", "(the relays are used from the next start)"}, "servers", list), nil
}

// profileAddress puts the address in the user's profile or takes it out
// (upstream's /profile_address), telling the contacts (CH-PROF-3).
func (s *Engine) profileAddress(ctx context.Context, u chat.User, on bool) (Response, error) {
	p := u.Profile
	from := p
	line := "contact address removed"
	if on {
		a, err := s.address(ctx, u)
		if err != nil {
			return Response{}, err
		}
		link := a.Link
		p.ContactLink = &link
		line = "new contact address set"
	} else {
		p.ContactLink = nil
	}
	if (from.ContactLink == nil) == (p.ContactLink == nil) && (from.ContactLink == nil || *from.ContactLink == *p.ContactLink) {
		return resp("userProfileNoChange", []string{"user profile did not change"}, "user", u), nil
	}
	if err := s.c.UpdateProfile(ctx, u.ID, p); err != nil {
		return Response{}, err
	}
	u.Profile = p
	return resp("userProfileUpdated", []string{line}, "user", u, "fromProfile", from, "toProfile", p), nil
}

// isLink tells a link from a name where a command takes either.
func isLink(s string) bool {
	return strings.HasPrefix(s, "simplex:/") || strings.HasPrefix(s, "https://")
}

// ttlText is a disappearing messages' time as upstream words it.
func ttlText(sec int) string {
	switch {
	case sec%(30*86400) == 0:
		return plural(sec/(30*86400), "month")
	case sec%(7*86400) == 0:
		return plural(sec/(7*86400), "week")
	case sec%86400 == 0:
		return plural(sec/86400, "day")
	case sec%3600 == 0:
		return plural(sec/3600, "hour")
	case sec%60 == 0:
		return plural(sec/60, "minute")
	}
	return plural(sec, "second")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// chats is upstream's viewChats: each chat's last message (its first line,
// cut at 120 characters) or its name, the most recent last.
func (s *Engine) chats(ctx context.Context, u chat.User, n int) (Response, error) {
	type entry struct {
		line string
		at   time.Time
	}
	var es []entry
	cs, err := s.c.Contacts(ctx, u.ID)
	if err != nil {
		return Response{}, err
	}
	for _, c := range cs {
		if c.LocalName == "" {
			continue
		}
		items, err := s.c.Items(ctx, c.ID, 0, 1)
		if err != nil {
			return Response{}, err
		}
		if len(items) == 0 {
			es = append(es, entry{"      " + incognitoPrefix(c) + "@" + viewName(c.LocalName), time.Time{}})
			continue
		}
		es = append(es, entry{s.directLines(ctx, c, items[0], markNone)[0], items[0].CreatedAt})
	}
	gs, err := s.c.Groups(ctx, u.ID)
	if err != nil {
		return Response{}, err
	}
	for _, g := range gs {
		_, ls, err := s.tailGroup(ctx, g, 1)
		if err != nil {
			return Response{}, err
		}
		if len(ls) == 0 {
			es = append(es, entry{"      " + groupRef(g), time.Time{}})
			continue
		}
		items, _ := s.c.GroupItems(ctx, g.ID, 0, 1)
		at := time.Time{}
		if len(items) > 0 {
			at = items[0].CreatedAt
		}
		es = append(es, entry{ls[0], at})
	}
	sort.SliceStable(es, func(i, j int) bool { return es[i].at.Before(es[j].at) })
	if n > 0 && len(es) > n {
		es = es[len(es)-n:]
	}
	ls := make([]string, len(es))
	for i, e := range es {
		if r := []rune(e.line); len(r) > 120 {
			e.line = string(r[:120]) + "..."
		}
		ls[i] = e.line
	}
	return resp("chats", ls, "user", u), nil
}

package chatcmd

// Broadcasts, security codes, queue switch and ratchet sync over
// reference/chat, as upstream's terminal shows them.

import (
	"context"
	"fmt"

	"github.com/smpkit/smpkit/reference/chat"
	"github.com/smpkit/smpkit/reference/smp"
)

// feed sends to every connected contact of the user (upstream's /feed).
func (s *Engine) feed(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	cs, err := s.c.Contacts(ctx, u.ID)
	if err != nil {
		return Response{}, err
	}
	var ids []int64
	for _, c := range cs {
		if c.Status == chat.StatusConnected {
			ids = append(ids, c.ID)
		}
	}
	if len(ids) == 0 {
		return Response{}, cmdErr("commandError", "no contacts to send to")
	}
	b, err := s.c.Broadcast(ctx, ids, text(cmd.Text))
	if err != nil {
		return Response{}, err
	}
	for _, it := range b.Items {
		s.remember(it)
	}
	ts := msgTime(s.opts.Now(), b.CreatedAt)
	head := fmt.Sprintf("/feed (%d) %s ", len(b.Items), ts)
	return resp("broadcastSent", prependFirst(head, textLines(b.Text)), "user", u, "msgContent", b.Content,
		"successes", len(b.Items), "failures", len(ids)-len(b.Items), "timestamp", b.CreatedAt, "broadcast", b), nil
}

func (s *Engine) code(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	c, err := s.readyContact(ctx, u.ID, cmd.Name)
	if err != nil {
		return Response{}, err
	}
	sc, err := s.c.ContactCode(ctx, c.ID)
	if err != nil {
		return Response{}, err
	}
	n := viewName(c.LocalName)
	return resp("contactCode", []string{
		n + " security code:",
		sc.Code,
		"pass this code to your contact and use /verify " + n + " <code from your contact> to verify",
	}, "user", u, "contact", c, "connectionCode", sc.Code), nil
}

func (s *Engine) verify(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	c, err := s.readyContact(ctx, u.ID, cmd.Name)
	if err != nil {
		return Response{}, err
	}
	ok, err := s.c.VerifyCode(ctx, c.ID, cmd.Text)
	if err != nil {
		return Response{}, err
	}
	sc, err := s.c.ContactCode(ctx, c.ID)
	if err != nil {
		return Response{}, err
	}
	line := "connection verified"
	if !ok {
		line = "connection not verified, current code is " + sc.Code
	}
	return resp("connectionVerified", []string{line}, "user", u, "verified", ok, "expectedCode", sc.Code), nil
}

func (s *Engine) switchContact(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	c, err := s.readyContact(ctx, u.ID, cmd.Name)
	if err != nil {
		return Response{}, err
	}
	if err := s.c.SwitchContact(ctx, c.ID, smp.Server{}); err != nil {
		return Response{}, err
	}
	s.mu.Lock()
	s.switching()[c.ID] = true
	s.mu.Unlock()
	return resp("contactSwitchStarted", []string{"switch started"}, "user", u, "contact", c), nil
}

func (s *Engine) syncContact(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	c, err := s.findContact(ctx, u.ID, cmd.Name)
	if err != nil {
		return Response{}, err
	}
	if err := s.c.SyncContact(ctx, c.ID); err != nil {
		return Response{}, err
	}
	return resp("contactRatchetSyncStarted", []string{"connection synchronization started"}, "user", u, "contact", c), nil
}

// memberSecurity is /code, /verify, /switch and /sync for a group member
// (#group @member), as upstream's viewGroupMemberCode and the rest.
func (s *Engine) memberSecurity(ctx context.Context, u chat.User, cmd Command) (Response, error) {
	g, err := s.findGroup(ctx, u.ID, cmd.Name)
	if err != nil {
		return Response{}, err
	}
	m, err := s.findMember(ctx, g, cmd.Member)
	if err != nil {
		return Response{}, err
	}
	who := groupRef(g) + " " + viewName(memberName(m))
	switch cmd.Op {
	case OpMemberCode:
		sc, err := s.c.MemberCode(ctx, m.ID)
		if err != nil {
			return Response{}, err
		}
		return resp("groupMemberCode", []string{
			who + " security code:",
			sc.Code,
			"pass this code to your contact and use /verify " + who + " <code from your contact> to verify",
		}, "user", u, "groupInfo", g, "member", m, "connectionCode", sc.Code), nil
	case OpMemberVerify:
		ok, err := s.c.VerifyMember(ctx, m.ID, cmd.Text)
		if err != nil {
			return Response{}, err
		}
		sc, err := s.c.MemberCode(ctx, m.ID)
		if err != nil {
			return Response{}, err
		}
		line := "connection verified"
		if !ok {
			line = "connection not verified, current code is " + sc.Code
		}
		return resp("connectionVerified", []string{line}, "user", u, "verified", ok, "expectedCode", sc.Code), nil
	case OpMemberSwitch:
		if err := s.c.SwitchMember(ctx, m.ID, smp.Server{}); err != nil {
			return Response{}, err
		}
		s.mu.Lock()
		s.switching()[-m.ID] = true
		s.mu.Unlock()
		return resp("groupMemberSwitchStarted", []string{"switch started"}, "user", u, "groupInfo", g, "member", m), nil
	}
	if err := s.c.SyncMember(ctx, m.ID); err != nil {
		return Response{}, err
	}
	return resp("groupMemberRatchetSyncStarted", []string{"connection synchronization started"}, "user", u, "groupInfo", g, "member", m), nil
}

// switching is the set of contacts whose queue we asked to switch, to tell
// "you changed address" from the contact's own switch.
func (s *Engine) switching() map[int64]bool {
	if s.extra == nil {
		s.extra = map[string]any{}
	}
	m, ok := s.extra["switching"].(map[int64]bool)
	if !ok {
		m = map[int64]bool{}
		s.extra["switching"] = m
	}
	return m
}

// memberNames are the group and member names of a member peer.
func (s *Engine) memberNames(ctx context.Context, p chat.Peer) (group, member string, ok bool) {
	if p.MemberID == 0 {
		return "", "", false
	}
	g, found := s.groupByID(ctx, p.UserID, p.GroupID)
	if !found {
		return "", "", false
	}
	m := s.member(ctx, g.ID, p.MemberID)
	if m == nil {
		return "", "", false
	}
	return groupRef(g), viewName(memberName(*m)), true
}

func (s *Engine) groupByID(ctx context.Context, userID, groupID int64) (chat.Group, bool) {
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

func (s *Engine) peerName(ctx context.Context, p chat.Peer) (string, bool) {
	if p.ContactID != 0 {
		c, err := s.c.Contact(ctx, p.ContactID)
		if err != nil {
			return "", false
		}
		return viewName(contactName(c)), true
	}
	gs, err := s.c.Groups(ctx, p.UserID)
	if err != nil {
		return "", false
	}
	for _, g := range gs {
		if g.ID == p.GroupID {
			if m := s.member(ctx, g.ID, p.MemberID); m != nil {
				return groupRef(g) + " " + viewName(memberName(*m)), true
			}
		}
	}
	return "", false
}

func (s *Engine) eventSec(ctx context.Context, u chat.User, ev chat.Event) (Response, bool) {
	switch e := ev.(type) {
	case chat.QueueSwitched:
		n, ok := s.peerName(ctx, e.Peer)
		if !ok {
			return Response{}, false
		}
		key := e.Peer.ContactID
		if key == 0 {
			key = -e.Peer.MemberID
		}
		s.mu.Lock()
		ours := s.switching()[key]
		delete(s.switching(), key)
		s.mu.Unlock()
		line := n + " changed address for you"
		if ours {
			line = n + ": you changed address"
		}
		if g, m, ok := s.memberNames(ctx, e.Peer); ok {
			// upstream's viewGroupMemberSwitch
			line = g + ": " + m + " changed address for you"
			if ours {
				line = g + ": you changed address for " + m
			}
		}
		return resp("contactSwitch", []string{line}, "peer", e.Peer), true
	case chat.RatchetSynced:
		n, ok := s.peerName(ctx, e.Peer)
		if !ok {
			return Response{}, false
		}
		return resp("contactRatchetSync", []string{n + ": connection synchronized"}, "peer", e.Peer), true
	case chat.SecurityCodeChanged:
		n, ok := s.peerName(ctx, e.Peer)
		if !ok {
			return Response{}, false
		}
		return resp("contactVerificationReset", []string{n + ": security code changed"}, "peer", e.Peer), true
	case chat.ContactsMerged:
		s.mu.Lock()
		merged, had := s.contacts[e.MergedID]
		delete(s.contacts, e.MergedID)
		s.contacts[e.Contact.ID] = e.Contact
		s.mu.Unlock()
		into := viewName(contactName(e.Contact))
		from := "?"
		if had {
			from = viewName(contactName(merged))
		}
		return resp("contactsMerged", []string{
			"contact " + from + " is merged into " + into,
			"use @" + into + " <message> to send messages",
		}, "intoContact", e.Contact, "mergedContactId", e.MergedID), true
	case chat.ContactMemberLinked:
		g := "#?"
		if gs, err := s.c.Groups(ctx, u.ID); err == nil {
			for _, x := range gs {
				if x.ID == e.Member.GroupID {
					g = groupRef(x)
				}
			}
		}
		n := viewName(contactName(e.Contact))
		return resp("contactAndMemberAssociated", []string{
			"contact and member are merged: " + n + ", " + g + " " + viewName(memberName(e.Member)),
			"use @" + n + " <message> to send messages",
		}, "contact", e.Contact, "member", e.Member), true
	case chat.ItemExpired:
		// Upstream shows timed deletions only in its test view.
		return resp("chatItemsDeleted", nil, "chatItemDeletions", []ChatItemDeletion{}, "timed", true), true
	}
	return Response{}, false
}

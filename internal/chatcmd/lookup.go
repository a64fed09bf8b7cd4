package chatcmd

import (
	"context"
	"errors"
	"strings"

	"github.com/smpkit/smpkit/reference/chat"
)

// Finding what a command names, with upstream's error lines.

func (s *Engine) activeUser(ctx context.Context) (chat.User, error) {
	u, err := s.c.ActiveUser(ctx)
	if errors.Is(err, chat.ErrNotFound) {
		return u, cmdErr("noActiveUser", "error: active user is required")
	}
	return u, err
}

func (s *Engine) userByID(ctx context.Context, id int64) (chat.User, bool) {
	us, err := s.c.Users(ctx)
	if err != nil {
		return chat.User{}, false
	}
	for _, u := range us {
		if u.ID == id {
			return u, true
		}
	}
	return chat.User{}, false
}

func (s *Engine) findUser(ctx context.Context, name string) (chat.User, error) {
	us, err := s.c.Users(ctx)
	if err != nil {
		return chat.User{}, err
	}
	for _, u := range us {
		if u.Profile.DisplayName == name {
			return u, nil
		}
	}
	return chat.User{}, cmdErr("userNotFoundByName", "no user %s", viewName(name))
}

func (s *Engine) findContact(ctx context.Context, userID int64, name string) (chat.Contact, error) {
	cs, err := s.c.Contacts(ctx, userID)
	if err != nil {
		return chat.Contact{}, err
	}
	for _, c := range cs {
		if c.LocalName == name {
			return c, nil
		}
	}
	return chat.Contact{}, cmdErr("contactNotFoundByName", "no contact %s", viewName(name))
}

// readyContact is a contact messages can go to.
func (s *Engine) readyContact(ctx context.Context, userID int64, name string) (chat.Contact, error) {
	c, err := s.findContact(ctx, userID, name)
	if err != nil {
		return c, err
	}
	if c.Status != chat.StatusConnected {
		return c, cmdErr("contactNotReady", "%s: not ready", viewName(c.LocalName))
	}
	return c, nil
}

func (s *Engine) findGroup(ctx context.Context, userID int64, name string) (chat.Group, error) {
	gs, err := s.c.Groups(ctx, userID)
	if err != nil {
		return chat.Group{}, err
	}
	for _, g := range gs {
		if g.Profile.DisplayName == name {
			s.seenGroup(g)
			return g, nil
		}
	}
	return chat.Group{}, cmdErr("groupNotFoundByName", "no group #%s", viewName(name))
}

func (s *Engine) findMember(ctx context.Context, g chat.Group, name string) (chat.Member, error) {
	ms, err := s.c.Members(ctx, g.ID)
	if err != nil {
		return chat.Member{}, err
	}
	for _, m := range ms {
		if m.Profile != nil && m.Profile.DisplayName == name && m.Status != chat.MemberHasLeft && m.Status != chat.MemberWasRemoved {
			return m, nil
		}
	}
	return chat.Member{}, cmdErr("groupMemberNotFound", "group doesn't have this member")
}

func (s *Engine) member(ctx context.Context, groupID, id int64) *chat.Member {
	ms, err := s.c.Members(ctx, groupID)
	if err != nil {
		return nil
	}
	for _, m := range ms {
		if m.ID == id {
			return &m
		}
	}
	return nil
}

func (s *Engine) findRequest(ctx context.Context, userID int64, name string) (chat.Request, error) {
	rs, err := s.c.Requests(ctx, userID)
	if err != nil {
		return chat.Request{}, err
	}
	for _, r := range rs {
		if r.Profile != nil && r.Profile.DisplayName == name {
			return r, nil
		}
	}
	return chat.Request{}, cmdErr("contactRequestNotFoundByName", "no contact request from %s", viewName(name))
}

// direction of the item a command looks for by its text.
type direction int

const (
	anyDir direction = iota
	sentDir
	rcvdDir
)

// findItem is the newest item of a contact whose text starts with prefix
// (upstream matches "text LIKE prefix%"); an empty prefix is our last
// message. Items deleted for everyone are skipped.
func (s *Engine) findItem(ctx context.Context, contactID int64, prefix string, dir direction) (chat.Item, error) {
	before := int64(0)
	for page := 0; page < 20; page++ {
		items, err := s.c.Items(ctx, contactID, before, 100)
		if err != nil {
			return chat.Item{}, err
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
		if len(items) < 100 {
			break
		}
		before = items[0].ID
	}
	return chat.Item{}, cmdErr("chatItemNotFoundByText", "message not found by text: %s", prefix)
}

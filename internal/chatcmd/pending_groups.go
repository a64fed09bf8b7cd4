//go:build !chatgroups

package chatcmd

// What waits for the library's group links, roles, deletion, profiles and
// group edits, deletes and reactions (issue 15): parsed, answered "not
// supported yet". Build with -tags chatgroups for wire_groups.go once
// reference/chat has them.

import (
	"context"
	"fmt"

	"github.com/smpkit/smpkit/reference/chat"
)

func (s *Engine) createGroupLink(context.Context, chat.User, Command) (Response, error) {
	return Response{}, notSupported("group links")
}

func (s *Engine) showGroupLink(context.Context, chat.User, Command) (Response, error) {
	return Response{}, notSupported("group links")
}

func (s *Engine) deleteGroupLink(context.Context, chat.User, Command) (Response, error) {
	return Response{}, notSupported("group links")
}

func (s *Engine) joinGroupLink(context.Context, chat.User, string) (Response, error) {
	return Response{}, notSupported("group links")
}

func (s *Engine) memberRole(context.Context, chat.User, Command) (Response, error) {
	return Response{}, notSupported("/mr (member roles)")
}

func (s *Engine) deleteGroup(context.Context, chat.User, Command) (Response, error) {
	return Response{}, notSupported("/d #group (group deletion)")
}

func (s *Engine) groupProfile(context.Context, chat.User, Command) (Response, error) {
	return Response{}, notSupported("/gp (group profiles)")
}

func (s *Engine) editGroup(context.Context, chat.User, Command) (Response, error) {
	return Response{}, notSupported("edits in groups")
}

func (s *Engine) deleteGroupMsg(context.Context, chat.User, Command) (Response, error) {
	return Response{}, notSupported("deletes in groups")
}

func (s *Engine) reactGroup(context.Context, chat.User, Command) (Response, error) {
	return Response{}, notSupported("reactions in groups")
}

func (s *Engine) eventGroups(_ context.Context, _ chat.User, ev chat.Event) (Response, bool) {
	return resp(fmt.Sprintf("%T", ev), nil, "event", ev), false
}

// seenGroupItem notes an item's state, to tell later what changed.
func (s *Engine) seenGroupItem(chat.GroupItem) {}

// seenGroup notes a group's profile, to tell later what an update changed.
func (s *Engine) seenGroup(chat.Group) {}

// groupItemExtra is what a group item's lines show of its deletion (a
// suffix) and its reactions (lines after).
func groupItemExtra(chat.GroupItem) (string, []string) { return "", nil }

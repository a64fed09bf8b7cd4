//go:build !chatusers

package chatcmd

// What waits for the library's hidden and muted users (issue 15): parsed,
// answered "not supported yet". Build with -tags chatusers for
// wire_users.go once reference/chat has them.

import (
	"context"

	"github.com/smpkit/smpkit/reference/chat"
)

func (s *Engine) hideUser(context.Context, chat.User, string) (Response, error) {
	return Response{}, notSupported("/hide user")
}

func (s *Engine) unhideUser(context.Context, chat.User, string) (Response, error) {
	return Response{}, notSupported("/unhide user")
}

func (s *Engine) muteUser(_ context.Context, _ chat.User, mute bool) (Response, error) {
	if mute {
		return Response{}, notSupported("/mute user")
	}
	return Response{}, notSupported("/unmute user")
}

func (s *Engine) setUserPassword(context.Context, Command) (Response, error) {
	return Response{}, notSupported("hidden user passwords")
}

func (s *Engine) deleteUserPassword(context.Context, Command) (Response, error) {
	return Response{}, notSupported("hidden user passwords")
}

// userMarks are what /users says of a user beside "active".
func userMarks(chat.User) []string { return nil }

// shown is whether an event of a user is shown now (all are).
func (s *Engine) shown(context.Context, chat.Event) bool { return true }

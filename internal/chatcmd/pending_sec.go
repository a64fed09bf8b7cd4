//go:build !chatsec

package chatcmd

// What waits for the library's broadcasts, security codes, queue switch
// and ratchet sync (issue 15): parsed, answered "not supported yet". Build
// with -tags chatsec for wire_sec.go once reference/chat has them.

import (
	"context"

	"github.com/smpkit/smpkit/reference/chat"
)

func (s *Engine) feed(context.Context, chat.User, Command) (Response, error) {
	return Response{}, notSupported("/feed (broadcasts)")
}

func (s *Engine) code(context.Context, chat.User, Command) (Response, error) {
	return Response{}, notSupported("/code (security codes)")
}

func (s *Engine) verify(context.Context, chat.User, Command) (Response, error) {
	return Response{}, notSupported("/verify (security codes)")
}

func (s *Engine) switchContact(context.Context, chat.User, Command) (Response, error) {
	return Response{}, notSupported("/switch (queue rotation)")
}

func (s *Engine) syncContact(context.Context, chat.User, Command) (Response, error) {
	return Response{}, notSupported("/sync (ratchet synchronization)")
}

func (s *Engine) eventSec(context.Context, chat.User, chat.Event) (Response, bool) {
	return Response{}, false
}

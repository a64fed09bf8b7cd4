// Package chatcmd is smp-chat's command language: it parses the commands
// upstream's terminal client takes (/c, @bob hi, /g team, ...), runs them
// against reference/chat, and renders every answer and event twice: as the
// lines the terminal prints and as the JSON the bot API sends.
package chatcmd

import "context"

// Response is one answer to a command or one event of the chat.
type Response struct {
	// Type is upstream's response tag: "contactConnected", "newChatItems",
	// "chatCmdError", ...
	Type string
	// Fields are the JSON fields beside "type", under upstream's key names
	// ("contact", "chatItem", "user", ...). Values are reference/chat values
	// as they are; apiValue gives their JSON shape.
	Fields map[string]any
	// Lines is the terminal rendering, as upstream's terminal prints it.
	Lines []string
}

// MarshalJSON writes {"type": Type, ...Fields}, as EncodeAPI does.
func (r Response) MarshalJSON() ([]byte, error) { return EncodeAPI(r) }

// Session runs commands for one running chat client. The terminal and the
// bot API are two front ends of one Session.
type Session interface {
	// Exec runs one command line and returns its answers (usually one).
	// It never panics on any input; a bad command is a "chatCmdError"
	// answer with a one-line message.
	Exec(ctx context.Context, line string) []Response
	// Events yields what happens without a command (a contact connected,
	// a message arrived, ...) until the session is closed.
	Events() <-chan Response
}

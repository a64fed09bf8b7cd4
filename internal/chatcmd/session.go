package chatcmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/smpkit/smpkit/reference/chat"
)

// Options configure a chat session.
type Options struct {
	// Now is the clock for message times (default time.Now).
	Now func() time.Time
	// Servers are the relays in use, shown by /smp.
	Servers []string
	// SaveServers keeps the relays /smp sets for the next start; nil:
	// /smp SERVERS is refused.
	SaveServers func(servers []string) error
	// TestServer checks a relay for /smp test; nil: not offered.
	TestServer func(ctx context.Context, server string) error
	// Version is what /version prints.
	Version string
	// Log receives what fails in the background (default slog.Default).
	Log *slog.Logger
}

// Engine is a Session over a reference/chat client.
type Engine struct {
	c    *chat.Client
	opts Options

	events chan Response
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once

	mu        sync.Mutex
	incognito bool                   // /incognito on: new connections incognito
	last      Chat                   // the conversation of the last message, for lines without @name
	items     map[int64]chat.Item    // last state seen, to tell what an ItemUpdated changed
	contacts  map[int64]chat.Contact // last state seen, for ContactUpdated
	invited   map[int64]bool         // members we invited (we host them)
	extra     map[string]any         // state of security.go and groupadmin.go
}

var _ Session = (*Engine)(nil)

// New starts a session over c; Close stops it (c stays open).
func New(c *chat.Client, opts Options) *Engine {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	s := &Engine{c: c, opts: opts, events: make(chan Response, 64), stop: make(chan struct{}), done: make(chan struct{}),
		items: map[int64]chat.Item{}, contacts: map[int64]chat.Contact{}, invited: map[int64]bool{}}
	go s.run()
	return s
}

// Events implements Session.
func (s *Engine) Events() <-chan Response { return s.events }

// Close stops the events; the channel is closed.
func (s *Engine) Close() {
	s.once.Do(func() { close(s.stop) })
	<-s.done
}

func (s *Engine) run() {
	defer close(s.done)
	defer close(s.events)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	s.loadContacts(ctx)
	for {
		select {
		case <-s.stop:
			return
		case ev, ok := <-s.c.Events():
			if !ok {
				return
			}
			for _, r := range s.safeEvent(ctx, ev) {
				select {
				case s.events <- r:
				case <-s.stop:
					return
				}
			}
		}
	}
}

func (s *Engine) safeEvent(ctx context.Context, ev chat.Event) (rs []Response) {
	defer func() {
		if p := recover(); p != nil {
			s.opts.Log.Error("chat event view failed", "event", fmt.Sprintf("%T", ev), "panic", p, "stack", string(debug.Stack()))
			rs = []Response{errorResponse(ChatError{Type: "internalError", Message: fmt.Sprintf("internal error showing %T", ev)})}
		}
	}()
	return s.event(ctx, ev)
}

// CommandTimeout bounds a command given a context without a deadline.
const CommandTimeout = 2 * time.Minute

// IsQuit reports whether a line is /quit, which only the terminal takes.
func IsQuit(line string) bool {
	c, err := Parse(line)
	return err == nil && c.Op == OpQuit
}

// Exec implements Session.
func (s *Engine) Exec(ctx context.Context, line string) (rs []Response) {
	defer func() {
		if p := recover(); p != nil {
			s.opts.Log.Error("chat command failed", "panic", p, "stack", string(debug.Stack()))
			rs = []Response{errorResponse(ChatError{Type: "internalError", Message: "internal error, see the log"})}
		}
	}()
	if _, ok := ctx.Deadline(); !ok {
		// An unreachable relay gives an error line, not a command that
		// never answers.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, CommandTimeout)
		defer cancel()
	}
	cmd, err := Parse(line)
	if err != nil {
		s.mu.Lock()
		last := s.last
		s.mu.Unlock()
		// As upstream's terminal: a plain line goes to the last chat.
		if t := strings.TrimSpace(line); last.Name != "" && t != "" && !strings.ContainsRune("/@#>!\\+-", rune(t[0])) {
			cmd, err = Command{Op: OpSend, Chat: last, Text: t}, nil
		}
	}
	if err != nil {
		return []Response{errorResponse(ChatError{Type: "commandError", Message: oneLine(err.Error())})}
	}
	r, err := s.exec(ctx, cmd)
	if err != nil {
		return []Response{errorResponse(chatError(err))}
	}
	return []Response{r}
}

func errorResponse(e ChatError) Response {
	return Response{Type: "chatCmdError", Fields: map[string]any{"chatError": e}, Lines: []string{e.Message}}
}

// chatError turns a library error into the one line the user reads.
func chatError(err error) ChatError {
	var ce ChatError
	if errors.As(err, &ce) {
		return ce
	}
	switch {
	case errors.Is(err, chat.ErrClosed):
		return ChatError{Type: "chatNotStarted", Message: "error: chat not started"}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return ChatError{Type: "timeout", Message: "error: timed out, try again"}
	}
	return ChatError{Type: "chatError", Message: "error: " + oneLine(err.Error())}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

func notSupported(what string) error {
	return ChatError{Type: "notSupported", Message: what + ": not supported yet"}
}

func cmdErr(kind, format string, args ...any) error {
	return ChatError{Type: kind, Message: fmt.Sprintf(format, args...)}
}

func resp(typ string, lines []string, kv ...any) Response {
	f := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i].(string)] = kv[i+1]
	}
	return Response{Type: typ, Fields: f, Lines: lines}
}

func (s *Engine) remember(it chat.Item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.items) > 5000 {
		s.items = map[int64]chat.Item{}
	}
	s.items[it.ID] = it
}

func (s *Engine) setLast(c Chat) {
	s.mu.Lock()
	s.last = c
	s.mu.Unlock()
}

// loadContacts fills the contact cache, so the first profile update of a
// contact after a start says what changed.
func (s *Engine) loadContacts(ctx context.Context) {
	us, err := s.c.Users(ctx)
	if err != nil {
		return
	}
	for _, u := range us {
		cs, err := s.c.Contacts(ctx, u.ID)
		if err != nil {
			continue
		}
		s.mu.Lock()
		for _, c := range cs {
			s.contacts[c.ID] = c
		}
		s.mu.Unlock()
		gs, _ := s.c.Groups(ctx, u.ID)
		for _, g := range gs {
			s.seenGroup(g)
		}
	}
}

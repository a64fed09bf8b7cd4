package chat

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/db"
	"github.com/smpkit/smpkit/reference/smp"
)

// Config configures a Client.
type Config struct {
	// Dir holds the database, chat.db, and one agent directory per user.
	Dir string
	// Passphrase encrypts every database file (db.Open).
	Passphrase string
	// DBOptions tune opening the databases (KDF cost in tests).
	DBOptions *db.Options
	// Relay is where users' agents create their receiving queues.
	Relay smp.Server
	// Client options for relay connections.
	Client client.Config
	// Rand is the randomness (default crypto/rand).
	Rand io.Reader
	// Log receives errors of background processing (default slog.Default).
	Log *slog.Logger
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("chat: closed")

// ErrNotFound is returned for an id that names nothing of the client.
var ErrNotFound = errors.New("chat: not found")

// Client is a chat client: several users (profiles), their contacts and
// their history, in one encrypted database.
type Client struct {
	cfg    Config
	db     *db.DB
	events chan Event
	stop   chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	users  map[int64]*userAgent
	moved  map[int64]bool // exported to another device (CH-DEV-2)
	closed bool
}

// userAgent is one user's agent: its own relay sessions (transport
// connections), so relays cannot link the user's queues to another user's.
type userAgent struct {
	id int64
	a  *agent.Agent
	// mu orders the user's agent operations that create or number things
	// with the processing of the agent's events, so an event never
	// arrives before the row it refers to is written.
	mu    sync.Mutex
	retry bool // a task failed: run the tasks again soon (guarded by mu)
	stop  chan struct{}
	done  chan struct{}
}

// Open opens (or creates) the client's database in cfg.Dir and starts an
// agent for each user, except users moved to another device. A wrong
// passphrase is refused with ErrWrongPassphrase before anything is read or
// written.
func Open(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}
	d, err := db.Open(ctx, filepath.Join(cfg.Dir, "chat.db"), cfg.Passphrase, cfg.DBOptions)
	if err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}
	if err := d.Migrate(ctx, Schema); err != nil {
		d.Close()
		return nil, fmt.Errorf("chat: %w", err)
	}
	c := &Client{cfg: cfg, db: d, events: make(chan Event, 256), stop: make(chan struct{}), users: map[int64]*userAgent{}, moved: map[int64]bool{}}
	users, err := c.allUsers(ctx)
	if err != nil {
		d.Close()
		return nil, err
	}
	for _, u := range users {
		if u.Moved {
			c.moved[u.ID] = true
			continue
		}
		if err := c.startUser(ctx, u.ID); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Events delivers the client's events, for every user. Events wait for the
// reader: what the agents hold stays on disk until processed.
func (c *Client) Events() <-chan Event { return c.events }

// Close stops the agents and closes the database; everything stays on disk.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	users := c.users
	c.users = map[int64]*userAgent{}
	c.mu.Unlock()
	close(c.stop)
	var errs []error
	for _, ua := range users {
		errs = append(errs, ua.close())
	}
	c.wg.Wait()
	errs = append(errs, c.db.Close())
	return errors.Join(errs...)
}

func (ua *userAgent) close() error {
	close(ua.stop)
	<-ua.done
	return ua.a.Close()
}

func (c *Client) agentDir(userID int64) string {
	return filepath.Join(c.cfg.Dir, fmt.Sprintf("user-%d", userID))
}

// startUser starts the user's own agent, with its own database and relay
// sessions.
func (c *Client) startUser(ctx context.Context, id int64) error {
	a, err := agent.New(ctx, agent.Config{Dir: c.agentDir(id), Passphrase: c.cfg.Passphrase, DBOptions: c.cfg.DBOptions,
		Relay: c.cfg.Relay, Client: c.cfg.Client, Rand: c.cfg.Rand})
	if err != nil {
		return fmt.Errorf("chat: user %d: %w", id, err)
	}
	ua := &userAgent{id: id, a: a, stop: make(chan struct{}), done: make(chan struct{})}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		a.Close()
		return ErrClosed
	}
	c.users[id] = ua
	c.mu.Unlock()
	go c.run(ua)
	return nil
}

// run processes the user's agent events in order, and after each the
// tasks it left (and those left before a restart).
func (c *Client) run(ua *userAgent) {
	defer close(ua.done)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	emit := func(out []Event) bool {
		for _, e := range out {
			select {
			case c.events <- e:
			case <-ua.stop:
				return false
			}
		}
		return true
	}
	tasks := func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ua.mu.Lock()
		ua.retry = false
		out, err := c.runTasks(ctx, ua)
		ua.mu.Unlock()
		if err != nil && !ua.retry {
			out = append(out, Error{UserID: ua.id, Err: err})
		}
		return emit(out)
	}
	if !tasks() {
		return
	}
	for {
		select {
		case ev := <-ua.a.Events():
			out, err := c.handle(ua, ev)
			if err != nil {
				c.cfg.Log.Debug("chat: agent event", "user", ua.id, "kind", ev.Kind, "err", err)
				out = append(out, Error{UserID: ua.id, Err: fmt.Errorf("chat: %s: %w", ev.Kind, err)})
			}
			if !emit(out) || !tasks() {
				return
			}
		case <-tick.C:
			ua.mu.Lock()
			again := ua.retry
			ua.mu.Unlock()
			if again && !tasks() {
				return
			}
			if !emit(c.expire(ua)) { // timed.go
				return
			}
		case <-ua.stop:
			return
		}
	}
}

func (c *Client) user(id int64) (*userAgent, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	ua := c.users[id]
	if ua == nil && c.moved[id] {
		return nil, fmt.Errorf("chat: user %d: %w", id, ErrUserMoved)
	}
	if ua == nil {
		return nil, fmt.Errorf("chat: user %d: %w", id, ErrNotFound)
	}
	return ua, nil
}

func (c *Client) userProfile(ctx context.Context, id int64) (*chatmsg.Profile, error) {
	var b []byte
	err := c.db.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT profile FROM chat_users WHERE id = ?`, id).Scan(&b)
	})
	if err != nil {
		return nil, fmt.Errorf("chat: user %d: %w", id, err)
	}
	return parseInfo(b)
}

// infoBody is x.info with the profile (CH-CONN-1, CH-PROF-3).
func infoBody(p *chatmsg.Profile) []byte {
	return (&chatmsg.Message{V: chatmsg.Supported, Event: &chatmsg.Info{Profile: p}}).Encode()
}

// parseInfo reads a profile from x.info or x.contact.
func parseInfo(b []byte) (*chatmsg.Profile, error) {
	m, err := chatmsg.ParseMessage(b)
	if err != nil {
		return nil, err
	}
	switch e := m.Event.(type) {
	case *chatmsg.Info:
		return e.Profile, nil
	case *chatmsg.Contact:
		return e.Profile, nil
	}
	return nil, fmt.Errorf("chat: %s where a profile was expected", m.Event.Name())
}

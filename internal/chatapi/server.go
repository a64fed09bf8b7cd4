// Package chatapi serves smp-chat's bot and app API: a WebSocket that takes
// the terminal's commands as JSON and sends back their answers and the
// chat's events, in the message shapes upstream's simplex-chat uses
// (apps/simplex-chat/Server.hs, bots/README.md):
//
//	request:  {"corrId":"1","cmd":"/c"}
//	response: {"corrId":"1","resp":{"type":"invitation",...}}
//	event:    {"resp":{"type":"newChatItems",...}}
//
// The commands run on a chatcmd.Session, the same one the terminal uses.
package chatapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/smpkit/smpkit/internal/chatcmd"
)

// APISession is a Session that also takes upstream's API-only commands
// ("/_send @2 json [...]", ...); the server tries ExecAPI first and Exec
// when ok is false. chatcmd.Engine is one.
type APISession interface {
	chatcmd.Session
	ExecAPI(ctx context.Context, line string) (rs []chatcmd.Response, ok bool)
}

var _ APISession = (*chatcmd.Engine)(nil)

// Defaults of Config.
const (
	DefaultQueue        = 256
	DefaultWriteTimeout = 10 * time.Second
	// MaxRequest is the largest request message read; a larger one closes
	// the connection with status 1009 (message too big).
	MaxRequest = 1 << 20
)

// Config tunes a Server; the zero value is usable.
type Config struct {
	// Queue bounds each client's outgoing messages and pending commands
	// (DefaultQueue when 0). A client whose events overflow it is
	// disconnected; see Server.
	Queue int
	// WriteTimeout bounds one message's write to a client
	// (DefaultWriteTimeout when 0); a client that takes longer is
	// disconnected.
	WriteTimeout time.Duration
	// Events replaces the session's Events channel as the source of
	// events, for a program that also shows them elsewhere (a terminal
	// that tees them).
	Events <-chan chatcmd.Response
	Logger *slog.Logger
}

// Server is the API over one Session. Many clients may be connected at
// once; each gets the answers to its own commands and every event.
//
// Nothing here can block the chat: events are handed to each client's
// bounded queue without waiting. A client that falls behind by more than
// Config.Queue messages, or does not take one message within
// Config.WriteTimeout, is disconnected (close status 1008 with the reason
// where the connection still takes a close frame) and the server logs a
// warning; its other clients and the chat go on. A disconnected client
// reconnects and catches up with commands (/tail, ...).
type Server struct {
	sess   chatcmd.Session
	events <-chan chatcmd.Response
	queue  int
	wto    time.Duration
	log    *slog.Logger

	mu      sync.Mutex
	clients map[*client]struct{}
	closed  bool
	ctx     context.Context // commands run under it until Close
	cancel  context.CancelFunc
}

// New makes a Server over sess; Serve (or Run and ServeHTTP) starts it.
// Run is what takes the events: without it they back up into the session.
func New(sess chatcmd.Session, cfg Config) *Server {
	s := &Server{
		sess:    sess,
		events:  cfg.Events,
		queue:   cfg.Queue,
		wto:     cfg.WriteTimeout,
		log:     cfg.Logger,
		clients: make(map[*client]struct{}),
	}
	if s.events == nil {
		s.events = sess.Events()
	}
	if s.queue <= 0 {
		s.queue = DefaultQueue
	}
	if s.wto <= 0 {
		s.wto = DefaultWriteTimeout
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// Listen opens the API's TCP port on loopback only: the API has no
// authentication (as upstream's, which binds localhost too).
func Listen(port int) (net.Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("chatapi: listen: %w", err)
	}
	return ln, nil
}

// Serve accepts API clients on ln and sends them events until ctx is done;
// then it disconnects every client and returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	go s.Run(ctx)
	select {
	case <-ctx.Done():
		s.Close()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		hs.Shutdown(sctx)
		return nil
	case err := <-errc:
		s.Close()
		return fmt.Errorf("chatapi: serve: %w", err)
	}
}

// Run hands events to the clients until ctx is done or the events channel
// closes. It never waits for a client.
func (s *Server) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r, ok := <-s.events:
			if !ok {
				return
			}
			msg := encode(nil, r)
			s.mu.Lock()
			for c := range s.clients {
				c.event(msg)
			}
			s.mu.Unlock()
		}
	}
}

// Clients reports how many API clients are connected.
func (s *Server) Clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}

// Close disconnects every client and refuses new ones. Commands being run
// see their context cancelled.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	cs := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.kick(websocket.StatusGoingAway, "server stopping")
	}
	s.cancel()
	return nil
}

// ServeHTTP upgrades one request to an API client connection.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A page whose name was rebound to 127.0.0.1 sends its own name as
	// Host and Origin alike; only loopback names get through.
	if !loopbackHost(r.Host) {
		http.Error(w, "chatapi: Host must be a loopback address", http.StatusForbidden)
		return
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		s.log.Info("chatapi: websocket upgrade failed", "err", err)
		return
	}
	conn.SetReadLimit(MaxRequest)
	c := &client{
		s:      s,
		conn:   conn,
		out:    make(chan []byte, s.queue),
		cmds:   make(chan request, s.queue),
		kicked: make(chan struct{}),
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close(websocket.StatusGoingAway, "server stopping")
		return
	}
	s.clients[c] = struct{}{}
	s.mu.Unlock()
	s.log.Info("chatapi: client connected", "remote", r.RemoteAddr)

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.writeLoop() }()
	go func() { defer wg.Done(); c.execLoop() }()
	c.readLoop()
	wg.Wait()
	s.log.Info("chatapi: client disconnected", "remote", r.RemoteAddr, "reason", c.why)
}

// loopbackHost reports whether a Host header names this machine's
// loopback: localhost, 127.x.x.x or ::1, with any port.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) remove(c *client) {
	s.mu.Lock()
	delete(s.clients, c)
	s.mu.Unlock()
}

// request is one parsed command of a client.
type request struct {
	corrID string
	cmd    string
	bad    bool // not a request: answered with "invalid request"
}

// client is one API connection: readLoop parses requests into cmds,
// execLoop runs them in order and queues the answers on out, writeLoop
// sends out; events are queued on out by Server.Run.
type client struct {
	s    *Server
	conn *websocket.Conn
	out  chan []byte
	cmds chan request

	once   sync.Once
	kicked chan struct{} // closed when the client is to go
	why    string        // why, set before kicked is closed
}

// event queues an event without waiting; a full queue disconnects the
// client. Called with s.mu held.
func (c *client) event(msg []byte) {
	select {
	case <-c.kicked:
	case c.out <- msg:
	default:
		c.s.log.Warn("chatapi: client too slow, disconnecting", "queue", cap(c.out))
		go c.kick(websocket.StatusPolicyViolation, fmt.Sprintf("too slow: %d messages waiting", cap(c.out)))
	}
}

// kick ends the connection once: it leaves the server's set at once, and
// the close frame (with the reason) is sent if the connection takes it.
func (c *client) kick(code websocket.StatusCode, why string) {
	c.once.Do(func() {
		c.why = why
		close(c.kicked)
		c.s.remove(c)
		go c.conn.Close(code, why)
	})
}

func (c *client) readLoop() {
	defer close(c.cmds)
	for {
		// Not under s.ctx: a cancelled read would cut the connection
		// before kick's close frame goes out. kick ends the read.
		_, data, err := c.conn.Read(context.Background())
		if err != nil {
			c.kick(websocket.StatusNormalClosure, "read: "+err.Error())
			return
		}
		q, err := parseRequest(data)
		if err != nil {
			c.s.log.Info("chatapi: bad request", "err", err)
			q = request{bad: true}
		}
		select {
		case c.cmds <- q:
		case <-c.kicked:
			return
		}
	}
}

// ErrRequest is what ParseRequest returns for a message that is not a
// request; the server answers it with "invalid request".
var ErrRequest = errors.New("chatapi: not a request")

// ParseRequest reads one request, {"corrId":"...","cmd":"..."}: valid
// UTF-8 JSON with both fields strings (other fields are ignored), as
// upstream's ChatSrvRequest decoder takes it.
func ParseRequest(data []byte) (corrID, cmd string, err error) {
	if !utf8.Valid(data) {
		return "", "", fmt.Errorf("%w: not UTF-8", ErrRequest)
	}
	var raw struct {
		CorrID *string `json:"corrId"`
		Cmd    *string `json:"cmd"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrRequest, err)
	}
	if raw.CorrID == nil || raw.Cmd == nil {
		return "", "", fmt.Errorf("%w: corrId and cmd must be strings", ErrRequest)
	}
	return *raw.CorrID, *raw.Cmd, nil
}

func parseRequest(data []byte) (request, error) {
	id, cmd, err := ParseRequest(data)
	return request{corrID: id, cmd: cmd}, err
}

func (c *client) execLoop() {
	for q := range c.cmds {
		var msgs [][]byte
		if q.bad {
			// Upstream answers a message it cannot decode so, without
			// a corrId (apps/simplex-chat/Server.hs).
			msgs = [][]byte{encode(nil, cmdError("invalid request"))}
		} else {
			msgs = c.exec(q)
		}
		for _, m := range msgs {
			select {
			case c.out <- m:
			case <-c.kicked:
				return
			}
		}
	}
}

// exec runs one command. The first answer carries the corrId; any more
// follow as events, since upstream answers each command exactly once and
// clients match answers to commands by corrId.
func (c *client) exec(q request) (msgs [][]byte) {
	defer func() {
		if p := recover(); p != nil {
			c.s.log.Error("chatapi: command panicked", "panic", fmt.Sprint(p))
			msgs = [][]byte{encode(&q.corrID, cmdError(fmt.Sprintf("internal error: %v", p)))}
		}
	}()
	var rs []chatcmd.Response
	ok := false
	if x, is := c.s.sess.(APISession); is {
		rs, ok = x.ExecAPI(c.s.ctx, q.cmd)
	}
	if !ok {
		rs = c.s.sess.Exec(c.s.ctx, q.cmd)
	}
	if len(rs) == 0 {
		rs = []chatcmd.Response{{Type: "cmdOk"}}
	}
	for i, r := range rs {
		if i == 0 {
			msgs = append(msgs, encode(&q.corrID, r))
		} else {
			msgs = append(msgs, encode(nil, r))
		}
	}
	return msgs
}

func (c *client) writeLoop() {
	for {
		select {
		case <-c.kicked:
			return
		case m := <-c.out:
			ctx, cancel := context.WithTimeout(context.Background(), c.s.wto)
			err := c.conn.Write(ctx, websocket.MessageText, m)
			cancel()
			if err != nil {
				c.s.log.Warn("chatapi: write to client failed, disconnecting", "err", err)
				c.kick(websocket.StatusPolicyViolation, "write: "+err.Error())
				return
			}
		}
	}
}

// cmdError is upstream's answer to a command it could not take:
// chatCmdError with ChatError "error" of ChatErrorType "commandError"
// (bots/api/TYPES.md: ChatError, ChatErrorType).
func cmdError(msg string) chatcmd.Response {
	return chatcmd.Response{Type: "chatCmdError", Fields: map[string]any{
		"chatError": map[string]any{
			"type":      "error",
			"errorType": map[string]any{"type": "commandError", "message": msg},
		},
	}}
}

// encode makes one API message; corrID nil for an event.
func encode(corrID *string, r chatcmd.Response) []byte {
	resp, err := chatcmd.EncodeAPI(r)
	if err != nil {
		resp, _ = chatcmd.EncodeAPI(cmdError("encoding " + r.Type + ": " + err.Error()))
	}
	// Written by hand: the envelope is fixed, and resp must go out as it
	// is (encoding/json would escape "&" in links again).
	b := make([]byte, 0, len(resp)+32)
	if corrID != nil {
		id, _ := json.Marshal(*corrID)
		b = append(b, `{"corrId":`...)
		b = append(b, id...)
		b = append(b, `,"resp":`...)
	} else {
		b = append(b, `{"resp":`...)
	}
	b = append(b, resp...)
	return append(b, '}')
}

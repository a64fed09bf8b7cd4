package clientcert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/smpkit/smpkit/internal/driver"
)

// Proc is a running shim: its standard input and output, and how to stop it.
type Proc struct {
	In   io.WriteCloser
	Out  io.Reader
	Stop func() error // close stdin, wait a little, then kill; idempotent
}

// Launcher starts a fresh shim for one case; stderr receives its
// diagnostics.
type Launcher func(ctx context.Context, stderr io.Writer) (*Proc, error)

// Exec launches argv as a child process (DRV-FRAME-5).
func Exec(argv []string) Launcher {
	return func(ctx context.Context, stderr io.Writer) (*Proc, error) {
		if len(argv) == 0 {
			return nil, errors.New("no shim command")
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stderr = stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start shim: %w", err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var once sync.Once
		var werr error
		stop := func() error {
			once.Do(func() {
				in.Close()
				select {
				case werr = <-done:
				case <-time.After(5 * time.Second):
					cmd.Process.Kill()
					werr = errors.New("shim did not exit within 5 s of the end of its input (DRV-FRAME-5)")
					<-done
				}
			})
			return werr
		}
		return &Proc{In: in, Out: out, Stop: stop}, nil
	}
}

// ShimError is a reply with ok false.
type ShimError struct {
	Cmd, Text string
}

func (e *ShimError) Error() string { return fmt.Sprintf("shim refused %s: %s", e.Cmd, e.Text) }

// Unsupported reports whether the shim declared the command unsupported.
func (e *ShimError) Unsupported() bool { return e.Text == "unsupported" }

// session talks to one shim.
type session struct {
	proc   *Proc
	w      *driver.Writer
	stderr *lockedBuf
	wait   time.Duration
	logf   func(format string, args ...any)

	mu      sync.Mutex
	nextID  int64
	replies map[int64]chan driver.Msg
	events  *eventLog[driver.Msg]
	readErr error

	name        string
	unsupported map[string]bool
	closed      bool
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 64<<10 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startSession(ctx context.Context, launch Launcher, wait time.Duration, logf func(string, ...any)) (*session, error) {
	s := &session{stderr: &lockedBuf{}, wait: wait, logf: logf, replies: map[int64]chan driver.Msg{}, events: newEventLog[driver.Msg]()}
	p, err := launch(ctx, s.stderr)
	if err != nil {
		return nil, err
	}
	s.proc, s.w = p, driver.NewWriter(p.In)
	go s.read()
	return s, nil
}

func (s *session) read() {
	r := driver.NewReader(s.proc.Out)
	for {
		m, err := r.Read()
		if err != nil {
			s.mu.Lock()
			s.readErr = err
			for _, ch := range s.replies {
				close(ch)
			}
			s.replies = map[int64]chan driver.Msg{}
			s.mu.Unlock()
			s.events.close()
			return
		}
		switch {
		case m.IsReply():
			s.mu.Lock()
			ch := s.replies[m.ID]
			delete(s.replies, m.ID)
			s.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		case m.Event != "":
			s.logf("shim event %s", brief(m))
			s.events.add(m)
		default:
			s.logf("shim wrote a line that is neither reply nor event: %s", brief(m))
		}
	}
}

func brief(m driver.Msg) string {
	b, _ := json.Marshal(m)
	if len(b) > 240 {
		return string(b[:240]) + "…"
	}
	return string(b)
}

// call sends a command and waits for its reply (DRV-FRAME-2). A reply
// with ok false is a *ShimError.
func (s *session) call(ctx context.Context, m driver.Msg) (driver.Msg, error) {
	s.mu.Lock()
	if s.readErr != nil {
		s.mu.Unlock()
		return driver.Msg{}, fmt.Errorf("shim output ended: %v%s", s.readErr, s.tail())
	}
	s.nextID++
	m.ID = s.nextID
	ch := make(chan driver.Msg, 1)
	s.replies[m.ID] = ch
	s.mu.Unlock()
	s.logf("runner %s", brief(m))
	if err := s.w.Write(m); err != nil {
		return driver.Msg{}, fmt.Errorf("write %s to the shim: %w", m.Cmd, err)
	}
	wait := 3 * s.wait
	select {
	case r, ok := <-ch:
		if !ok {
			return driver.Msg{}, fmt.Errorf("shim output ended before the reply to %s%s", m.Cmd, s.tail())
		}
		s.logf("shim reply %s", brief(r))
		if r.OK == nil {
			return r, fmt.Errorf("reply to %s has no ok field (DRV-FRAME-2)", m.Cmd)
		}
		if !*r.OK {
			return r, &ShimError{Cmd: m.Cmd, Text: r.Error}
		}
		return r, nil
	case <-time.After(wait):
		return driver.Msg{}, fmt.Errorf("no reply to %s within %v (DRV-FRAME-2)%s", m.Cmd, wait, s.tail())
	case <-ctx.Done():
		return driver.Msg{}, ctx.Err()
	}
}

func (s *session) tail() string {
	t := strings.TrimSpace(s.stderr.String())
	if t == "" {
		return ""
	}
	if len(t) > 800 {
		t = "…" + t[len(t)-800:]
	}
	return "\nshim stderr:\n" + t
}

// hello negotiates the driver version (DRV-VER-1).
func (s *session) hello(ctx context.Context, r driver.Range) (driver.Msg, error) {
	rb, _ := json.Marshal(r)
	rep, err := s.call(ctx, driver.Msg{Cmd: driver.CmdHello, Driver: rb})
	if err != nil {
		return rep, err
	}
	var v int
	if err := json.Unmarshal(rep.Driver, &v); err != nil || v < r.Min || v > r.Max {
		return rep, fmt.Errorf("hello: shim answered driver version %s, outside %d-%d (DRV-VER-1)", rep.Driver, r.Min, r.Max)
	}
	s.name = rep.Name
	s.unsupported = map[string]bool{}
	for _, c := range rep.Unsupported {
		s.unsupported[c] = true
	}
	return rep, nil
}

// event waits for the first unclaimed event matching pred.
func (s *session) event(ctx context.Context, what string, pred func(driver.Msg) bool) (driver.Msg, error) {
	m, err := s.events.wait(ctx, s.wait, pred)
	if err != nil {
		return m, fmt.Errorf("shim: no %s event within %v%s", what, s.wait, s.tail())
	}
	return m, nil
}

func (s *session) close() error {
	s.mu.Lock()
	closed := s.closed
	s.closed = true
	s.mu.Unlock()
	if closed {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := s.call(ctx, driver.Msg{Cmd: driver.CmdQuit}); err != nil {
		s.proc.Stop()
		return fmt.Errorf("quit: %w (DRV-FRAME-5)", err)
	}
	return s.proc.Stop()
}

// eventLog keeps events for waiters; each is claimed by one wait.
type eventLog[E any] struct {
	mu      sync.Mutex
	items   []E
	claimed []bool
	changed chan struct{}
	closed  bool
}

func newEventLog[E any]() *eventLog[E] { return &eventLog[E]{changed: make(chan struct{})} }

func (l *eventLog[E]) add(e E) {
	l.mu.Lock()
	l.items = append(l.items, e)
	l.claimed = append(l.claimed, false)
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

func (l *eventLog[E]) close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.changed)
		l.changed = make(chan struct{})
	}
	l.mu.Unlock()
}

var errNoEvent = errors.New("no such event")

func (l *eventLog[E]) wait(ctx context.Context, d time.Duration, pred func(E) bool) (E, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		l.mu.Lock()
		for i, e := range l.items {
			if !l.claimed[i] && pred(e) {
				l.claimed[i] = true
				l.mu.Unlock()
				return e, nil
			}
		}
		ch, closed := l.changed, l.closed
		l.mu.Unlock()
		var zero E
		if closed {
			return zero, errNoEvent
		}
		select {
		case <-ch:
		case <-timer.C:
			return zero, errNoEvent
		case <-ctx.Done():
			return zero, ctx.Err()
		}
	}
}

// count returns how many events, claimed or not, match pred.
func (l *eventLog[E]) count(pred func(E) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.items {
		if pred(e) {
			n++
		}
	}
	return n
}

// Package agentshim serves the client driver protocol (spec/driver.md)
// over reference/agent: it is the body of cmd/smp-agent-shim, and tests
// run it in-process with a faulty Agent to prove the conformance cases.
package agentshim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/smpkit/smpkit/internal/driver"
	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/smp"
)

// Agent is what the shim needs of an agent; *agent.Agent has it.
type Agent interface {
	CreateInvitationWith(ctx context.Context, proc agent.Procedure) (connID, link string, err error)
	Join(ctx context.Context, link string, info []byte) (string, error)
	Allow(ctx context.Context, connID string, info []byte) error
	Send(ctx context.Context, connID string, body []byte) (int64, error)
	Ack(ctx context.Context, connID string, msgID int64) error
	Rotate(ctx context.Context, connID string, relay smp.Server) error
	SyncRatchet(ctx context.Context, connID string) error
	Delete(ctx context.Context, connID string) error
	CreateContact(ctx context.Context) (connID, link string, err error)
	JoinContact(ctx context.Context, link string, info []byte) (string, error)
	AddQueue(ctx context.Context, connID string, relay smp.Server) error
	Events() <-chan agent.Event
	Close() error
}

// Options configure the shim.
type Options struct {
	// Name is reported in the hello reply.
	Name string
	// NewAgent starts an agent for the relay with its state in dir; nil
	// uses NewReferenceAgent. Every construction goes through it.
	NewAgent func(ctx context.Context, relay smp.Server, dir string) (Agent, error)
	// Unsupported commands are declared in the hello reply (DRV-VER-2).
	Unsupported []string
	// CommandTimeout bounds one command (default 30 s).
	CommandTimeout time.Duration
}

// NewReferenceAgent is the one place the shim builds a reference agent.
func NewReferenceAgent(ctx context.Context, relay smp.Server, dir string) (Agent, error) {
	return agent.New(ctx, ReferenceConfig(relay, dir))
}

// ReferenceConfig is the configuration of every reference agent the shim
// and the runner build: state in dir, queues on relay.
//
// The agent's state is moving to an encrypted database, and agent.Config
// gains Passphrase (required) and DBOptions. Until both sides of that
// change are merged this fills those fields by name when they exist: a
// fixed passphrase (a shim's state is a conformance run's throwaway) and
// the cheapest key derivation. Replace with plain fields after the merge.
func ReferenceConfig(relay smp.Server, dir string) agent.Config {
	cfg := agent.Config{Dir: dir, Relay: relay}
	v := reflect.ValueOf(&cfg).Elem()
	if f := v.FieldByName("Passphrase"); f.IsValid() && f.Kind() == reflect.String {
		f.SetString("smp-agent-shim: throwaway state of a conformance run")
	}
	if f := v.FieldByName("DBOptions"); f.IsValid() && f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.Struct {
		o := reflect.New(f.Type().Elem())
		if kdf := o.Elem().FieldByName("KDF"); kdf.IsValid() && kdf.Kind() == reflect.Struct {
			for name, x := range map[string]uint64{"Time": 1, "MemoryKiB": 64, "Threads": 1} {
				if k := kdf.FieldByName(name); k.IsValid() && k.CanUint() {
					k.SetUint(x)
				}
			}
		}
		f.Set(o)
	}
	return cfg
}

// Serve answers commands from in on out until in ends or quit.
func Serve(ctx context.Context, in io.Reader, out io.Writer, opts Options) error {
	if opts.NewAgent == nil {
		opts.NewAgent = NewReferenceAgent
	}
	if opts.Name == "" {
		opts.Name = "smp-agent-shim"
	}
	if opts.CommandTimeout == 0 {
		opts.CommandTimeout = 30 * time.Second
	}
	s := &shim{opts: opts, w: driver.NewWriter(out)}
	defer s.stop()
	r := driver.NewReader(in)
	for {
		m, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if m.Cmd == driver.CmdQuit {
			s.reply(m.ID, driver.Msg{}, nil)
			return nil
		}
		s.mu.Lock()
		cctx, cancel := context.WithTimeout(ctx, opts.CommandTimeout)
		res, err := s.do(cctx, m)
		cancel()
		s.reply(m.ID, res, err)
		s.mu.Unlock()
	}
}

type shim struct {
	opts Options
	w    *driver.Writer

	// mu is held while a command runs and its reply is written, so that
	// no event naming a connection precedes the reply that names it
	// (DRV-FRAME-3).
	mu    sync.Mutex
	relay smp.Server
	dir   string
	ag    Agent
	quit  chan struct{}
	pump  sync.WaitGroup
}

var errUnsupported = errors.New("unsupported")

func (s *shim) reply(id int64, res driver.Msg, err error) {
	res.ID = id
	ok := err == nil
	res.OK = &ok
	if err != nil {
		res = driver.Msg{ID: id, OK: &ok, Error: err.Error()}
	}
	s.w.Write(res)
}

func (s *shim) do(ctx context.Context, m driver.Msg) (driver.Msg, error) {
	if slices.Contains(s.opts.Unsupported, m.Cmd) {
		return driver.Msg{}, errUnsupported
	}
	if m.Cmd != driver.CmdHello && m.Cmd != driver.CmdStart && s.ag == nil {
		return driver.Msg{}, errors.New("not started")
	}
	switch m.Cmd {
	case driver.CmdHello:
		var r driver.Range
		if err := json.Unmarshal(m.Driver, &r); err != nil {
			return driver.Msg{}, fmt.Errorf("hello: driver range: %w", err)
		}
		if r.Min > driver.Version || r.Max < driver.Version {
			return driver.Msg{}, fmt.Errorf("hello: driver versions %d-%d, this shim speaks %d", r.Min, r.Max, driver.Version)
		}
		v, _ := json.Marshal(driver.Version)
		return driver.Msg{Driver: v, Name: s.opts.Name, Unsupported: append([]string{}, s.opts.Unsupported...)}, nil
	case driver.CmdStart:
		srv, err := smp.ParseServer(m.Relay)
		if err != nil {
			return driver.Msg{}, fmt.Errorf("start: relay: %w", err)
		}
		s.stop()
		s.relay, s.dir = srv, m.DataDir
		return driver.Msg{}, s.startAgent(ctx)
	case driver.CmdCreateInvitation:
		proc := agent.Fast
		switch m.Procedure {
		case "fast":
		case "standard":
			proc = agent.Standard
		default:
			return driver.Msg{}, fmt.Errorf("create_invitation: procedure %q", m.Procedure)
		}
		id, link, err := s.ag.CreateInvitationWith(ctx, proc)
		if err != nil {
			return driver.Msg{}, err
		}
		if r := m.AgentVersions; r != nil {
			if link, err = narrow(link, *r); err != nil {
				return driver.Msg{}, err
			}
		}
		return driver.Msg{Conn: id, Link: link}, nil
	case driver.CmdJoin:
		id, err := s.ag.Join(ctx, m.Link, []byte(driver.Val(m.Info)))
		return driver.Msg{Conn: id}, err
	case driver.CmdAllow:
		return driver.Msg{}, s.ag.Allow(ctx, m.Conn, []byte(driver.Val(m.Info)))
	case driver.CmdSend:
		id, err := s.ag.Send(ctx, m.Conn, []byte(driver.Val(m.Body)))
		return driver.Msg{MsgID: id}, err
	case driver.CmdAck:
		return driver.Msg{}, s.ag.Ack(ctx, m.Conn, m.MsgID)
	case driver.CmdRotate:
		srv, err := smp.ParseServer(m.Relay)
		if err != nil {
			return driver.Msg{}, fmt.Errorf("rotate: relay: %w", err)
		}
		return driver.Msg{}, s.ag.Rotate(ctx, m.Conn, srv)
	case driver.CmdSyncRatchet:
		return driver.Msg{}, s.ag.SyncRatchet(ctx, m.Conn)
	case driver.CmdDelete:
		return driver.Msg{}, s.ag.Delete(ctx, m.Conn)
	case driver.CmdCreateContact:
		id, link, err := s.ag.CreateContact(ctx)
		return driver.Msg{Conn: id, Link: link}, err
	case driver.CmdJoinContact:
		id, err := s.ag.JoinContact(ctx, m.Link, []byte(driver.Val(m.Info)))
		return driver.Msg{Conn: id}, err
	case driver.CmdAddQueue:
		srv, err := smp.ParseServer(m.Relay)
		if err != nil {
			return driver.Msg{}, fmt.Errorf("add_queue: relay: %w", err)
		}
		return driver.Msg{}, s.ag.AddQueue(ctx, m.Conn, srv)
	case driver.CmdSubscribe, driver.CmdRestart:
		// The reference agent subscribes every queue when it starts and
		// does not redial a relay by itself: a restart does both.
		s.stop()
		return driver.Msg{}, s.startAgent(ctx)
	}
	return driver.Msg{}, fmt.Errorf("unknown command %q", m.Cmd)
}

// narrow rewrites an invitation to offer only the agent versions in r.
func narrow(link string, r driver.Range) (string, error) {
	inv, err := agent.ParseInvitation(link)
	if err != nil {
		return "", err
	}
	got, ok := inv.AgentVersions.Intersect(smp.VersionRange{Min: smp.Version(r.Min), Max: smp.Version(r.Max)})
	if !ok {
		return "", fmt.Errorf("create_invitation: agent versions %d-%d outside %v", r.Min, r.Max, inv.AgentVersions)
	}
	inv.AgentVersions = got
	return inv.String(), nil
}

func (s *shim) startAgent(ctx context.Context) error {
	ag, err := s.opts.NewAgent(ctx, s.relay, s.dir)
	if err != nil {
		return err
	}
	s.ag, s.quit = ag, make(chan struct{})
	s.pump.Add(1)
	go s.events(ag, s.quit)
	return nil
}

func (s *shim) stop() {
	if s.ag == nil {
		return
	}
	close(s.quit)
	s.pump.Wait()
	s.ag.Close()
	s.ag = nil
}

var kinds = map[agent.EventKind]string{
	agent.EventConf: driver.EvConf, agent.EventInfo: driver.EvInfo, agent.EventCon: driver.EvCon,
	agent.EventMsg: driver.EvMsg, agent.EventRcvd: driver.EvRcvd, agent.EventSwitch: driver.EvSwitch,
	agent.EventRSync: driver.EvRSync, agent.EventErr: driver.EvErr, agent.EventReq: driver.EvReq,
}

func (s *shim) events(ag Agent, quit chan struct{}) {
	defer s.pump.Done()
	for {
		select {
		case <-quit:
			return
		case e := <-ag.Events():
			name, ok := kinds[e.Kind]
			if !ok {
				continue
			}
			m := driver.Msg{Event: name, Conn: e.ConnID}
			switch e.Kind {
			case agent.EventConf, agent.EventInfo:
				m.Info = driver.Str(string(e.Body))
			case agent.EventReq:
				m.Info, m.Link = driver.Str(string(e.Body)), e.Invitation
			case agent.EventMsg:
				m.Body, m.MsgID = driver.Str(string(e.Body)), e.MsgID
			case agent.EventRcvd:
				m.MsgID = e.MsgID
			case agent.EventErr:
				m.Error = fmt.Sprint(e.Err)
			}
			// Wait for a running command's reply (DRV-FRAME-3); a
			// command that stops this pump holds mu, so do not block
			// on it.
			for !s.mu.TryLock() {
				select {
				case <-quit:
					return
				case <-time.After(time.Millisecond):
				}
			}
			s.w.Write(m)
			s.mu.Unlock()
		}
	}
}

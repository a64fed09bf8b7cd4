package clientcert

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smpkit/smpkit/conformance"
	"github.com/smpkit/smpkit/internal/agentshim"
	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/smp"
)

// Faulty agents and shims, in test code only: each must be caught by a
// MUST case (GUIDE: a conformance case is proven by a mutant it catches).

// hooked wraps an agent; a nil hook delegates.
type hooked struct {
	agentshim.Agent
	create func(ctx context.Context, proc agent.Procedure) (string, string, error)
	join   func(ctx context.Context, link string, info []byte) (string, error)
	ack    func(ctx context.Context, conn string, id int64) error
	rotate func(ctx context.Context, conn string, relay smp.Server) error
	sync   func(ctx context.Context, conn string) error
	addQ   func(ctx context.Context, conn string, relay smp.Server) error
	joinC  func(ctx context.Context, link string, info []byte) (string, error)
	// events, when set, sees every event and emits what the faulty
	// agent would report instead.
	events func(e agent.Event, emit func(agent.Event))
	out    chan agent.Event
	quit   chan struct{}
	once   sync.Once
}

func (h *hooked) start() *hooked {
	if h.events != nil {
		h.out, h.quit = make(chan agent.Event, 4096), make(chan struct{})
		go func() {
			for {
				select {
				case <-h.quit:
					return
				case e := <-h.Agent.Events():
					h.events(e, func(x agent.Event) { h.out <- x })
				}
			}
		}()
	}
	return h
}

func (h *hooked) Events() <-chan agent.Event {
	if h.out != nil {
		return h.out
	}
	return h.Agent.Events()
}

func (h *hooked) Close() error {
	h.once.Do(func() {
		if h.quit != nil {
			close(h.quit)
		}
	})
	return h.Agent.Close()
}

func (h *hooked) CreateInvitationWith(ctx context.Context, proc agent.Procedure) (string, string, error) {
	if h.create != nil {
		return h.create(ctx, proc)
	}
	return h.Agent.CreateInvitationWith(ctx, proc)
}

func (h *hooked) Join(ctx context.Context, link string, info []byte) (string, error) {
	if h.join != nil {
		return h.join(ctx, link, info)
	}
	return h.Agent.Join(ctx, link, info)
}

func (h *hooked) Ack(ctx context.Context, conn string, id int64) error {
	if h.ack != nil {
		return h.ack(ctx, conn, id)
	}
	return h.Agent.Ack(ctx, conn, id)
}

func (h *hooked) Rotate(ctx context.Context, conn string, relay smp.Server) error {
	if h.rotate != nil {
		return h.rotate(ctx, conn, relay)
	}
	return h.Agent.Rotate(ctx, conn, relay)
}

func (h *hooked) AddQueue(ctx context.Context, conn string, relay smp.Server) error {
	if h.addQ != nil {
		return h.addQ(ctx, conn, relay)
	}
	return h.Agent.AddQueue(ctx, conn, relay)
}

func (h *hooked) JoinContact(ctx context.Context, link string, info []byte) (string, error) {
	if h.joinC != nil {
		return h.joinC(ctx, link, info)
	}
	return h.Agent.JoinContact(ctx, link, info)
}

func (h *hooked) SyncRatchet(ctx context.Context, conn string) error {
	if h.sync != nil {
		return h.sync(ctx, conn)
	}
	return h.Agent.SyncRatchet(ctx, conn)
}

// withHooks builds shim options whose agents get the hooks set by fn.
func withHooks(fn func(h *hooked)) agentshim.Options {
	return agentshim.Options{NewAgent: func(ctx context.Context, relay smp.Server, dir string) (agentshim.Agent, error) {
		a, err := agentshim.NewReferenceAgent(ctx, relay, dir)
		if err != nil {
			return nil, err
		}
		h := &hooked{Agent: a}
		fn(h)
		return h.start(), nil
	}}
}

func withConfig(fn func(cfg *agent.Config)) agentshim.Options {
	return agentshim.Options{NewAgent: func(ctx context.Context, relay smp.Server, dir string) (agentshim.Agent, error) {
		cfg := agentshim.ReferenceConfig(relay, dir)
		fn(&cfg)
		return agent.New(ctx, cfg)
	}}
}

// relink rewrites the first queue of an invitation.
func relink(link string, fn func(*agent.Invitation)) string {
	inv, err := agent.ParseInvitation(link)
	if err != nil {
		return link
	}
	fn(&inv)
	return inv.String()
}

// trustOnFirstUse replaces the address's key hash by whatever the relay
// presents: a client that does not check the relay's identity.
func trustOnFirstUse(srv smp.Server) smp.Server {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", net.JoinHostPort(srv.Hosts[0], srv.Port), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"smp/1"}})
	if err != nil {
		return srv
	}
	defer c.Close()
	if certs := c.ConnectionState().PeerCertificates; len(certs) > 1 {
		h := sha256.Sum256(certs[1].Raw)
		srv.KeyHash = h[:]
	}
	return srv
}

// rewriteOut rewrites the shim's output lines.
type rewriteOut struct {
	w  io.Writer
	fn func(string) string
}

func (r rewriteOut) Write(p []byte) (int, error) {
	_, err := io.WriteString(r.w, r.fn(string(p)))
	return len(p), err
}

type mutant struct {
	name   string
	killer string // the MUST case that must fail
	also   string // a second MUST case that must fail too, if any
	opts   agentshim.Options
	launch Launcher // overrides opts
}

func mutants() []mutant {
	fresh := 0
	var mu sync.Mutex
	return []mutant{
		{name: "skips the relay identity check", killer: "TLS-IDENTITY-MISMATCH", opts: agentshim.Options{
			NewAgent: func(ctx context.Context, relay smp.Server, dir string) (agentshim.Agent, error) {
				return agentshim.NewReferenceAgent(ctx, trustOnFirstUse(relay), dir)
			}}},
		{name: "no receipts", killer: "MSG-RECEIPTS", opts: withHooks(func(h *hooked) {
			h.ack = func(context.Context, string, int64) error { return nil }
		})},
		{name: "reports the wrong message id", killer: "MSG-FROM-PEER", opts: withHooks(func(h *hooked) {
			h.events = func(e agent.Event, emit func(agent.Event)) {
				if e.Kind == agent.EventMsg {
					e.MsgID++
				}
				emit(e)
			}
		})},
		{name: "truncates message bodies", killer: "MSG-FROM-PEER", opts: withHooks(func(h *hooked) {
			h.events = func(e agent.Event, emit func(agent.Event)) {
				if e.Kind == agent.EventMsg && len(e.Body) > 0 {
					e.Body = e.Body[:len(e.Body)-1]
				}
				emit(e)
			}
		})},
		{name: "reports each message twice", killer: "MSG-FROM-PEER", opts: withHooks(func(h *hooked) {
			h.events = func(e agent.Event, emit func(agent.Event)) {
				emit(e)
				if e.Kind == agent.EventMsg {
					emit(e)
				}
			}
		})},
		{name: "loses a message in transit", killer: "MSG-FROM-PEER", opts: withConfig(func(cfg *agent.Config) {
			var n atomic.Int32
			cfg.Drop = func(string, []byte) bool { return n.Add(1) == 4 }
		})},
		{name: "accepts a replayed message", killer: "ROBUST-REPLAY-AND-GARBAGE", opts: withHooks(func(h *hooked) {
			// The first rejection after a message is taken for a copy of
			// it and reported as a message again.
			var last *agent.Event
			h.events = func(e agent.Event, emit func(agent.Event)) {
				switch {
				case e.Kind == agent.EventMsg:
					last = &e
				case e.Kind == agent.EventErr && last != nil:
					emit(*last)
					last = nil
					return
				}
				emit(e)
			}
		})},
		{name: "stops after a malformed message", killer: "ROBUST-GARBAGE-BEFORE-CONF", opts: withHooks(func(h *hooked) {
			broken := false
			h.events = func(e agent.Event, emit func(agent.Event)) {
				if e.Kind == agent.EventErr {
					broken = true
				}
				if !broken {
					emit(e)
				}
			}
		})},
		{name: "never connects to a relay a second time", killer: "SUB-RELAY-RESTART", opts: func() agentshim.Options {
			var mu sync.Mutex
			dialed := map[string]bool{}
			return withConfig(func(cfg *agent.Config) {
				cfg.Client.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
					mu.Lock()
					again := dialed[addr]
					dialed[addr] = true
					mu.Unlock()
					if again {
						return nil, errors.New("mutant: no second connection")
					}
					var d net.Dialer
					return d.DialContext(ctx, network, addr)
				}
			})
		}()},
		{name: "forgets its state on restart", killer: "STATE-RESTART", opts: agentshim.Options{
			NewAgent: func(ctx context.Context, relay smp.Server, dir string) (agentshim.Agent, error) {
				mu.Lock()
				fresh++
				d := fmt.Sprintf("%s-%d", dir, fresh)
				mu.Unlock()
				return agentshim.NewReferenceAgent(ctx, relay, d)
			}}},
		{name: "always makes fast invitations", killer: "DUPLEX-STD-INITIATOR", opts: withHooks(func(h *hooked) {
			h.create = func(ctx context.Context, _ agent.Procedure) (string, string, error) {
				return h.Agent.CreateInvitationWith(ctx, agent.Fast)
			}
		})},
		{name: "fast joiner skips SKEY", killer: "DUPLEX-FAST-JOINER", also: "CMD-SECURE-FAST", opts: withHooks(func(h *hooked) {
			h.join = func(ctx context.Context, link string, info []byte) (string, error) {
				return h.Agent.Join(ctx, relink(link, func(inv *agent.Invitation) { inv.Queues[0].Mode = nil }), info)
			}
		})},
		{name: "standard joiner uses SKEY", killer: "DUPLEX-STD-JOINER", also: "CMD-SECURE-STANDARD", opts: withHooks(func(h *hooked) {
			h.join = func(ctx context.Context, link string, info []byte) (string, error) {
				m := smp.QueueMessaging
				return h.Agent.Join(ctx, relink(link, func(inv *agent.Invitation) { inv.Queues[0].Mode = &m }), info)
			}
		})},
		{name: "joins without its connection info", killer: "DUPLEX-FAST-JOINER", opts: withHooks(func(h *hooked) {
			h.join = func(ctx context.Context, link string, _ []byte) (string, error) { return h.Agent.Join(ctx, link, nil) }
		})},
		{name: "drops the peer's connection info", killer: "DUPLEX-FAST-INITIATOR", opts: withHooks(func(h *hooked) {
			h.events = func(e agent.Event, emit func(agent.Event)) {
				if e.Kind == agent.EventConf || e.Kind == agent.EventInfo {
					e.Body = nil
				}
				emit(e)
			}
		})},
		{name: "prints links with unescaped values", killer: "LINK-SHIM-PRINTS", opts: withHooks(func(h *hooked) {
			h.create = func(ctx context.Context, proc agent.Procedure) (string, string, error) {
				id, link, err := h.Agent.CreateInvitationWith(ctx, proc)
				return id, strings.ReplaceAll(strings.ReplaceAll(link, "%3A", ":"), "%2F", "/"), err
			}
		})},
		{name: "ignores rotate", killer: "ROTATE-BY-SHIM", opts: withHooks(func(h *hooked) {
			h.rotate = func(context.Context, string, smp.Server) error { return nil }
		})},
		{name: "hides the end of a rotation", killer: "ROTATE-BY-PEER", opts: withHooks(func(h *hooked) {
			h.events = func(e agent.Event, emit func(agent.Event)) {
				if e.Kind != agent.EventSwitch {
					emit(e)
				}
			}
		})},
		{name: "ignores sync_ratchet", killer: "RESYNC-BY-SHIM", opts: withHooks(func(h *hooked) {
			h.sync = func(context.Context, string) error { return nil }
		})},
		{name: "drops messages that arrive out of order", killer: "TRANSIT-REORDER", opts: withHooks(func(h *hooked) {
			var high int64
			h.events = func(e agent.Event, emit func(agent.Event)) {
				if e.Kind == agent.EventMsg {
					if e.MsgID < high {
						return
					}
					high = e.MsgID
				}
				emit(e)
			}
		})},
		{name: "reuses its X3DH keys in every invitation", killer: "KEYS-PER-QUEUE", opts: withHooks(func(h *hooked) {
			var first *agent.Invitation
			h.create = func(ctx context.Context, proc agent.Procedure) (string, string, error) {
				id, link, err := h.Agent.CreateInvitationWith(ctx, proc)
				if err != nil {
					return id, link, err
				}
				if first == nil {
					inv, _ := agent.ParseInvitation(link)
					first = &inv
					return id, link, nil
				}
				return id, relink(link, func(inv *agent.Invitation) { inv.E2EKey1, inv.E2EKey2 = first.E2EKey1, first.E2EKey2 }), nil
			}
		})},
		{name: "joins whatever agent versions a link offers", killer: "LINK-VERSION-OUTSIDE", opts: withHooks(func(h *hooked) {
			h.join = func(ctx context.Context, link string, info []byte) (string, error) {
				return h.Agent.Join(ctx, relink(link, func(inv *agent.Invitation) {
					inv.AgentVersions = smp.VersionRange{Min: agent.AgentVersionMin, Max: agent.AgentVersionMax}
				}), info)
			}
		})},
		{name: "drops contact requests", killer: "CONTACT-SHIM-OWNS", opts: withHooks(func(h *hooked) {
			h.events = func(e agent.Event, emit func(agent.Event)) {
				if e.Kind != agent.EventReq {
					emit(e)
				}
			}
		})},
		{name: "sends contact requests without its info", killer: "CONTACT-SHIM-REQUESTS", opts: withHooks(func(h *hooked) {
			h.joinC = func(ctx context.Context, link string, _ []byte) (string, error) {
				return h.Agent.JoinContact(ctx, link, nil)
			}
		})},
		{name: "ignores add_queue", killer: "REDUNDANCY", opts: withHooks(func(h *hooked) {
			h.addQ = func(context.Context, string, smp.Server) error { return nil }
		})},
		{name: "reuses its first queue's X25519 key in later links", killer: "KEYS-PER-QUEUE", opts: withHooks(func(h *hooked) {
			var first *agent.Invitation
			h.create = func(ctx context.Context, proc agent.Procedure) (string, string, error) {
				id, link, err := h.Agent.CreateInvitationWith(ctx, proc)
				if err != nil {
					return id, link, err
				}
				if first == nil {
					inv, _ := agent.ParseInvitation(link)
					first = &inv
					return id, link, nil
				}
				return id, relink(link, func(inv *agent.Invitation) { inv.Queues[0].DHKey = first.Queues[0].DHKey }), nil
			}
		})},
		{name: "answers hello with a version it was not offered", killer: "DRV-HELLO", launch: func(ctx context.Context, stderr io.Writer) (*Proc, error) {
			inR, inW := io.Pipe()
			outR, outW := io.Pipe()
			go func() {
				agentshim.Serve(context.Background(), inR, rewriteOut{outW, func(s string) string { return strings.Replace(s, `"driver":1`, `"driver":7`, 1) }}, agentshim.Options{})
				outW.Close()
			}()
			return &Proc{In: inW, Out: outR, Stop: func() error { inW.Close(); return nil }}, nil
		}},
	}
}

// TestMutantsAreCaught runs each mutant against the case meant to catch
// it and prints the kill table (go test -v).
func TestMutantsAreCaught(t *testing.T) {
	if testing.Short() {
		t.Skip("mutants take a while")
	}
	byID := map[string]*Case{}
	for _, c := range Catalog() {
		byID[c.ID] = c
	}
	ms := mutants()
	rows := make([][]string, len(ms))
	var killed atomic.Int32
	t.Run("mutants", func(t *testing.T) {
		for i, m := range ms {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel() // mostly waiting for events that never come
				launch := m.launch
				if launch == nil {
					launch = inProcess(m.opts)
				}
				dead := true
				for _, id := range []string{m.killer, m.also} {
					if id == "" {
						continue
					}
					c := byID[id]
					if c == nil || c.Level != conformance.MUST {
						t.Fatalf("mutant %q: %s is not a MUST case", m.name, id)
					}
					res := RunCase(context.Background(), c, Options{Launch: launch, Wait: 3 * time.Second})
					verdict := "KILLED"
					if res.Status != conformance.Fail {
						dead = false
						verdict = "SURVIVED (" + string(res.Status) + ")"
						t.Errorf("mutant %q survived %s: %s", m.name, id, res.Detail)
					}
					detail := res.Detail
					if i := strings.IndexByte(detail, '\n'); i >= 0 {
						detail = detail[:i]
					}
					if len(detail) > 110 {
						detail = detail[:110] + "…"
					}
					rows[i] = append(rows[i], fmt.Sprintf("%-48s %-28s %s: %s\n", m.name, id, verdict, detail))
				}
				if dead {
					killed.Add(1)
				}
			})
		}
	})
	var table strings.Builder
	fmt.Fprintf(&table, "%-48s %-28s %s\n", "MUTANT", "CAUGHT BY", "VERDICT")
	for _, r := range rows {
		for _, l := range r {
			table.WriteString(l)
		}
	}
	fmt.Fprintf(&table, "%d of %d mutants killed\n", killed.Load(), len(ms))
	t.Log("\n" + table.String())
	if os.Getenv("SMP_CONFORM_KILL_TABLE") != "" {
		os.WriteFile(os.Getenv("SMP_CONFORM_KILL_TABLE"), []byte(table.String()), 0o644)
	}
}

package relay

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smpkit/smpkit/conformance"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/transport"
)

// A mutant is the reference relay with one realistic fault. The
// conformance suite must catch every one (issue: "proof that it bites").
// The faults live here, in test code; the relay only offers hook points.
type mutant struct {
	name, fault string
	hooks       func() *hooks
}

var mutants = []mutant{
	{"unsigned-send", "accepts an unsigned SEND to a secured queue", func() *hooks {
		return &hooks{verify: func(r *Relay, env *cmdEnv, t smp.Transmission, cmd smp.Command, q *store.Queue, err error) (*store.Queue, error) {
			if _, ok := cmd.(smp.CmdSEND); ok && err != nil && len(t.Auth) == 0 {
				if q, serr := r.store.Queue(store.BySender, t.EntityID); serr == nil {
					return q, nil
				}
			}
			return q, err
		}}
	}},
	{"missing-queue-error", "answers a missing queue with ERR CMD NO_ENTITY instead of ERR AUTH", func() *hooks {
		var h hooks
		h.verify = func(r *Relay, env *cmdEnv, t smp.Transmission, cmd smp.Command, q *store.Queue, err error) (*store.Queue, error) {
			if err != nil && cmd.Party() == smp.Recipient {
				if _, serr := r.store.Queue(store.ByRecipient, t.EntityID); serr != nil {
					return nil, smp.Errorf(smp.CMDNoEntity, "no queue")
				}
			}
			return q, err
		}
		return &h
	}},
	{"double-delivery", "pushes a new message while another is in flight", func() *hooks {
		return &hooks{exec: func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
			send, ok := rc.cmd.(smp.CmdSEND)
			if !ok {
				return nil, false
			}
			outs, err := c.execLocked(env, *rc)
			if err != nil {
				e, _ := smp.ErrorTypeOf(err)
				return []out{errOut(rc.t.CorrID, rc.t.EntityID, e)}, true
			}
			q := rc.q
			if sub := c.r.subs[string(q.RecipientID)]; sub != nil {
				if s := sub.queues[string(q.RecipientID)]; s != nil && s.delivered != nil {
					m := store.Message{ID: make([]byte, 24), Timestamp: time.Now().Unix(), Body: send.Body}
					rand.Read(m.ID)
					sub.event(sub.encodeTx(nil, q.RecipientID, msgResponse(q, &m)))
				}
			}
			return outs, true
		}}
	}},
	{"ack-any-id", "ACK with a wrong message id succeeds", func() *hooks {
		return &hooks{exec: func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
			if _, ok := rc.cmd.(smp.CmdACK); ok {
				if s := c.queues[string(rc.q.RecipientID)]; s != nil && s.delivered != nil {
					rc.cmd = smp.CmdACK{MsgID: s.delivered}
				}
			}
			return nil, false
		}}
	}},
	{"no-end", "does not send END to the previous subscriber", func() *hooks {
		return &hooks{exec: func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
			if _, ok := rc.cmd.(smp.CmdSUB); ok {
				rid := string(rc.q.RecipientID)
				if old := c.r.subs[rid]; old != nil && old != c {
					delete(old.queues, rid)
					delete(c.r.subs, rid)
				}
			}
			return nil, false
		}}
	}},
	{"ids-swapped", "IDS carries the sender id first and the recipient id second", func() *hooks {
		return &hooks{reply: func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
			if ids, ok := rsp.(smp.RspIDS); ok {
				ids.RcvID, ids.SndID = ids.SndID, ids.RcvID
				return ids
			}
			return rsp
		}}
	}},
	{"quota-stuck", "a queue that reached its quota never accepts messages again", func() *hooks {
		var mu sync.Mutex
		full := map[string]bool{}
		return &hooks{exec: func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
			if _, ok := rc.cmd.(smp.CmdSEND); !ok {
				return nil, false
			}
			mu.Lock()
			defer mu.Unlock()
			quota := errOut(rc.t.CorrID, rc.t.EntityID, smp.ErrorType{Kind: smp.ErrQUOTA})
			if full[string(rc.q.RecipientID)] {
				return []out{quota}, true
			}
			outs, err := c.execLocked(env, *rc)
			if err != nil {
				if e, _ := smp.ErrorTypeOf(err); e.Kind == smp.ErrQUOTA {
					full[string(rc.q.RecipientID)] = true
				}
				e, _ := smp.ErrorTypeOf(err)
				return []out{errOut(rc.t.CorrID, rc.t.EntityID, e)}, true
			}
			return outs, true
		}}
	}},
	{"no-quota-marker", "refuses a message to a full queue without storing the quota marker", func() *hooks {
		return &hooks{exec: func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
			if _, ok := rc.cmd.(smp.CmdSEND); !ok {
				return nil, false
			}
			if n, _ := c.r.store.Size(rc.q.RecipientID); n >= c.r.cfg.Quota {
				return []out{errOut(rc.t.CorrID, rc.t.EntityID, smp.ErrorType{Kind: smp.ErrQUOTA})}, true
			}
			return nil, false
		}}
	}},
	{"short-chain", "presents only its leaf certificate, without the identity certificate", func() *hooks {
		return &hooks{tls: func(cfg *tls.Config) {
			for i := range cfg.Certificates {
				cfg.Certificates[i].Certificate = cfg.Certificates[i].Certificate[:1]
			}
		}}
	}},
	{"no-deld", "deletes a queue without telling its other subscriber", func() *hooks {
		return &hooks{exec: func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
			if _, ok := rc.cmd.(smp.CmdDEL); ok {
				delete(c.r.subs, string(rc.q.RecipientID))
			}
			return nil, false
		}}
	}},
	{"get-sub-mixed", "allows SUB after GET on one connection", func() *hooks {
		return &hooks{exec: func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
			if _, ok := rc.cmd.(smp.CmdSUB); ok {
				delete(c.queues, string(rc.q.RecipientID))
			}
			return nil, false
		}}
	}},
	{"large-msg", "accepts bodies up to the v6 limit at every version", func() *hooks {
		return &hooks{exec: func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
			if _, ok := rc.cmd.(smp.CmdSEND); !ok {
				return nil, false
			}
			e := *env
			e.v = smp.VersionMin
			outs, err := c.execLocked(&e, *rc)
			if err != nil {
				t, _ := smp.ErrorTypeOf(err)
				outs = append(outs, errOut(rc.t.CorrID, rc.t.EntityID, t))
			}
			return outs, true
		}}
	}},
	{"msg-nonce", "encrypts MSG bodies with the reversed message id as nonce", func() *hooks {
		var h hooks
		h.reply = func(c *conn, corrID, entityID []byte, rsp smp.Response) smp.Response {
			m, ok := rsp.(smp.RspMSG)
			if !ok {
				return rsp
			}
			q, err := c.r.store.Queue(store.ByRecipient, entityID)
			if err != nil {
				return rsp
			}
			plain, err := smpcrypto.Open(q.RcvDHSecret, smpcrypto.NonceFromID(m.MsgID), m.Body)
			if err != nil {
				return rsp
			}
			m.Body, _ = smpcrypto.Seal(q.RcvDHSecret, smpcrypto.NonceFromID(m.MsgID).Reversed(), plain)
			return m
		}
		return &h
	}},
	{"off-ignored", "accepts messages to a suspended queue", func() *hooks {
		return &hooks{exec: func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
			if _, ok := rc.cmd.(smp.CmdSEND); !ok || rc.q.Status != store.Off {
				return nil, false
			}
			set := func(s store.Status) {
				c.r.store.UpdateQueue(rc.q.RecipientID, func(q *store.Queue) error { q.Status = s; return nil })
			}
			set(store.Active)
			defer set(store.Off)
			outs, err := c.execLocked(env, *rc)
			if err != nil {
				t, _ := smp.ErrorTypeOf(err)
				outs = append(outs, errOut(rc.t.CorrID, rc.t.EntityID, t))
			}
			return outs, true
		}}
	}},
	{"refusal-silent", "refuses a bad client hello by waiting instead of closing the connection", func() *hooks {
		var h hooks
		h.handshake = func(ctx context.Context, c *transport.TLSConn, cfg transport.ServerConfig) (*transport.Session, error) {
			sess, err := transport.ServerHandshake(ctx, c, cfg)
			if err != nil {
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				io.Copy(io.Discard, c)
			}
			return sess, err
		}
		return &h
	}},
	{"notify-always", "notifies every message, also without the notification flag", func() *hooks {
		return &hooks{exec: func(c *conn, env *cmdEnv, rc *received) ([]out, bool) {
			if s, ok := rc.cmd.(smp.CmdSEND); ok {
				s.Notify = true
				rc.cmd = s
			}
			return nil, false
		}}
	}},
}

// TestMutantsAreCaught proves the conformance suite against the developer
// mutant set: for each mutant and each requirement it violates
// (conformance/mutants.txt), the MUST cases citing that requirement run at
// every version point until one fails; the test fails unless one does. The
// kill table it logs (mutant → requirement: killing case@version) is the
// proof behind `smp-conform list --coverage`.
func TestMutantsAreCaught(t *testing.T) {
	if testing.Short() {
		t.Skip("mutant run skipped in -short mode")
	}
	declared := map[string][]string{}
	for _, m := range conformance.Mutants() {
		declared[m.Name] = m.Spec
	}
	have := map[string]bool{}
	for _, m := range mutants {
		if have[m.name] {
			t.Errorf("two mutants are named %q", m.name)
		}
		have[m.name] = true
		if declared[m.name] == nil {
			t.Errorf("mutant %q is not listed in conformance/mutants.txt", m.name)
		}
	}
	for n := range declared {
		if !have[n] {
			t.Errorf("conformance/mutants.txt lists %q, which is no mutant", n)
		}
	}
	var mu sync.Mutex
	table := map[string]string{}
	t.Run("set", func(t *testing.T) {
		for _, m := range mutants {
			spec := declared[m.name]
			if spec == nil {
				continue
			}
			t.Run(m.name, func(t *testing.T) {
				t.Parallel()
				// Each requirement the mutant violates must be proven on
				// its own: a MUST case citing it fails against the mutant.
				var kills []string
				for _, id := range spec {
					var ids []string
					for _, c := range conformance.Catalog() {
						if c.Level == conformance.MUST && c.Cites([]string{id}) {
							ids = append(ids, regexp.QuoteMeta(c.ID))
						}
					}
					if len(ids) == 0 {
						t.Errorf("mutant %q: no MUST case cites %s", m.name, id)
						continue
					}
					target := startMutant(t, m.hooks())
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
					rep := conformance.Run(ctx, target, conformance.Options{
						Run:  regexp.MustCompile("^(" + strings.Join(ids, "|") + ")$"),
						Wait: time.Second, CaseTimeout: 15 * time.Second, FuzzTime: 300 * time.Millisecond,
						ModelChecks: 4, ModelShrink: 200 * time.Millisecond, StopAtMUSTFailure: true,
					})
					cancel()
					killer := ""
					for _, r := range rep.Results {
						if r.Level == conformance.MUST && r.Status == conformance.Fail {
							killer = r.Key()
							if len(kills) == 0 {
								killer += " (" + firstLine(r.Detail) + ")"
							}
						}
					}
					if killer == "" {
						t.Errorf("mutant %q (%s) passed every MUST case citing %s", m.name, m.fault, id)
						killer = "NOT CAUGHT"
					}
					kills = append(kills, id+": "+killer)
				}
				mu.Lock()
				table[m.name] = strings.Join(kills, "; ")
				mu.Unlock()
			})
		}
	})
	var b strings.Builder
	names := make([]string, 0, len(table))
	for n := range table {
		names = append(names, n)
	}
	sort.Strings(names)
	killed := 0
	for _, n := range names {
		k := table[n]
		if !strings.Contains(k, "NOT CAUGHT") {
			killed++
		}
		if len(k) > 160 {
			k = k[:160] + "..."
		}
		fmt.Fprintf(&b, "%-30s %s\n", n, k)
	}
	t.Logf("mutant kill table (%d of %d caught):\n%s", killed, len(table), b.String())
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func startMutant(t *testing.T, h *hooks) conformance.Target {
	creds, err := transport.GenerateCredentials("localhost", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// The proxy cases use relays on loopback as destinations.
	cfg := Config{Credentials: creds, Password: mutantPassword, Proxy: &ProxyConfig{AllowPrivate: true}}
	if h != nil && h.expiring > 0 {
		// Like the expiring relay of `smp-conform self`.
		cfg.MessageTTL, cfg.ExpireInterval = h.expiring, 100*time.Millisecond
	}
	if h != nil && h.config != nil {
		h.config(&cfg)
	}
	if h != nil && h.afterRestart != nil {
		return startRestartable(t, cfg, h)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.hooks = h
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Serve(ln) }()
	t.Cleanup(func() {
		r.Close()
		if err := <-done; err != nil && !errors.Is(err, net.ErrClosed) {
			t.Log(err)
		}
	})
	target := conformance.Target{HostPort: ln.Addr().String(), KeyHash: creds.Identity(), Password: mutantPassword, Display: "mutant"}
	if h != nil && h.expiring > 0 {
		e := target
		e.TTL = h.expiring
		target.Expiring = &e
	}
	return target
}

// A state-machine failure names --seed and shows the shrunk sequence.
func TestModelFailureReport(t *testing.T) {
	var nm mutant
	for _, m := range mutants {
		if m.name == "no-end" {
			nm = m
		}
	}
	target := startMutant(t, nm.hooks())
	rep := conformance.Run(context.Background(), target, conformance.Options{Run: regexp.MustCompile("^SM-DELIVERY-MODEL$"), Seed: 7, Wait: 300 * time.Millisecond, ModelShrink: 3 * time.Second})
	r := rep.Results[0]
	if r.Status != conformance.Fail {
		t.Fatalf("model case %s against no-end", r.Status)
	}
	for _, want := range []string{"--seed 7", "shrunk sequence", "1. "} {
		if !strings.Contains(r.Detail, want) {
			t.Errorf("failure lacks %q:\n%s", want, r.Detail)
		}
	}
	t.Logf("%s", r.Detail)
}

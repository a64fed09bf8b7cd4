package agent_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
)

// Benchmarks (go test -bench . -run '^$' ./reference/agent). The agents
// with 10, 100 and 1,000 established connections are set up once per
// process and shared by the benchmarks; setting up 1,000 takes a while.

type benchSetup struct {
	r1, r2     smp.Server
	aDir, bDir string
	alice, bob *agent.Agent
	ra, rb     *router
	pairs      []pair
	next       int
	size0      int64 // bob's database right after the connections were made
}

var (
	setupMu sync.Mutex
	setups  = map[int]*benchSetup{}
	cleanup []func()
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, f := range cleanup {
		f()
	}
	os.Exit(code)
}

// benchAgents returns two agents with n connections between them.
func benchAgents(b *testing.B, n int) *benchSetup {
	setupMu.Lock()
	defer setupMu.Unlock()
	if s := setups[n]; s != nil {
		return s
	}
	start := func() smp.Server {
		l, err := relay.StartLoopback(relay.Config{})
		if err != nil {
			b.Fatal(err)
		}
		cleanup = append(cleanup, func() { l.Close() })
		return l.Server
	}
	s := &benchSetup{r1: start(), r2: start()}
	for _, d := range []*string{&s.aDir, &s.bDir} {
		dir, err := os.MkdirTemp("", "agent-bench")
		if err != nil {
			b.Fatal(err)
		}
		*d = dir
		cleanup = append(cleanup, func() { os.RemoveAll(dir) })
	}
	s.open(b)
	s.pairs = connectMany(benchTB{b}, s.alice, s.bob, n)
	s.ra, s.rb = newRouter(s.alice), newRouter(s.bob)
	size, err := s.bob.DB().Size(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	s.size0 = size
	setups[n] = s
	return s
}

func (s *benchSetup) open(b *testing.B) {
	ctx := context.Background()
	var err error
	cfg := func(dir string, srv smp.Server) agent.Config {
		return agent.Config{Dir: dir, Relay: srv, Passphrase: testPassphrase, DBOptions: testDB()}
	}
	if s.alice, err = agent.New(ctx, cfg(s.aDir, s.r1)); err != nil {
		b.Fatal(err)
	}
	if s.bob, err = agent.New(ctx, cfg(s.bDir, s.r2)); err != nil {
		b.Fatal(err)
	}
	alice, bob := s.alice, s.bob
	cleanup = append(cleanup, func() {
		if s.ra != nil {
			s.ra.close()
			s.rb.close()
		}
		alice.Close()
		bob.Close()
	})
}

// benchTB lets the setup helpers, written for tests, run under a
// benchmark without tying cleanups to one benchmark run.
type benchTB struct{ *testing.B }

func (benchTB) Cleanup(func()) {}

// message does one full message cycle on the next connection: alice sends,
// bob receives and acknowledges, alice gets the receipt.
func (s *benchSetup) message(b *testing.B) {
	p := s.pairs[s.next%len(s.pairs)]
	s.next++
	ctx := context.Background()
	id, err := s.alice.Send(ctx, p.a, []byte("benchmark message"))
	if err != nil {
		b.Fatal(err)
	}
	m, err := s.rb.wait(p.b, agent.EventMsg)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.bob.Ack(ctx, p.b, m.MsgID); err != nil {
		b.Fatal(err)
	}
	if r, err := s.ra.wait(p.a, agent.EventRcvd); err != nil || r.MsgID != id {
		b.Fatalf("receipt %+v, %v", r, err)
	}
}

// BenchmarkMessage measures a message cycle with 10, 100 and 1,000
// established connections, interleaved in the same run, and reports each
// and the ratio of 1,000 to 10 (the target is at most 1.5).
func BenchmarkMessage(b *testing.B) {
	sizes := []int{10, 100, 1000}
	var ss []*benchSetup
	for _, n := range sizes {
		ss = append(ss, benchAgents(b, n))
	}
	for _, s := range ss { // warm up
		s.message(b)
	}
	elapsed := make([]time.Duration, len(ss))
	b.ResetTimer()
	for range b.N {
		for i, s := range ss {
			t0 := time.Now()
			s.message(b)
			elapsed[i] += time.Since(t0)
		}
	}
	b.StopTimer()
	for i, n := range sizes {
		b.ReportMetric(float64(elapsed[i].Nanoseconds())/float64(b.N), fmt.Sprintf("ns/msg@%d", n))
	}
	b.ReportMetric(float64(elapsed[2])/float64(elapsed[0]), "ratio1000/10")
}

// BenchmarkRestart measures closing and reopening an agent with 1,000
// connections, until messages sent to it while it was down on ten
// connections spread over the list have arrived (so its queues are
// subscribed again).
func BenchmarkRestart(b *testing.B) {
	s := benchAgents(b, 1000)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s.rb.close()
		s.bob.Close()
		var probes []pair
		for i := 0; i < len(s.pairs); i += len(s.pairs) / 10 {
			p := s.pairs[(i+s.next)%len(s.pairs)]
			if _, err := s.alice.Send(ctx, p.a, []byte("while down")); err != nil {
				b.Fatal(err)
			}
			probes = append(probes, p)
		}
		s.next++
		b.StartTimer()
		bob, err := agent.New(ctx, agent.Config{Dir: s.bDir, Relay: s.r2, Passphrase: testPassphrase, DBOptions: testDB()})
		if err != nil {
			b.Fatal(err)
		}
		s.bob, s.rb = bob, newRouter(bob)
		for _, p := range probes {
			if _, err := s.rb.wait(p.b, agent.EventMsg); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	bob := s.bob
	cleanup = append(cleanup, func() { bob.Close() })
}

// BenchmarkStorage reports the database's size per connection (bob's,
// with 1,000) and per message record: its growth over b.N more messages,
// whose records the agent keeps to recognise redeliveries and copies.
func BenchmarkStorage(b *testing.B) {
	s := benchAgents(b, 1000)
	ctx := context.Background()
	size := func() int64 {
		n, err := s.bob.DB().Size(ctx)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	before := size()
	b.ResetTimer()
	for range b.N {
		s.message(b)
	}
	b.StopTimer()
	after := size()
	b.ReportMetric(float64(s.size0)/float64(len(s.pairs)), "bytes/conn")
	b.ReportMetric(float64(after-before)/float64(b.N), "bytes/msg")
}

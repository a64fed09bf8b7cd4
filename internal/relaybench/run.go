package relaybench

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sync"
	"time"

	"github.com/smpkit/smpkit/reference/smpcrypto"
)

// Systems compared.
const (
	Relay    = kindRelay
	Baseline = kindBaseline
	Floor    = kindFloor
)

// Load is one measurement: a system at a fsync policy with a number of
// queue pairs, each pair running SEND → (OK, MSG) → ACK → OK in a loop.
type Load struct {
	System string
	Fsync  string // "never" or "each"
	Pairs  int
	// Conns is the most connections per side (recipients, senders); pairs
	// share them round-robin. Zero means 10.
	Conns int
	// Body is the SEND body size (default 1000 bytes).
	Body int
	// Either Messages (in total) or Duration bounds the run.
	Messages int
	Duration time.Duration
	// Rate, if set, paces the pairs to this many messages per second in
	// total; latency is then measured from each message's scheduled time.
	Rate float64
	// X25519 makes the relay's queue keys X25519, so that SEND and ACK
	// carry authenticators instead of Ed25519 signatures (the baseline and
	// floor are unchanged: the floor checks Ed25519 signatures).
	X25519 bool
	// SerialCommit: see serverSpec.
	SerialCommit bool
	// SingleCommand makes the relay's load client send every command in a
	// block of its own, as upstream's client sends SEND and ACK, instead of
	// packing those ready at the same moment into shared blocks.
	SingleCommand bool
	// Exe is the binary to run the server with (default: this one, which
	// must call ChildMain first).
	Exe string
	// Dir holds the server's data directories (default os.TempDir()).
	Dir string
}

// Result is what one Load measured.
type Result struct {
	Load
	Msgs     int
	Elapsed  time.Duration
	Rate     float64 // messages per second
	P50, P99 time.Duration
	// P99Sent is the p99 of SEND → MSG from the moment the load client
	// began encoding the SEND, which leaves out how late the client's own
	// timer woke it; a diagnostic next to P99, which counts that too.
	P99Sent time.Duration
	// Server-side costs per message.
	BytesPerMsg, AllocsPerMsg float64
	CPUPerMsg                 time.Duration
	// BlocksPerMsg is the blocks the load client's connections sent and
	// received per message: 5 for the baseline and the floor (one per step),
	// fewer for the relay when transmissions share blocks (SMP-BATCH-2).
	BlocksPerMsg float64
}

// child is a benchmark server process.
type child struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Scanner
	hello serverHello
	dir   string
}

func startChild(exe, dir string, spec serverSpec) (*child, error) {
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	d, err := os.MkdirTemp(dir, "relaybench-")
	if err != nil {
		return nil, err
	}
	spec.Dir = d
	js, _ := json.Marshal(spec)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+string(js))
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	outp, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		os.RemoveAll(d)
		return nil, err
	}
	c := &child{cmd: cmd, in: in, out: bufio.NewScanner(outp), dir: d}
	c.out.Buffer(nil, 1<<20)
	if !c.out.Scan() {
		c.stop()
		return nil, fmt.Errorf("%s server did not start", spec.Kind)
	}
	if err := json.Unmarshal(c.out.Bytes(), &c.hello); err != nil {
		c.stop()
		return nil, fmt.Errorf("%s server: %w", spec.Kind, err)
	}
	return c, nil
}

func (c *child) counters(live bool) (counters, error) {
	req := "stats\n"
	if live {
		req = "live\n"
	}
	if _, err := io.WriteString(c.in, req); err != nil {
		return counters{}, err
	}
	if !c.out.Scan() {
		return counters{}, errors.New("server ended")
	}
	var k counters
	err := json.Unmarshal(c.out.Bytes(), &k)
	return k, err
}

func (c *child) stop() {
	c.in.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
	os.RemoveAll(c.dir)
}

func (c *child) identity() []byte {
	id, _ := base64.StdEncoding.DecodeString(c.hello.Identity)
	return id
}

// dial opens a client connection of the load's system.
func dial(l Load, c *child) (loadConn, error) {
	if l.System == Relay {
		sc, err := dialSMP(c.hello.Addr, c.identity())
		if err == nil {
			sc.single = l.SingleCommand
		}
		return sc, err
	}
	return dialPlain(c.hello.Addr, c.identity(), l.System == Floor)
}

// Run measures one load.
func Run(l Load) (Result, error) {
	if l.Conns <= 0 {
		l.Conns = 10
	}
	if l.Body <= 0 {
		l.Body = 1000
	}
	c, err := startChild(l.Exe, l.Dir, serverSpec{Kind: l.System, Fsync: l.Fsync, SerialCommit: l.SerialCommit})
	if err != nil {
		return Result{}, err
	}
	defer c.stop()
	nc := min(l.Pairs, l.Conns)
	var rconns, sconns []loadConn
	defer func() {
		for _, lc := range append(rconns, sconns...) {
			lc.close()
		}
	}()
	for range nc {
		rc, err := dial(l, c)
		if err != nil {
			return Result{}, err
		}
		rconns = append(rconns, rc)
		sc, err := dial(l, c)
		if err != nil {
			return Result{}, err
		}
		sconns = append(sconns, sc)
	}
	pairs := make([]*pair, l.Pairs)
	for i := range pairs {
		p := &pair{idx: uint32(i), rcv: rconns[i%nc], snd: sconns[i%nc], ev: make(chan event, 4)}
		switch rc := p.rcv.(type) {
		case *smpClient:
			alg := smpcrypto.Ed25519
			if l.X25519 {
				alg = smpcrypto.X25519
			}
			if err = newSMPQueue(rc, p, alg); err == nil {
				err = p.cacheSecrets()
			}
		case *plainClient:
			err = rc.register(p)
		}
		if err != nil {
			return Result{}, fmt.Errorf("%s: set up pair %d: %w", l.System, i, err)
		}
		pairs[i] = p
	}
	for _, lc := range append(rconns, sconns...) {
		go lc.run(pairs)
	}
	body := make([]byte, l.Body)
	// Warm up: two messages per pair.
	if _, err := drive(pairs, body, 2*len(pairs), 0, 0); err != nil {
		return Result{}, err
	}
	before, err := c.counters(false)
	if err != nil {
		return Result{}, err
	}
	conns := append(append([]loadConn(nil), rconns...), sconns...)
	blocks := func() (n uint64) {
		for _, lc := range conns {
			n += lc.blockCount()
		}
		return n
	}
	blocksBefore := blocks()
	start := time.Now()
	lat, err := drive(pairs, body, l.Messages, l.Duration, l.Rate)
	elapsed := time.Since(start)
	blocksAfter := blocks()
	if err != nil {
		return Result{}, err
	}
	after, err := c.counters(false)
	if err != nil {
		return Result{}, err
	}
	r := Result{Load: l, Msgs: len(lat), Elapsed: elapsed}
	if n := len(lat); n > 0 {
		sched := make([]time.Duration, n)
		sent := make([]time.Duration, n)
		for i, s := range lat {
			sched[i], sent[i] = s.sched, s.sent
		}
		slices.Sort(sched)
		slices.Sort(sent)
		r.Rate = float64(n) / elapsed.Seconds()
		r.P50, r.P99 = sched[n/2], sched[n*99/100]
		r.P99Sent = sent[n*99/100]
		r.BytesPerMsg = float64(after.Bytes-before.Bytes) / float64(n)
		r.AllocsPerMsg = float64(after.Mallocs-before.Mallocs) / float64(n)
		r.CPUPerMsg = time.Duration(float64(after.CPU-before.CPU) / float64(n))
		r.BlocksPerMsg = float64(blocksAfter-blocksBefore) / float64(n)
	}
	return r, nil
}

// sample is one message's SEND → MSG latency, from its scheduled time and
// from the moment its SEND was begun.
type sample struct{ sched, sent time.Duration }

// drive runs the pairs for total messages (split between them) or for d,
// and returns the SEND → MSG latencies.
func drive(pairs []*pair, body []byte, total int, d time.Duration, rate float64) ([]sample, error) {
	var (
		mu   sync.Mutex
		lat  []sample
		ferr error
		wg   sync.WaitGroup
	)
	deadline := time.Now().Add(d)
	var every time.Duration
	if rate > 0 {
		every = time.Duration(float64(len(pairs)) / rate * float64(time.Second))
	}
	for i, p := range pairs {
		n := -1
		if total > 0 {
			n = total / len(pairs)
			if i < total%len(pairs) {
				n++
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			local, err := p.loop(body, n, deadline, every, time.Duration(i)*every/time.Duration(len(pairs)))
			mu.Lock()
			lat = append(lat, local...)
			if err != nil && ferr == nil {
				ferr = err
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return lat, ferr
}

const stepTimeout = 30 * time.Second

// loop sends n messages (n < 0: until deadline), one at a time.
func (p *pair) loop(body []byte, n int, deadline time.Time, every, offset time.Duration) ([]sample, error) {
	var lat []sample
	next := time.Now().Add(offset)
	var corr uint32
	for i := 0; n < 0 || i < n; i++ {
		if n < 0 && !time.Now().Before(deadline) {
			break
		}
		t0 := time.Now()
		if every > 0 {
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			t0 = next
			next = next.Add(every)
		}
		corr++
		sent := time.Now()
		if err := p.snd.send(p, corr, body); err != nil {
			return lat, err
		}
		var msg event
		for got := 0; got < 2; got++ {
			ev, err := p.wait()
			if err != nil {
				return lat, err
			}
			if ev.kind == 'M' {
				msg = ev
			}
		}
		if msg.kind != 'M' {
			return lat, errors.New("no MSG after SEND")
		}
		lat = append(lat, sample{sched: msg.at.Sub(t0), sent: msg.at.Sub(sent)})
		corr++
		if err := p.rcv.ack(p, corr, msg.id); err != nil {
			return lat, err
		}
		if ev, err := p.wait(); err != nil {
			return lat, err
		} else if ev.kind != 'O' {
			return lat, fmt.Errorf("ACK answered %c", ev.kind)
		}
	}
	return lat, nil
}

func (p *pair) wait() (event, error) {
	select {
	case ev := <-p.ev:
		if ev.kind == 'E' {
			return ev, fmt.Errorf("pair %d: %w", p.idx, ev.err)
		}
		return ev, nil
	case <-time.After(stepTimeout):
		return event{}, fmt.Errorf("pair %d: no answer in %s", p.idx, stepTimeout)
	}
}

// IdleResult is the server memory of idle connections.
type IdleResult struct {
	Conns             int
	RelayPerConn      float64 // bytes per idle SMP connection (handshake done)
	TLSPerConn        float64 // bytes per bare Go TLS connection
	RelayGoroutines   float64 // per connection
	BareTLSGoroutines float64
}

// Idle opens n idle connections to the relay and to a bare TLS server and
// compares the servers' live memory per connection.
func Idle(n int, exe, dir string) (IdleResult, error) {
	res := IdleResult{Conns: n}
	for _, kind := range []string{kindRelay, kindBareTLS} {
		c, err := startChild(exe, dir, serverSpec{Kind: kind, Fsync: "never"})
		if err != nil {
			return res, err
		}
		per, gor, err := idleOne(c, kind, n)
		c.stop()
		if err != nil {
			return res, err
		}
		if kind == kindRelay {
			res.RelayPerConn, res.RelayGoroutines = per, gor
		} else {
			res.TLSPerConn, res.BareTLSGoroutines = per, gor
		}
	}
	return res, nil
}

func idleOne(c *child, kind string, n int) (float64, float64, error) {
	// One connection first, so that one-time costs are not counted.
	closers, err := openIdle(c, kind, 1)
	defer func() {
		for _, f := range closers {
			f()
		}
	}()
	if err != nil {
		return 0, 0, err
	}
	time.Sleep(200 * time.Millisecond)
	before, err := c.counters(true)
	if err != nil {
		return 0, 0, err
	}
	more, err := openIdle(c, kind, n)
	closers = append(closers, more...)
	if err != nil {
		return 0, 0, err
	}
	time.Sleep(500 * time.Millisecond)
	after, err := c.counters(true)
	if err != nil {
		return 0, 0, err
	}
	return float64(int64(after.Live)-int64(before.Live)) / float64(n), float64(after.Goroutines-before.Goroutines) / float64(n), nil
}

func openIdle(c *child, kind string, n int) ([]func(), error) {
	var closers []func()
	for range n {
		if kind == kindRelay {
			sc, err := dialSMP(c.hello.Addr, c.identity())
			if err != nil {
				return closers, err
			}
			closers = append(closers, sc.close)
			continue
		}
		pc, err := dialBareTLS(c.hello.Addr, c.identity())
		if err != nil {
			return closers, err
		}
		closers = append(closers, func() { pc.Close() })
	}
	return closers, nil
}

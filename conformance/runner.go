package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/transport"
)

// Target is the relay under test.
type Target struct {
	// HostPort is the TCP address dialled, e.g. "127.0.0.1:5223".
	HostPort string
	// KeyHash is the relay identity from its address.
	KeyHash []byte
	// Password is the relay's basic auth for NEW and PRXY, if it has one.
	Password string
	// Display names the target in reports (its smp:// address).
	Display string
	// Restart, if set, restarts the relay (same address, identity and
	// store) and returns when it was asked to; the persistence cases wait
	// for the relay to answer again. `--restart-cmd` and `self` set it.
	Restart func(ctx context.Context) error
	// Expiring, if set, is a relay whose messages expire after TTL (whole
	// seconds) and that checks often, for the expiry case. `self` sets it.
	Expiring *Target
	// TTL is the message time to live of an Expiring target.
	TTL time.Duration
}

// Options select and shape a run.
type Options struct {
	// Run selects cases by id; nil runs every case.
	Run *regexp.Regexp
	// Versions limits the SMP versions tested; zero means smp.SupportedRange.
	Versions smp.VersionRange
	// CaseTimeout bounds one case; zero means 20 s.
	CaseTimeout time.Duration
	// Progress, if set, receives one line as each case ends.
	Progress io.Writer
	// Wait bounds each wait for a response or event; zero means 5 s.
	Wait time.Duration
	// ModelChecks is how many random sequences the state-machine case
	// tries; zero means 15.
	ModelChecks int
	// ModelShrink bounds the time spent shrinking a failing sequence;
	// zero means 10 s.
	ModelShrink time.Duration
	// FuzzTime is how long the network fuzzing case runs; zero means 3 s.
	FuzzTime time.Duration
	// ExpectFail maps case ids to the reason a failure is known and
	// accepted (a documented deviation): such a failure is reported as
	// "xfail" and does not fail the run; a pass is reported as "xpass".
	ExpectFail map[string]string
	// Seed makes randomised cases (state machine, fuzzing) reproducible.
	Seed uint64
	// Quick runs each case at the top of its range only, not at every
	// version point of the matrix.
	Quick bool
	// StopAtMUSTFailure ends the run at the first MUST failure.
	StopAtMUSTFailure bool
	// DestListen is where the runner's destination relay listens for the
	// proxy cases (default 127.0.0.1:0) and DestHost the host name the
	// relay under test is told to reach it by (default: the listen
	// address). A relay on another machine needs both.
	DestListen, DestHost string
}

// T is what a running case uses to reach the relay and to log evidence.
type T struct {
	Target  Target
	Options Options
	// V is the version a case uses by default: the highest version both
	// the case and the run's range allow.
	V smp.Version
	// Range is the intersection of the case's and the run's versions.
	Range   smp.VersionRange
	ctx     context.Context
	quiet   bool // Do logs nothing (tight loops)
	log     []string
	closers []io.Closer
	created []*Queue // queues to delete when the case ends
	ids     idBook   // entity ids the case's connections learned
	wireMu  sync.Mutex
	wire    []string // violations seen by the observation layer
	note    string   // a line for the summary even when the case passes
}

// Notef sets a line the summary shows for this case whatever its outcome
// (for example the rate of the network fuzz).
func (t *T) Notef(format string, args ...any) { t.note = fmt.Sprintf(format, args...) }

// Logf records a line of evidence (bytes sent or received, what was seen).
func (t *T) Logf(format string, args ...any) { t.log = append(t.log, fmt.Sprintf(format, args...)) }

// Cleanup closes c when the case ends.
func (t *T) Cleanup(c io.Closer) { t.closers = append(t.closers, c) }

// DialTLS opens a TLS connection to the relay, checking its identity, with
// or without the smp/1 ALPN. The connection is closed when the case ends.
func (t *T) DialTLS(ctx context.Context, noALPN bool) (*transport.TLSConn, error) {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", t.Target.HostPort)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", t.Target.HostPort, err)
	}
	c := transport.TLSClient(raw, transport.ClientTLSConfig(t.Target.KeyHash, noALPN, nil))
	t.Cleanup(c)
	if err := c.Handshake(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// ErrNoCases is returned by Run when the selection matches no case.
var ErrNoCases = errors.New("conformance: the selection matches no case")

// Run executes the selected cases against target, one after another, each
// at every version point of the matrix inside the run's range (Case.Points;
// only the top with Quick). When ctx ends (Ctrl-C), the case running is
// stopped, it and every case not yet started are reported NotRun, and the
// report is marked Incomplete.
func Run(ctx context.Context, target Target, opts Options) *Report {
	opts = opts.withDefaults()
	rep := &Report{Target: target.Display, Versions: opts.Versions.String(), Started: time.Now()}
	jobs := Jobs(opts)
	for i, j := range jobs {
		var res Result
		switch {
		case ctx.Err() != nil:
			res = notRun(j.Case, j.V, "not run: the run was interrupted")
		case j.V == 0:
			res = notRun(j.Case, 0, "")
			res.Status, res.Detail = Skip, fmt.Sprintf("applies to versions %s only", j.Case.Versions)
		default:
			res = runCase(ctx, j.Case, j.V, target, opts)
			if ctx.Err() != nil && res.Status != Pass {
				res.Status, res.Detail = NotRun, "interrupted while running"
			}
		}
		if res.Status == NotRun {
			rep.Incomplete = true
		}
		rep.Results = append(rep.Results, res)
		if opts.Progress != nil && (res.Status != NotRun || i == len(jobs)-1) {
			fmt.Fprintf(opts.Progress, "[%3d/%d] %-6s %-32s %s\n", i+1, len(jobs), strings.ToUpper(string(res.Status)), res.Key(), j.Case.Title)
		}
		if opts.StopAtMUSTFailure && res.Status == Fail && res.Level == MUST {
			break
		}
	}
	rep.Elapsed = time.Since(rep.Started).Seconds()
	return rep
}

// Job is one cell of the matrix: a case at one version (V zero: the case
// does not apply to the run's range and is reported skipped).
type Job struct {
	Case *Case
	V    smp.Version
}

// Jobs lists the matrix of a run in order: the selected cases, each at its
// version points.
func Jobs(opts Options) []Job {
	opts = opts.withDefaults()
	cases := Select(opts.Run)
	var out []Job
	for _, c := range cases {
		pts := c.Points(opts.Versions, opts.Quick)
		if len(pts) == 0 {
			out = append(out, Job{Case: c})
		}
		for _, v := range pts {
			out = append(out, Job{Case: c, V: v})
		}
	}
	return out
}

func notRun(c *Case, v smp.Version, why string) Result {
	return Result{ID: c.ID, Version: v, Group: c.Group, Title: c.Title, Spec: c.Spec, Level: c.Level, Status: NotRun, Detail: why}
}

func (opts Options) withDefaults() Options {
	if opts.Versions == (smp.VersionRange{}) {
		opts.Versions = smp.SupportedRange
	}
	if opts.CaseTimeout == 0 {
		opts.CaseTimeout = 20 * time.Second
	}
	if opts.ModelChecks == 0 {
		opts.ModelChecks = 15
	}
	if opts.ModelShrink == 0 {
		opts.ModelShrink = 10 * time.Second
	}
	if opts.FuzzTime == 0 {
		opts.FuzzTime = 3 * time.Second
	}
	if opts.Wait == 0 {
		opts.Wait = 5 * time.Second
	}
	return opts
}

func runCase(ctx context.Context, c *Case, v smp.Version, target Target, opts Options) (res Result) {
	res = Result{ID: c.ID, Version: v, Group: c.Group, Title: c.Title, Spec: c.Spec, Level: c.Level}
	vr, ok := c.Versions.Intersect(opts.Versions)
	if !ok || !vr.Contains(v) {
		res.Status, res.Detail = Skip, fmt.Sprintf("applies to versions %s only", c.Versions)
		return res
	}
	if c.Long {
		// The long case's time is shared by its version points.
		opts.FuzzTime /= time.Duration(max(len(c.Points(opts.Versions, opts.Quick)), 1))
	}
	timeout := opts.CaseTimeout
	if c.Long {
		timeout += opts.FuzzTime
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	t := &T{Target: target, Options: opts, V: v, Range: vr, ctx: ctx}
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			switch p := p.(type) {
			case failure:
				res.Status, res.Detail = Fail, p.msg
			case skipped:
				res.Status, res.Detail = Skip, p.msg
			default:
				res.Status, res.Detail = Fail, fmt.Sprintf("case panicked: %v\n%s", p, debug.Stack())
			}
		}
		cancel()
		t.deleteCreated()
		for i := len(t.closers) - 1; i >= 0; i-- {
			t.closers[i].Close()
		}
		res.Duration = time.Since(start)
		res.Log = t.log
		res.Note = t.note
		reason, expected := opts.ExpectFail[res.Key()]
		if !expected {
			reason, expected = opts.ExpectFail[c.ID]
		}
		switch {
		case !expected:
		case res.Status == Fail:
			res.Status, res.Detail = XFail, "expected failure ("+reason+"): "+res.Detail
		case res.Status == Pass:
			res.Status, res.Detail = XPass, "listed as an expected failure ("+reason+") but passed"
		}
	}()
	err := c.Run(ctx, t)
	if err == nil {
		t.checkWire() // a violation below the client library fails the case
	}
	switch {
	case err == nil:
		res.Status = Pass
	case errors.Is(err, ErrSkip):
		res.Status, res.Detail = Skip, err.Error()
	default:
		res.Status, res.Detail = Fail, err.Error()
	}
	return res
}

// deleteCreated deletes the queues the case created (SMP-DEL-1), on one
// fresh connection per version, so that a run leaves nothing behind in the
// relay under test. Queues the case already deleted answer ERR AUTH, which
// is ignored.
func (t *T) deleteCreated() {
	if len(t.created) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conns := map[smp.Version]*client.Client{}
	defer func() {
		for _, cl := range conns {
			cl.Close()
		}
	}()
	for _, q := range t.created {
		cl := conns[q.v]
		if cl == nil {
			var err error
			cl, err = client.Dial(ctx, t.server(), client.Config{Versions: smp.VersionRange{Min: q.v, Max: q.v}, PingInterval: -1})
			if err != nil {
				return
			}
			conns[q.v] = cl
		}
		cl.Do(ctx, q.Rcv(smp.CmdDEL{}))
	}
	t.created = nil
}

// TestRelay runs the catalogue against a relay as subtests of t, one per
// case and version, named ID@vN. A failing MUST case fails its subtest; a
// failing SHOULD or robustness case is logged.
func TestRelay(t *testing.T, target Target, opts Options) {
	t.Helper()
	opts = opts.withDefaults()
	for _, j := range Jobs(opts) {
		name := j.Case.ID
		if j.V != 0 {
			name = fmt.Sprintf("%s@v%d", j.Case.ID, j.V)
		}
		t.Run(name, func(t *testing.T) {
			if j.V == 0 {
				t.Skipf("applies to versions %s only", j.Case.Versions)
			}
			c := j.Case
			res := runCase(context.Background(), c, j.V, target, opts)
			for _, l := range res.Log {
				t.Log(l)
			}
			switch res.Status {
			case Skip:
				t.Skip(res.Detail)
			case Fail:
				if c.Level == MUST {
					t.Errorf("%s [%s]: %s", c.Title, strings.Join(c.Spec, ","), res.Detail)
				} else {
					t.Logf("%s %s [%s]: %s", c.Level, c.Title, strings.Join(c.Spec, ","), res.Detail)
				}
			}
		})
	}
}

// Package clientcert certifies a SimpleX client through a shim speaking
// the driver protocol (spec/driver.md): the runner starts its own relays
// on loopback and a reference peer (reference/agent), drives the shim,
// and checks what it does where a third party can see it — at the relays,
// at the peer, in the links it prints. Reports use conformance.Report.
package clientcert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/smpkit/smpkit/conformance"
)

// Options configure a run.
type Options struct {
	// Launch starts a fresh shim for every case (Exec for a program).
	Launch Launcher
	// Target names the shim in the report.
	Target string
	// Run selects cases by id (nil: all).
	Run *regexp.Regexp
	// Wait bounds each wait for a reply or an event (default 10 s).
	Wait time.Duration
	// Progress, if set, receives one line as each case ends.
	Progress io.Writer
	// ExpectFail maps case ids to the reason a failure is known.
	ExpectFail map[string]string
}

// A Case is one check of a client.
type Case struct {
	ID    string
	Group string
	Title string
	Spec  []string // spec/smp.md, spec/graph-chat.md and spec/driver.md ids
	Level conformance.Level
	Run   func(ctx context.Context, t *T) error
}

// ErrSkip marks a case that cannot run against this shim.
var ErrSkip = errors.New("skipped")

// Skipf returns an error that skips the case with a reason.
func Skipf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSkip, fmt.Sprintf(format, args...))
}

var catalog []*Case

func register(cs ...*Case) {
	for _, c := range cs {
		for _, o := range catalog {
			if o.ID == c.ID {
				panic("clientcert: duplicate case id " + c.ID)
			}
		}
		catalog = append(catalog, c)
	}
}

var groups = []string{"driver", "transport", "duplex", "messages", "links", "subscriptions", "agent", "robustness"}

func groupOrder(g string) int {
	for i, n := range groups {
		if n == g {
			return i
		}
	}
	return len(groups)
}

// Catalog returns every case, by group then id.
func Catalog() []*Case {
	out := append([]*Case(nil), catalog...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return groupOrder(out[i].Group) < groupOrder(out[j].Group)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Select returns the cases whose id matches re (all when nil).
func Select(re *regexp.Regexp) []*Case {
	var out []*Case
	for _, c := range Catalog() {
		if re == nil || re.MatchString(c.ID) {
			out = append(out, c)
		}
	}
	return out
}

func (o Options) withDefaults() Options {
	if o.Wait == 0 {
		o.Wait = 10 * time.Second
	}
	if o.Target == "" {
		o.Target = "shim"
	}
	return o
}

// Run runs the selected cases, each with a fresh shim and fresh relays.
func Run(ctx context.Context, opts Options) *conformance.Report {
	opts = opts.withDefaults()
	rep := &conformance.Report{Target: "client " + opts.Target, Versions: "driver 1", Started: time.Now()}
	cases := Select(opts.Run)
	for i, c := range cases {
		res := RunCase(ctx, c, opts)
		rep.Results = append(rep.Results, res)
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "[%3d/%d] %-5s %-30s %s\n", i+1, len(cases), strings.ToUpper(string(res.Status)), c.ID, c.Title)
		}
	}
	rep.Elapsed = time.Since(rep.Started).Seconds()
	return rep
}

// RunCase runs one case in its own world.
func RunCase(ctx context.Context, c *Case, opts Options) (res conformance.Result) {
	opts = opts.withDefaults()
	res = conformance.Result{ID: c.ID, Group: c.Group, Title: c.Title, Spec: c.Spec, Level: c.Level}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 12*opts.Wait)
	defer cancel()
	t, err := newT(ctx, &opts)
	if err != nil {
		res.Status, res.Detail = conformance.Fail, "runner: "+err.Error()
		return res
	}
	defer func() {
		if p := recover(); p != nil {
			res.Status, res.Detail = conformance.Fail, fmt.Sprintf("case panicked: %v\n%s", p, debug.Stack())
		}
		t.close()
		res.Duration = time.Since(start)
		res.Log = t.log
		reason, expected := opts.ExpectFail[c.ID]
		switch {
		case !expected:
		case res.Status == conformance.Fail:
			res.Status, res.Detail = conformance.XFail, "expected failure ("+reason+"): "+res.Detail
		case res.Status == conformance.Pass:
			res.Status, res.Detail = conformance.XPass, "listed as an expected failure ("+reason+") but passed"
		}
	}()
	err = c.Run(ctx, t)
	switch {
	case err == nil:
		res.Status = conformance.Pass
	case errors.Is(err, ErrSkip):
		res.Status, res.Detail = conformance.Skip, err.Error()
	default:
		res.Status, res.Detail = conformance.Fail, err.Error()
	}
	return res
}

package relaybench

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

// Options configure Compare.
type Options struct {
	Pairs    []int         // default 1, 10, 100
	Fsyncs   []string      // default never, each
	Systems  []string      // default relay, baseline, floor
	Duration time.Duration // per run (default 2 s); Messages overrides it
	Messages int           // per run, in total
	// Repeat runs every full-load measurement that many times, interleaved
	// with the other systems', and reports the medians (default 1).
	Repeat int
	Conns  int // see Load
	Body   int // see Load
	// HalfLoad adds, at the largest pair count, runs paced at half of each
	// system's measured maximum.
	HalfLoad bool
	// Idle, if positive, compares that many idle relay connections with
	// bare TLS connections.
	Idle         int
	SerialCommit bool
	// SingleCommand: see Load.
	SingleCommand bool
	// X25519 adds relay runs with X25519 authenticators (system name
	// "relay-x25519") next to the Ed25519 ones.
	X25519   bool
	Exe, Dir string
	// Progress, if set, gets a line per finished run.
	Progress io.Writer
}

// Report holds the results of Compare.
type Report struct {
	// Results has one entry per system, fsync policy and pair count: the
	// medians of its runs.
	Results []Result
	Runs    []Result // every full-load run
	Half    []Result
	// SameRate has the other systems paced at the relay's half-load rate,
	// so that the relay's latency there can be set against what the
	// protocol floor and the baseline do at the same rate on this machine.
	SameRate []Result
	Idle     *IdleResult
}

// Compare runs every system at every fsync policy and pair count, one after
// another in this process's lifetime, so that their ratios share the
// machine's conditions.
func Compare(o Options) (*Report, error) {
	if len(o.Pairs) == 0 {
		o.Pairs = []int{1, 10, 100}
	}
	if len(o.Fsyncs) == 0 {
		o.Fsyncs = []string{"never", "each"}
	}
	if len(o.Systems) == 0 {
		o.Systems = []string{Relay, Baseline, Floor}
	}
	if o.Duration <= 0 && o.Messages <= 0 {
		o.Duration = 2 * time.Second
	}
	rep := &Report{}
	run := func(l Load) (Result, error) {
		r, err := Run(l)
		if err != nil {
			return r, fmt.Errorf("%s fsync=%s pairs=%d: %w", l.System, l.Fsync, l.Pairs, err)
		}
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "  %-8s fsync=%-5s pairs=%-4d rate=%-7.0f %8.0f msgs/s p99 %s\n", l.System, l.Fsync, l.Pairs, l.Rate, r.Rate, r.P99.Round(10*time.Microsecond))
		}
		return r, nil
	}
	for _, p := range o.Pairs {
		for range max(o.Repeat, 1) {
			for _, f := range o.Fsyncs {
				for _, s := range o.Systems {
					r, err := run(Load{System: s, Fsync: f, Pairs: p, Conns: o.Conns, Body: o.Body,
						Messages: o.Messages, Duration: o.Duration, SerialCommit: o.SerialCommit, SingleCommand: o.SingleCommand, Exe: o.Exe, Dir: o.Dir})
					if err != nil {
						return rep, err
					}
					rep.Runs = append(rep.Runs, r)
					if s == Relay && o.X25519 {
						r, err := run(Load{System: s, Fsync: f, Pairs: p, Conns: o.Conns, Body: o.Body, X25519: true,
							Messages: o.Messages, Duration: o.Duration, SingleCommand: o.SingleCommand, Exe: o.Exe, Dir: o.Dir})
						if err != nil {
							return rep, err
						}
						r.System = RelayX25519
						rep.Runs = append(rep.Runs, r)
					}
				}
			}
		}
	}
	rep.Results = medians(rep.Runs)
	if o.HalfLoad {
		p := slices.Max(o.Pairs)
		for _, f := range o.Fsyncs {
			for _, s := range o.Systems {
				max := rep.Get(s, f, p)
				if max == nil || max.Rate == 0 {
					continue
				}
				r, err := run(Load{System: s, Fsync: f, Pairs: p, Conns: o.Conns, Body: o.Body, Rate: max.Rate / 2,
					Messages: o.Messages / 2, Duration: o.Duration, SerialCommit: o.SerialCommit, SingleCommand: o.SingleCommand, Exe: o.Exe, Dir: o.Dir})
				if err != nil {
					return rep, err
				}
				rep.Half = append(rep.Half, r)
			}
		}
		for _, h := range rep.Half {
			if h.System != Relay {
				continue
			}
			for _, s := range o.Systems {
				if s == Relay {
					continue
				}
				r, err := run(Load{System: s, Fsync: h.Fsync, Pairs: p, Conns: o.Conns, Body: o.Body, Rate: h.Load.Rate,
					Messages: o.Messages / 2, Duration: o.Duration, SerialCommit: o.SerialCommit, Exe: o.Exe, Dir: o.Dir})
				if err != nil {
					return rep, err
				}
				rep.SameRate = append(rep.SameRate, r)
			}
		}
	}
	if o.Idle > 0 {
		ir, err := Idle(o.Idle, o.Exe, o.Dir)
		if err != nil {
			return rep, err
		}
		rep.Idle = &ir
	}
	return rep, nil
}

// medians folds repeated runs into one result each, taking the median of
// every measure separately.
func medians(runs []Result) []Result {
	var out []Result
	done := map[[3]string]bool{}
	for _, r := range runs {
		k := [3]string{r.System, r.Fsync, fmt.Sprint(r.Pairs)}
		if done[k] {
			continue
		}
		done[k] = true
		var same []Result
		for _, x := range runs {
			if x.System == r.System && x.Fsync == r.Fsync && x.Pairs == r.Pairs {
				same = append(same, x)
			}
		}
		m := same[0]
		m.Rate = median(same, func(x Result) float64 { return x.Rate })
		m.P50 = time.Duration(median(same, func(x Result) float64 { return float64(x.P50) }))
		m.P99 = time.Duration(median(same, func(x Result) float64 { return float64(x.P99) }))
		m.P99Sent = time.Duration(median(same, func(x Result) float64 { return float64(x.P99Sent) }))
		m.CPUPerMsg = time.Duration(median(same, func(x Result) float64 { return float64(x.CPUPerMsg) }))
		m.BytesPerMsg = median(same, func(x Result) float64 { return x.BytesPerMsg })
		m.AllocsPerMsg = median(same, func(x Result) float64 { return x.AllocsPerMsg })
		m.BlocksPerMsg = median(same, func(x Result) float64 { return x.BlocksPerMsg })
		m.Msgs = 0
		for _, x := range same {
			m.Msgs += x.Msgs
		}
		out = append(out, m)
	}
	return out
}

func median(rs []Result, f func(Result) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

// RelayX25519 names the relay runs with X25519 authenticators.
const RelayX25519 = "relay-x25519"

// Get returns the result of one run at full load, nil if there was none.
func (r *Report) Get(system, fsync string, pairs int) *Result {
	for i := range r.Results {
		x := &r.Results[i]
		if x.System == system && x.Fsync == fsync && x.Pairs == pairs {
			return x
		}
	}
	return nil
}

// Ratio is a's rate over b's, 0 when either is missing.
func (r *Report) Ratio(a, fa, b, fb string, pairs int) float64 {
	x, y := r.Get(a, fa, pairs), r.Get(b, fb, pairs)
	if x == nil || y == nil || y.Rate == 0 {
		return 0
	}
	return x.Rate / y.Rate
}

// CPURatio is a's server CPU per message over b's, 0 when either is missing.
func (r *Report) CPURatio(a, b, fsync string, pairs int) float64 {
	x, y := r.Get(a, fsync, pairs), r.Get(b, fsync, pairs)
	if x == nil || y == nil || y.CPUPerMsg == 0 {
		return 0
	}
	return float64(x.CPUPerMsg) / float64(y.CPUPerMsg)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

func ratio(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

// Print writes the comparison tables.
func (r *Report) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "Full load, medians of the runs (server costs per message, measured in the server process;")
	fmt.Fprintln(w, "blocks/msg: blocks the clients sent and received, 5 when every step has its own):")
	fmt.Fprintln(tw, "pairs\tsystem\tfsync\tmsgs/s\tp50 ms\tp99 ms\tcpu µs/msg\tKB/msg\tallocs/msg\tblocks/msg\t")
	var pairs []int
	for _, x := range r.Results {
		if !slices.Contains(pairs, x.Pairs) {
			pairs = append(pairs, x.Pairs)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.0f\t%s\t%s\t%.0f\t%.1f\t%.0f\t%.2f\t\n", x.Pairs, x.System, x.Fsync, x.Rate, ms(x.P50), ms(x.P99),
			float64(x.CPUPerMsg.Nanoseconds())/1000, x.BytesPerMsg/1024, x.AllocsPerMsg, x.BlocksPerMsg)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nThroughput ratios (same run):")
	fmt.Fprintln(tw, "pairs\trelay/baseline never\trelay/baseline each\trelay/floor never\trelay/floor each\tfloor/baseline never\tfloor/baseline each\teach/never relay\teach/never baseline\teach/never floor\t")
	for _, p := range pairs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", p,
			ratio(r.Ratio(Relay, "never", Baseline, "never", p)), ratio(r.Ratio(Relay, "each", Baseline, "each", p)),
			ratio(r.Ratio(Relay, "never", Floor, "never", p)), ratio(r.Ratio(Relay, "each", Floor, "each", p)),
			ratio(r.Ratio(Floor, "never", Baseline, "never", p)), ratio(r.Ratio(Floor, "each", Baseline, "each", p)),
			ratio(r.Ratio(Relay, "each", Relay, "never", p)), ratio(r.Ratio(Baseline, "each", Baseline, "never", p)),
			ratio(r.Ratio(Floor, "each", Floor, "never", p)))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nServer CPU per message, ratios (less sensitive to other load on the machine):")
	fmt.Fprintln(tw, "pairs\trelay/baseline never\trelay/baseline each\trelay/floor never\trelay/floor each\trelay-x25519/relay never\t")
	for _, p := range pairs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t\n", p,
			ratio(r.CPURatio(Relay, Baseline, "never", p)), ratio(r.CPURatio(Relay, Baseline, "each", p)),
			ratio(r.CPURatio(Relay, Floor, "never", p)), ratio(r.CPURatio(Relay, Floor, "each", p)),
			ratio(r.CPURatio(RelayX25519, Relay, "never", p)))
	}
	tw.Flush()
	if len(r.Half) > 0 {
		fmt.Fprintf(w, "\nLatency at half of each system's maximum (pairs=%d, SEND → MSG, from the scheduled send time):\n", r.Half[0].Pairs)
		fmt.Fprintln(tw, "system\tfsync\ttarget msgs/s\tmsgs/s\tp50 ms\tp99 ms\t")
		for _, x := range r.Half {
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f\t%s\t%s\t\n", x.System, x.Fsync, x.Load.Rate, x.Rate, ms(x.P50), ms(x.P99))
		}
		tw.Flush()
	}
	if len(r.SameRate) > 0 {
		fmt.Fprintln(w, "\nLatency and server costs at the relay's half-load rate, every system at the same msgs/s:")
		fmt.Fprintln(tw, "system\tfsync\tmsgs/s\tp50 ms\tp99 ms\tp99 from SEND begun ms\tcpu µs/msg\tblocks/msg\t")
		for _, h := range r.Half {
			if h.System != Relay {
				continue
			}
			for _, x := range append([]Result{h}, r.SameRate...) {
				if x.Fsync != h.Fsync {
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\t%d\t%.2f\t\n", x.System, x.Fsync, x.Rate, ms(x.P50), ms(x.P99), ms(x.P99Sent), x.CPUPerMsg.Microseconds(), x.BlocksPerMsg)
			}
		}
		tw.Flush()
	}
	r.printTargets(w, slices.Max(pairs))
	if ir := r.Idle; ir != nil {
		fmt.Fprintf(w, "\nIdle connections (%d, server live heap+stacks after GC):\n", ir.Conns)
		fmt.Fprintf(w, "  relay %.1f KB/conn (%.1f goroutines), bare Go TLS %.1f KB/conn (%.1f goroutines): ratio %.2f\n",
			ir.RelayPerConn/1024, ir.RelayGoroutines, ir.TLSPerConn/1024, ir.BareTLSGoroutines, ir.RelayPerConn/ir.TLSPerConn)
	}
}

// printTargets compares the results with the targets of issue 13 item 3.
func (r *Report) printTargets(w io.Writer, pairs int) {
	type target struct {
		name  string
		got   float64
		ok    func(float64) bool
		limit string
	}
	ge := func(x float64) func(float64) bool { return func(v float64) bool { return v >= x } }
	le := func(x float64) func(float64) bool { return func(v float64) bool { return v <= x } }
	ts := []target{
		{fmt.Sprintf("relay/baseline fsync=never, %d pairs", pairs), r.Ratio(Relay, "never", Baseline, "never", pairs), ge(0.3), ">= 0.30"},
		{fmt.Sprintf("relay/baseline fsync=each, %d pairs", pairs), r.Ratio(Relay, "each", Baseline, "each", pairs), ge(0.25), ">= 0.25"},
		{fmt.Sprintf("relay each/never, %d pairs", pairs), r.Ratio(Relay, "each", Relay, "never", pairs), ge(0.8), ">= 0.80"},
	}
	if x := r.Get(Relay, "never", pairs); x != nil {
		ts = append(ts, target{"relay KB allocated per message", x.BytesPerMsg / 1024, le(20), "<= 20"})
	}
	for _, h := range r.Half {
		if h.System == Relay {
			ts = append(ts, target{"relay p99 ms at half load, fsync=" + h.Fsync, float64(h.P99.Microseconds()) / 1000, func(v float64) bool { return v < 5 }, "< 5"})
		}
	}
	if ir := r.Idle; ir != nil && ir.TLSPerConn > 0 {
		ts = append(ts, target{"relay/bare TLS idle connection memory", ir.RelayPerConn / ir.TLSPerConn, le(1.2), "<= 1.20"})
	}
	fmt.Fprintln(w, "\nIssue 13 targets:")
	for _, t := range ts {
		if t.got == 0 {
			continue
		}
		verdict := "met"
		if !t.ok(t.got) {
			verdict = "NOT met"
		}
		fmt.Fprintf(w, "  %-48s %8.2f  (target %s) %s\n", t.name, t.got, t.limit, verdict)
	}
}

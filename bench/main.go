// Command bench compares the reference relay with a plain TLS
// store-and-forward baseline and the protocol floor in one run, and prints
// the ratios (issue 13, item 3).
//
//	go run ./bench [--duration 2s] [--pairs 1,10,100] [--fsync never,each]
package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smpkit/smpkit/internal/buildinfo"
	"github.com/smpkit/smpkit/internal/relaybench"
	flag "github.com/spf13/pflag"
)

const usage = `bench: the reference relay side by side with a plain TLS store-and-forward
baseline (the same five 16 KiB blocks and disk writes per message) and the
protocol floor (the baseline plus block encryption, MSG body encryption and
signature checks), at several queue-pair counts and fsync policies.

Each server runs in its own process; allocations and CPU are the server's.

Usage:
  bench [flags]

Flags:
`

func main() {
	relaybench.ChildMain()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(os.Stderr, usage)
		fs.PrintDefaults()
	}
	var o relaybench.Options
	fs.DurationVar(&o.Duration, "duration", 1e9, "length of each run")
	fs.IntVar(&o.Repeat, "repeat", 3, "runs of each full-load measurement, interleaved; the table gives medians")
	pairs := fs.String("pairs", "1,10,100", "comma-separated queue-pair counts")
	fsyncs := fs.String("fsync", "never,each", "comma-separated fsync policies (never, each)")
	systems := fs.String("systems", "relay,baseline,floor", "comma-separated systems (relay, baseline, floor)")
	fs.IntVar(&o.Conns, "conns", 10, "most connections per side; pairs share them")
	fs.IntVar(&o.Body, "body", 1000, "SEND body size in bytes")
	half := fs.Bool("half-load", true, "also measure latency at half of each maximum, at the largest pair count")
	fs.IntVar(&o.Idle, "idle", 200, "idle connections for the memory comparison (0: skip)")
	fs.BoolVar(&o.X25519, "x25519", true, "also run the relay with X25519 authenticators instead of Ed25519 signatures")
	fs.BoolVar(&o.SerialCommit, "serial-commit", false, "baseline and floor fsync each record on its own (no group commit)")
	fs.BoolVar(&o.SingleCommand, "single-command", false, "the relay's load client sends each command in its own block, as upstream's client sends SEND and ACK")
	fs.StringVar(&o.Dir, "dir", "", "directory for the servers' data (default: the system temporary directory)")
	rate := fs.Float64("rate", 0, "instead of the comparison, run each system at the largest pair count paced at this many msgs/s, and print its latency and server costs")
	cpuprofile := fs.String("cpuprofile", "", "with --rate: write the load generator's CPU profile to this file (the servers': SMPKIT_RELAYBENCH_CPUPROFILE)")
	version := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if *version {
		fmt.Println(buildinfo.Line("bench"))
		return
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected argument %q\n", fs.Arg(0))
		os.Exit(2)
	}
	o.HalfLoad = *half
	var err error
	if o.Pairs, err = parseInts(*pairs); err != nil {
		fmt.Fprintln(os.Stderr, "bench: --pairs:", err)
		os.Exit(2)
	}
	o.Fsyncs = strings.Split(*fsyncs, ",")
	for _, f := range o.Fsyncs {
		if f != "never" && f != "each" {
			fmt.Fprintf(os.Stderr, "bench: --fsync: %q is not never or each\n", f)
			os.Exit(2)
		}
	}
	o.Systems = strings.Split(*systems, ",")
	for _, s := range o.Systems {
		if s != relaybench.Relay && s != relaybench.Baseline && s != relaybench.Floor {
			fmt.Fprintf(os.Stderr, "bench: --systems: unknown system %q\n", s)
			os.Exit(2)
		}
	}
	if o.Repeat <= 0 {
		fmt.Fprintln(os.Stderr, "bench: --repeat must be positive")
		os.Exit(2)
	}
	if o.Duration <= 0 {
		fmt.Fprintln(os.Stderr, "bench: --duration must be positive")
		os.Exit(2)
	}
	if *rate < 0 {
		fmt.Fprintln(os.Stderr, "bench: --rate must not be negative")
		os.Exit(2)
	}
	if *rate > 0 {
		if *cpuprofile != "" {
			f, err := os.Create(*cpuprofile)
			if err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
				os.Exit(1)
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
				os.Exit(1)
			}
			defer pprof.StopCPUProfile()
		}
		if err := paced(o, *rate); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		pprof.StopCPUProfile()
		return
	}
	o.Progress = os.Stderr
	rep, err := relaybench.Compare(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	rep.Print(os.Stdout)
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive count", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// paced runs each system and fsync policy once at a fixed rate, for
// looking at latency and per-message cost at one load (with the
// SMPKIT_RELAYBENCH_CPUPROFILE or _TRACE environment variables, say).
func paced(o relaybench.Options, rate float64) error {
	p := slices.Max(o.Pairs)
	fmt.Printf("Paced at %.0f msgs/s, %d pairs (SEND → MSG from the scheduled send time; server costs per message):\n", rate, p)
	fmt.Printf("  %8s  %5s  %7s  %6s  %6s  %12s  %10s  %10s\n", "system", "fsync", "msgs/s", "p50 ms", "p99 ms", "p99 begun ms", "cpu µs/msg", "blocks/msg")
	for _, f := range o.Fsyncs {
		for _, s := range o.Systems {
			r, err := relaybench.Run(relaybench.Load{System: s, Fsync: f, Pairs: p, Conns: o.Conns, Body: o.Body,
				Rate: rate, Duration: o.Duration, SerialCommit: o.SerialCommit, SingleCommand: o.SingleCommand, Dir: o.Dir})
			if err != nil {
				return fmt.Errorf("%s fsync=%s: %w", s, f, err)
			}
			ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
			fmt.Printf("  %8s  %5s  %7.0f  %6.2f  %6.2f  %12.2f  %10.0f  %10.2f\n", s, f, r.Rate, ms(r.P50), ms(r.P99), ms(r.P99Sent),
				float64(r.CPUPerMsg)/1e3, r.BlocksPerMsg)
		}
	}
	return nil
}

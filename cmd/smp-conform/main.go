// Command smp-conform certifies an SMP relay against spec/smp.md.
//
//	smp-conform self                 start the reference relay on loopback and certify it
//	smp-conform relay ADDRESS        certify the relay at an smp:// address
//	smp-conform list                 print every case with its spec ids
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smpkit/smpkit/conformance"
	flag "github.com/spf13/pflag"
)

const usage = `smp-conform: certify an SMP relay against spec/smp.md

Usage:
  smp-conform self [flags]            start the reference relay on loopback and certify it
  smp-conform relay ADDRESS [flags]   certify the relay at ADDRESS
                                      (smp://IDENTITY[:PASSWORD]@HOST[,HOST2][:PORT])
  smp-conform list [flags]            print every case: id, level, spec ids, title
                                      (--coverage: every spec requirement and its cases)

The exit status is 0 only when every selected MUST case passed.

Flags:
`

type flags struct {
	run        string
	password   string
	versions   string
	jsonOut    string
	junitOut   string
	htmlOut    string
	expectFail string
	quiet      bool
	seed       uint64
	fuzzTime   time.Duration
	checks     int
	wait       time.Duration
	coverage   bool
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("smp-conform", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f flags
	fs.StringVar(&f.run, "run", "", "run only the cases whose id matches this regular expression")
	fs.StringVar(&f.password, "password", "", "the relay's basic-auth password for NEW and PRXY")
	fs.StringVar(&f.versions, "versions", "6-18", "SMP versions to test: N or MIN-MAX")
	fs.StringVar(&f.jsonOut, "json", "", "write the report as JSON to this file (- for stdout)")
	fs.StringVar(&f.junitOut, "junit", "", "write the report as JUnit XML to this file")
	fs.StringVar(&f.htmlOut, "html", "", "write the report as one self-contained HTML page to this file")
	fs.StringVar(&f.expectFail, "expect-fail", "", "file of known deviations: one case id per line, then an optional reason; # comments")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "no progress lines, only the summary")
	fs.Uint64Var(&f.seed, "seed", 1, "seed for randomised cases: the state machine and network fuzzing (replays a failure)")
	fs.DurationVar(&f.fuzzTime, "fuzz-time", 3*time.Second, "how long the network fuzzing case runs")
	fs.IntVar(&f.checks, "model-checks", 15, "random command sequences the state-machine case tries")
	fs.DurationVar(&f.wait, "wait", 5*time.Second, "how long to wait for each response or event")
	fs.BoolVar(&f.coverage, "coverage", false, "list: print every spec requirement with the cases that check it")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	var re *regexp.Regexp
	if f.run != "" {
		var err error
		if re, err = regexp.Compile(f.run); err != nil {
			fmt.Fprintf(stderr, "smp-conform: --run: %v\n", err)
			return 2
		}
	}
	vr, err := parseVersions(f.versions)
	if err != nil {
		fmt.Fprintf(stderr, "smp-conform: --versions: %v\n", err)
		return 2
	}
	opts := conformance.Options{Run: re, Seed: f.seed, Versions: vr, FuzzTime: f.fuzzTime, ModelChecks: f.checks, Wait: f.wait}
	if f.expectFail != "" {
		if opts.ExpectFail, err = readExpectFail(f.expectFail); err != nil {
			fmt.Fprintf(stderr, "smp-conform: --expect-fail: %v\n", err)
			return 2
		}
	}
	if !f.quiet {
		opts.Progress = stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	switch cmd := fs.Arg(0); cmd {
	case "list":
		if f.coverage {
			return coverage(stdout)
		}
		return list(stdout, re)
	case "self":
		if fs.NArg() != 1 {
			fmt.Fprintln(stderr, "smp-conform: self takes no arguments")
			return 2
		}
		password := f.password
		if password == "" {
			// A password lets the password cases run; it is random so that
			// nothing depends on it.
			password = randomPassword()
		}
		relay, err := startSelf(password)
		if err != nil {
			fmt.Fprintf(stderr, "smp-conform: start the reference relay: %v\n", err)
			return 1
		}
		defer relay.Close()
		fmt.Fprintf(stderr, "reference relay listening on %s\n", relay.target.HostPort)
		return certify(ctx, relay.target, opts, f, stdout, stderr)
	case "relay":
		if fs.NArg() != 2 {
			fmt.Fprintln(stderr, "smp-conform: relay takes one argument, the relay's smp:// address")
			return 2
		}
		target, err := parseTarget(fs.Arg(1), f.password)
		if err != nil {
			fmt.Fprintf(stderr, "smp-conform: %v\n", err)
			return 2
		}
		return certify(ctx, target, opts, f, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "smp-conform: unknown command %q\n\n", cmd)
		fs.Usage()
		return 2
	}
}

func list(w io.Writer, re *regexp.Regexp) int {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tGROUP\tLEVEL\tVERSIONS\tSPEC\tTITLE")
	for _, c := range conformance.Select(re) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Group, c.Level, c.Versions, strings.Join(c.Spec, ","), c.Title)
	}
	tw.Flush()
	return 0
}

func certify(ctx context.Context, target conformance.Target, opts conformance.Options, f flags, stdout, stderr io.Writer) int {
	rep := conformance.Run(ctx, target, opts)
	if err := rep.WriteText(stdout); err != nil {
		fmt.Fprintln(stderr, "smp-conform:", err)
		return 1
	}
	write := func(path string, fn func(io.Writer) error) error {
		if path == "" {
			return nil
		}
		if path == "-" {
			return fn(stdout)
		}
		out, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := fn(out); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	}
	if err := write(f.jsonOut, rep.WriteJSON); err != nil {
		fmt.Fprintln(stderr, "smp-conform: write JSON report:", err)
		return 1
	}
	if err := write(f.junitOut, rep.WriteJUnit); err != nil {
		fmt.Fprintln(stderr, "smp-conform: write JUnit report:", err)
		return 1
	}
	if err := write(f.htmlOut, rep.WriteHTML); err != nil {
		fmt.Fprintln(stderr, "smp-conform: write HTML report:", err)
		return 1
	}
	if !rep.Passed() {
		return 1
	}
	return 0
}

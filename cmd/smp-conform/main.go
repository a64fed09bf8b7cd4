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
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smpkit/smpkit/conformance"
	"github.com/smpkit/smpkit/internal/buildinfo"
	"github.com/smpkit/smpkit/reference/smp"
	flag "github.com/spf13/pflag"
)

const usage = `smp-conform: certify an SMP relay against spec/smp.md

Usage:
  smp-conform self [flags]            start the reference relay on loopback and certify it
  smp-conform relay ADDRESS [flags]   certify the relay at ADDRESS
                                      (smp://IDENTITY[:PASSWORD]@HOST[,HOST2][:PORT])
  smp-conform list [flags]            print every case: id, level, spec ids, title
                                      (--coverage: every spec requirement and its cases)

The exit status is 0 only when every selected MUST case passed; 1 when one
failed; 2 for a usage error, a selection matching no case or a failed
preflight (relay unreachable, not an SMP relay, wrong identity, password
refused); 130 when interrupted (Ctrl-C: unrun cases are reported "notrun").

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
	version    bool
	quick      bool
	restartCmd string
	destListen string
	destHost   string
	noPre      bool
}

// exitInterrupted is the status after Ctrl-C, as shells report SIGINT.
const exitInterrupted = 130

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	go func() {
		// A second Ctrl-C kills at once.
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
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
	fs.StringVar(&f.restartCmd, "restart-cmd", "", "relay: a shell command that restarts the relay under test (enables the persistence cases)")
	fs.StringVar(&f.destListen, "dest-listen", "127.0.0.1:0", "where the runner's own destination relay for the proxy cases listens")
	fs.StringVar(&f.destHost, "dest-host", "", "the host name or address the relay under test reaches that destination relay by (default: the listen address)")
	fs.BoolVar(&f.quick, "quick", false, "run each case at the top of its range only, not at every version point of the matrix")
	fs.BoolVar(&f.version, "version", false, "print the version and exit")
	fs.BoolVar(&f.noPre, "no-preflight", false, "skip the quick reachability and password check before the run")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "smp-conform: %v (see smp-conform --help)\n", err)
		return 2
	}
	if f.version {
		fmt.Fprintln(stdout, buildinfo.Line("smp-conform"))
		return 0
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
	opts := conformance.Options{Run: re, Seed: f.seed, Versions: vr, FuzzTime: f.fuzzTime, ModelChecks: f.checks, Wait: f.wait, Quick: f.quick,
		DestListen: f.destListen, DestHost: f.destHost}
	if f.expectFail != "" {
		if opts.ExpectFail, err = readExpectFail(f.expectFail); err != nil {
			fmt.Fprintf(stderr, "smp-conform: --expect-fail: %v\n", err)
			return 2
		}
	}
	if !f.quiet {
		opts.Progress = stderr
	}
	if cmd := fs.Arg(0); (cmd == "self" || cmd == "relay") && len(conformance.Select(re)) == 0 {
		fmt.Fprintf(stderr, "smp-conform: --run %q matches no case (see smp-conform list)\n", f.run)
		return 2
	}

	switch cmd := fs.Arg(0); cmd {
	case "list":
		if f.coverage {
			return coverage(stdout)
		}
		return list(stdout, re, vr, f.quick)
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
		fmt.Fprintf(stderr, "reference relay listening on %s (restarted by the persistence cases; an expiring one on %s)\n", relay.target.HostPort, relay.target.Expiring.HostPort)
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
		if f.restartCmd != "" {
			target.Restart = restartCommand(f.restartCmd)
		}
		return certify(ctx, target, opts, f, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "smp-conform: unknown command %q\n\n", cmd)
		fs.Usage()
		return 2
	}
}

func list(w io.Writer, re *regexp.Regexp, vr smp.VersionRange, quick bool) int {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tGROUP\tLEVEL\tPATH\tVERSIONS\tPOINTS\tSPEC\tTITLE")
	cells, cases := 0, 0
	for _, c := range conformance.Select(re) {
		pts := c.Points(vr, quick)
		var ps []string
		for _, v := range pts {
			ps = append(ps, strconv.Itoa(int(v)))
		}
		cells += len(pts)
		cases++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Group, c.Level, c.Path, c.Versions, strings.Join(ps, ","), strings.Join(c.Spec, ","), c.Title)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d cases, %d (case, version) cells in versions %v\n", cases, cells, vr)
	return 0
}

func certify(ctx context.Context, target conformance.Target, opts conformance.Options, f flags, stdout, stderr io.Writer) int {
	if !f.noPre {
		if err := conformance.Preflight(ctx, target); err != nil {
			fmt.Fprintf(stderr, "smp-conform: preflight: %v\n", err)
			return 2
		}
	}
	rep := conformance.Run(ctx, target, opts)
	// With a report on stdout, the text summary goes to stderr so that
	// stdout holds only that report.
	text := stdout
	if f.jsonOut == "-" || f.junitOut == "-" || f.htmlOut == "-" {
		text = stderr
	}
	if err := rep.WriteText(text); err != nil {
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
	switch {
	case rep.Incomplete:
		fmt.Fprintln(stderr, "smp-conform: interrupted; the reports are marked incomplete")
		return exitInterrupted
	case !rep.Passed():
		return 1
	}
	return 0
}

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
	"github.com/smpkit/smpkit/conformance/clientcert"
	flag "github.com/spf13/pflag"
)

const clientUsage = `smp-conform client: certify a SimpleX client through a shim (spec/driver.md)

Usage:
  smp-conform client [flags] -- SHIM [ARGS...]   start SHIM for every case and certify it
  smp-conform client --list [--coverage]         print the client cases (or the client
                                                 obligations of both specs and their cases)

The runner starts its own relays on loopback and a reference peer. The exit
status is 0 only when every selected MUST case passed.

Flags:
`

// runClient is the client subcommand.
func runClient(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("smp-conform client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		run, jsonOut, junitOut, htmlOut, expectFail string
		quiet, list, coverage                       bool
		wait                                        time.Duration
	)
	fs.StringVar(&run, "run", "", "run only the cases whose id matches this regular expression")
	fs.StringVar(&jsonOut, "json", "", "write the report as JSON to this file (- for stdout)")
	fs.StringVar(&junitOut, "junit", "", "write the report as JUnit XML to this file")
	fs.StringVar(&htmlOut, "html", "", "write the report as one self-contained HTML page to this file")
	fs.StringVar(&expectFail, "expect-fail", "", "file of known deviations: one case id per line, then an optional reason; # comments")
	fs.BoolVarP(&quiet, "quiet", "q", false, "no progress lines, only the summary")
	fs.BoolVar(&list, "list", false, "print every client case and exit")
	fs.BoolVar(&coverage, "coverage", false, "with --list: every client obligation of the specs and the cases that check it")
	fs.DurationVar(&wait, "wait", 10*time.Second, "how long to wait for each reply or event")
	fs.Usage = func() {
		fmt.Fprint(stderr, clientUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var re *regexp.Regexp
	if run != "" {
		var err error
		if re, err = regexp.Compile(run); err != nil {
			fmt.Fprintf(stderr, "smp-conform client: --run: %v\n", err)
			return 2
		}
	}
	if list {
		if coverage {
			return clientCoverage(stdout)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tGROUP\tLEVEL\tSPEC\tTITLE")
		for _, c := range clientcert.Select(re) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, c.Group, c.Level, strings.Join(c.Spec, ","), c.Title)
		}
		tw.Flush()
		return 0
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "smp-conform client: no shim: give its command after --, e.g. smp-conform client -- go run ./cmd/smp-agent-shim")
		return 2
	}
	argv := fs.Args()
	opts := clientcert.Options{Launch: clientcert.Exec(argv), Target: strings.Join(argv, " "), Run: re, Wait: wait}
	if expectFail != "" {
		var err error
		if opts.ExpectFail, err = readClientExpectFail(expectFail); err != nil {
			fmt.Fprintf(stderr, "smp-conform client: --expect-fail: %v\n", err)
			return 2
		}
	}
	if !quiet {
		opts.Progress = stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep := clientcert.Run(ctx, opts)
	return writeReports(rep, jsonOut, junitOut, htmlOut, stdout, stderr)
}

func writeReports(rep *conformance.Report, jsonOut, junitOut, htmlOut string, stdout, stderr io.Writer) int {
	if err := rep.WriteText(stdout); err != nil {
		fmt.Fprintln(stderr, "smp-conform:", err)
		return 1
	}
	for _, o := range []struct {
		path, what string
		fn         func(io.Writer) error
	}{{jsonOut, "JSON", rep.WriteJSON}, {junitOut, "JUnit", rep.WriteJUnit}, {htmlOut, "HTML", rep.WriteHTML}} {
		if o.path == "" {
			continue
		}
		var err error
		if o.path == "-" {
			err = o.fn(stdout)
		} else {
			var f *os.File
			if f, err = os.Create(o.path); err == nil {
				err = errors.Join(o.fn(f), f.Close())
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "smp-conform: write %s report: %v\n", o.what, err)
			return 1
		}
	}
	if !rep.Passed() {
		return 1
	}
	return 0
}

// readClientExpectFail reads "CASE-ID [reason]" lines for client cases.
func readClientExpectFail(path string) (map[string]string, error) {
	known := map[string]bool{}
	for _, c := range clientcert.Catalog() {
		known[c.ID] = true
	}
	return readExpectFile(path, func(id string) bool { return known[id] })
}

func clientCoverage(w io.Writer) int {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REQUIREMENT\tCHECKED BY\tNOTE")
	for _, o := range clientcert.Coverage() {
		by := strings.Join(o.Cases, ",")
		if by == "" {
			by = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", o.ID, by, o.Note)
	}
	tw.Flush()
	return 0
}

// init runs the client subcommand before main, so that it needs no edit
// of main.go (where the relay subcommands are being reworked in
// parallel); it can move into run's switch once both are merged.
func init() {
	if len(os.Args) > 1 && os.Args[1] == "client" {
		os.Exit(runClient(os.Args[2:], os.Stdout, os.Stderr))
	}
}

package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/smpkit/smpkit/conformance"
	"github.com/smpkit/smpkit/reference/smp"
)

// parseVersions reads "N" or "MIN-MAX".
func parseVersions(s string) (smp.VersionRange, error) {
	lo, hi, found := strings.Cut(s, "-")
	if !found {
		hi = lo
	}
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if err1 != nil || err2 != nil || a > b {
		return smp.VersionRange{}, fmt.Errorf("%q is not N or MIN-MAX", s)
	}
	vr := smp.VersionRange{Min: smp.Version(a), Max: smp.Version(b)}
	if !smp.SupportedRange.Contains(vr.Min) || !smp.SupportedRange.Contains(vr.Max) {
		return smp.VersionRange{}, fmt.Errorf("%v is outside %v", vr, smp.SupportedRange)
	}
	return vr, nil
}

// readExpectFail reads lines "CASE-ID[@vN] [reason...]" for relay cases.
func readExpectFail(path string) (map[string]string, error) {
	known := map[string]bool{}
	for _, c := range conformance.Catalog() {
		known[c.ID] = true
	}
	return readExpectFile(path, func(id string) bool {
		base, _, _ := strings.Cut(id, "@v") // ID or ID@vN (one matrix cell)
		return known[base]
	})
}

// readExpectFile reads an expect-fail file: "CASE-ID [reason...]" per
// line; blank lines and lines starting with # are ignored, and an id that
// known rejects is an error.
func readExpectFile(path string, known func(id string) bool) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, reason, _ := strings.Cut(line, " ")
		if !known(id) {
			return nil, fmt.Errorf("%s:%d: no case %q", path, n, id)
		}
		if reason = strings.TrimSpace(reason); reason == "" {
			reason = "known deviation"
		}
		out[id] = reason
	}
	return out, sc.Err()
}

func randomPassword() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "conform-" + hex.EncodeToString(b)
}

// coverage prints every requirement of spec/smp.md with the cases that
// check its allowed path (+), try what it forbids (-) or both (±), as each
// case declares (conformance.Case.Path), the versions they
// run at, and the mutants that prove them. A MUST counts as covered only
// when a mutant of conformance/mutants.txt violating it is caught.
func coverage(w io.Writer) int {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REQUIREMENT\tLEVEL\t§\tCOVERED\tCASES (+ POSITIVE, - NEGATIVE, ± BOTH)\tVERSIONS\tMUTANTS / REASON")
	must, proven, cited, listed := 0, 0, 0, 0
	for _, row := range conformance.Coverage() {
		// Each case is marked by the path it declares (Case.Path).
		var cases []string
		for _, c := range row.Cases {
			pos, neg := slices.Contains(row.Positive, c), slices.Contains(row.Negative, c)
			switch {
			case pos && neg:
				cases = append(cases, "±"+c)
			case neg:
				cases = append(cases, "-"+c)
			default:
				cases = append(cases, "+"+c)
			}
		}
		var vs []string
		for _, v := range row.Versions {
			vs = append(vs, strconv.Itoa(int(v)))
		}
		covered := "no"
		if row.Proven {
			covered = "yes"
		}
		why := strings.Join(row.Mutants, " ")
		if len(row.Cases) == 0 {
			covered, why = "-", "— "+row.Reason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row.ID, row.Level, row.Section, covered, strings.Join(cases, " "), strings.Join(vs, ","), why)
		if row.Level == "MUST" {
			must++
			switch {
			case row.Proven:
				proven++
			case len(row.Cases) > 0:
				cited++
			case row.Reason != "":
				listed++
			}
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\nMUST requirements: %d; covered (a case cites it and a mutant violating it is caught): %d (%.0f%%); cited by cases but no mutant proves it yet: %d; not testable over the network: %d\n",
		must, proven, 100*float64(proven)/float64(must), cited, listed)
	return 0
}

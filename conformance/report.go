package conformance

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"github.com/smpkit/smpkit/reference/smp"
	"io"
	"sort"
	"strings"
	"time"
)

// Status is the outcome of one case.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
	// XFail and XPass are failures and passes of cases listed in
	// Options.ExpectFail.
	XFail Status = "xfail"
	XPass Status = "xpass"
	// NotRun marks a case an interrupted run did not finish.
	NotRun Status = "notrun"
)

// Result is one case's outcome.
type Result struct {
	ID       string        `json:"id"`
	Version  smp.Version   `json:"version,omitempty"` // the matrix point; 0 when skipped for the range
	Group    string        `json:"group"`
	Title    string        `json:"title"`
	Spec     []string      `json:"spec"`
	Level    Level         `json:"level"`
	Status   Status        `json:"status"`
	Detail   string        `json:"detail,omitempty"`
	Duration time.Duration `json:"duration_ns"`
	Log      []string      `json:"log,omitempty"`  // bytes sent and received, notes
	Note     string        `json:"note,omitempty"` // a summary line, also on success
}

// Report is a whole run.
type Report struct {
	Target   string    `json:"target"`
	Identity string    `json:"identity,omitempty"`
	Versions string    `json:"versions"`
	Started  time.Time `json:"started"`
	Elapsed  float64   `json:"elapsed_seconds"`
	// Incomplete is set when the run was interrupted: some cases are
	// NotRun and the verdict covers only the others.
	Incomplete bool     `json:"incomplete"`
	Results    []Result `json:"results"`
}

// Counts tallies results by level and status.
func (r *Report) Counts() map[Level]map[Status]int {
	out := map[Level]map[Status]int{}
	for _, res := range r.Results {
		if out[res.Level] == nil {
			out[res.Level] = map[Status]int{}
		}
		out[res.Level][res.Status]++
	}
	return out
}

// Passed reports whether every selected MUST case passed (skips allowed).
func (r *Report) Passed() bool {
	for _, res := range r.Results {
		if res.Level == MUST && res.Status == Fail {
			return false
		}
	}
	return true
}

// WriteText writes a human summary: failures with detail, then a table.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "smp-conform: %s (versions %s, %d (case, version) cells)\n", r.Target, r.Versions, len(r.Results))
	for _, res := range r.Results {
		if res.Status != Fail {
			continue
		}
		fmt.Fprintf(&b, "\nFAIL %s [%s %s] %s\n", res.Key(), res.Level, strings.Join(res.Spec, ","), res.Title)
		for _, l := range strings.Split(res.Detail, "\n") {
			fmt.Fprintf(&b, "    %s\n", l)
		}
		for _, l := range res.Log {
			fmt.Fprintf(&b, "    | %s\n", l)
		}
	}
	for _, res := range r.Results {
		if res.Status == XFail || res.Status == XPass {
			fmt.Fprintf(&b, "\n%s %s: %s\n", strings.ToUpper(string(res.Status)), res.Key(), firstLine(res.Detail))
		}
	}
	for _, res := range r.Results {
		if res.Note != "" {
			fmt.Fprintf(&b, "\n%s %s: %s\n", strings.ToUpper(string(res.Status)), res.Key(), res.Note)
		}
	}
	type row struct{ pass, fail, skip, xfail, notrun int }
	byGroup := map[string]*row{}
	for _, res := range r.Results {
		g := byGroup[res.Group]
		if g == nil {
			g = &row{}
			byGroup[res.Group] = g
		}
		switch res.Status {
		case Pass:
			g.pass++
		case Fail:
			g.fail++
		case Skip:
			g.skip++
		case XFail:
			g.xfail++
		case XPass:
			g.pass++
		case NotRun:
			g.notrun++
		}
	}
	names := make([]string, 0, len(byGroup))
	for n := range byGroup {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return groupOrder(names[i]) < groupOrder(names[j]) })
	fmt.Fprintf(&b, "\n%-16s %6s %6s %6s %6s %6s\n", "group", "pass", "fail", "skip", "xfail", "notrun")
	var tot row
	for _, n := range names {
		g := byGroup[n]
		fmt.Fprintf(&b, "%-16s %6d %6d %6d %6d %6d\n", n, g.pass, g.fail, g.skip, g.xfail, g.notrun)
		tot.pass, tot.fail, tot.skip, tot.xfail, tot.notrun = tot.pass+g.pass, tot.fail+g.fail, tot.skip+g.skip, tot.xfail+g.xfail, tot.notrun+g.notrun
	}
	fmt.Fprintf(&b, "%-16s %6d %6d %6d %6d %6d\n", "total", tot.pass, tot.fail, tot.skip, tot.xfail, tot.notrun)
	c := r.Counts()
	fmt.Fprintf(&b, "\nMUST: %d pass, %d fail; SHOULD: %d pass, %d fail; robustness: %d pass, %d fail\n",
		c[MUST][Pass], c[MUST][Fail], c[SHOULD][Pass], c[SHOULD][Fail], c[Robustness][Pass], c[Robustness][Fail])
	verdict := "PASS: every selected MUST case passed"
	if !r.Passed() {
		verdict = "FAIL: at least one MUST case failed"
	}
	if nm := r.nonMustFailures(); len(nm) > 0 {
		verdict += fmt.Sprintf("; %d SHOULD/robustness failure(s), which do not fail the run: %s", len(nm), strings.Join(nm, " "))
	}
	if r.Incomplete {
		verdict = fmt.Sprintf("INCOMPLETE: interrupted, %d case(s) not run; of those run: %s", tot.notrun, verdict)
	}
	fmt.Fprintf(&b, "\n%s (%.1fs)\n", verdict, r.Elapsed)
	_, err := io.WriteString(w, b.String())
	return err
}

// nonMustFailures names the failed SHOULD and robustness cases.
func (r *Report) nonMustFailures() []string {
	var out []string
	for _, res := range r.Results {
		if res.Level != MUST && res.Status == Fail {
			out = append(out, res.Key())
		}
	}
	return out
}

// Key names a result: its case id and version, "ID@vN".
func (res Result) Key() string {
	if res.Version == 0 {
		return res.ID
	}
	return fmt.Sprintf("%s@v%d", res.ID, res.Version)
}

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Name    string       `xml:"name,attr"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     float64     `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string      `xml:"name,attr"`
	Classname string      `xml:"classname,attr"`
	Time      float64     `xml:"time,attr"`
	Failure   *junitMsg   `xml:"failure,omitempty"`
	Skipped   *junitMsg   `xml:"skipped,omitempty"`
	Props     *junitProps `xml:"properties,omitempty"`
}

type junitMsg struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

type junitProps struct {
	Props []junitProp `xml:"property"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// WriteJUnit writes the report as JUnit XML, one test suite per group.
func (r *Report) WriteJUnit(w io.Writer) error {
	idx := map[string]int{}
	out := junitSuites{Name: "smp-conform " + r.Target}
	if r.Incomplete {
		out.Name += " (INCOMPLETE: interrupted)"
	}
	for _, res := range r.Results {
		i, ok := idx[res.Group]
		if !ok {
			i = len(out.Suites)
			idx[res.Group] = i
			out.Suites = append(out.Suites, junitSuite{Name: "smp-conform/" + res.Group})
		}
		s := &out.Suites[i]
		c := junitCase{
			Name:      res.Key() + " " + res.Title,
			Classname: "smp-conform." + res.Group,
			Time:      res.Duration.Seconds(),
			Props: &junitProps{Props: []junitProp{
				{Name: "level", Value: string(res.Level)},
				{Name: "spec", Value: strings.Join(res.Spec, " ")},
			}},
		}
		body := res.Detail
		if len(res.Log) > 0 {
			body += "\n" + strings.Join(res.Log, "\n")
		}
		// JUnit agrees with the exit status: only a MUST failure is a
		// failure; a SHOULD or robustness failure is reported as skipped
		// with its message, an interrupted case as skipped "not run".
		switch {
		case res.Status == Fail && res.Level == MUST:
			c.Failure = &junitMsg{Message: firstLine(res.Detail), Body: body}
			s.Failures++
		case res.Status == Fail:
			c.Skipped = &junitMsg{Message: fmt.Sprintf("%s failure (does not fail the run): %s", res.Level, firstLine(res.Detail))}
			c.Props.Props = append(c.Props.Props, junitProp{Name: "outcome", Value: "fail"})
			s.Skipped++
		case res.Status == Skip, res.Status == XFail, res.Status == NotRun:
			c.Skipped = &junitMsg{Message: firstLine(res.Detail)}
			s.Skipped++
		}
		s.Tests++
		s.Time += c.Time
		s.Cases = append(s.Cases, c)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

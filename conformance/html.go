package conformance

import (
	"html/template"
	"io"
	"sort"
	"strings"

	"github.com/smpkit/smpkit/spec"
)

// sectionRow is the verdict of one spec section: the requirements it
// defines and the results of the cases citing them.
type sectionRow struct {
	Section      string
	Requirements []string
	Pass, Fail   int
	Verdict      string
}

// WriteHTML writes the report as one self-contained HTML page: a verdict per
// spec section, then every case, failures first with the bytes and events
// they logged.
func (r *Report) WriteHTML(w io.Writer) error {
	sectionOf := map[string]string{}
	for _, req := range spec.Requirements() {
		sectionOf[req.ID] = req.Section
	}
	rows := map[string]*sectionRow{}
	for _, res := range r.Results {
		seen := map[string]bool{}
		for _, id := range res.Spec {
			sec := sectionOf[id]
			if parts := strings.Split(sec, "."); len(parts) > 2 {
				sec = parts[0] + "." + parts[1] // 6.5.16 → 6.5
			}
			row := rows[sec]
			if row == nil {
				row = &sectionRow{Section: sec}
				rows[sec] = row
			}
			if !contains(row.Requirements, id) {
				row.Requirements = append(row.Requirements, id)
			}
			if seen[sec] {
				continue
			}
			seen[sec] = true
			switch res.Status {
			case Pass, XPass:
				row.Pass++
			case Fail:
				row.Fail++
			}
		}
	}
	var secs []*sectionRow
	for _, row := range rows {
		switch {
		case row.Fail > 0:
			row.Verdict = "fail"
		case row.Pass > 0:
			row.Verdict = "pass"
		default:
			row.Verdict = "skip"
		}
		sort.Strings(row.Requirements)
		secs = append(secs, row)
	}
	sort.Slice(secs, func(i, j int) bool { return sectionLess(secs[i].Section, secs[j].Section) })
	results := append([]Result(nil), r.Results...)
	sort.SliceStable(results, func(i, j int) bool { return rank(results[i].Status) < rank(results[j].Status) })
	return htmlTemplate.Execute(w, struct {
		R          *Report
		Passed     bool
		Incomplete bool
		Sections   []*sectionRow
		Results    []Result
	}{r, r.Passed(), r.Incomplete, secs, results})
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func rank(s Status) int {
	return map[Status]int{Fail: 0, XFail: 1, XPass: 2, Pass: 3, Skip: 4}[s]
}

// sectionLess orders "4.10" after "4.9".
func sectionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		if pa[i] != pb[i] {
			if len(pa[i]) != len(pb[i]) {
				return len(pa[i]) < len(pb[i])
			}
			return pa[i] < pb[i]
		}
	}
	return len(pa) < len(pb)
}

var htmlTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>smp-conform: {{.R.Target}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:70em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}
.pass{color:#060}.fail{color:#b00;font-weight:bold}.skip{color:#777}.xfail,.xpass{color:#a60}
pre{background:#f6f6f6;padding:.5em;overflow-x:auto;white-space:pre-wrap;font-size:12px}
h1 span{font-size:60%}
</style></head><body>
<h1>smp-conform <span class="{{if .Passed}}pass{{else}}fail{{end}}">{{if .Passed}}PASS{{else}}FAIL{{end}}</span>{{if .Incomplete}} <span class="fail">INCOMPLETE: interrupted</span>{{end}}</h1>
<p>Target: <code>{{.R.Target}}</code> &middot; versions {{.R.Versions}} &middot; started {{.R.Started.Format "2006-01-02 15:04:05 MST"}} &middot; {{printf "%.1f" .R.Elapsed}} s</p>
<h2>Verdict per spec section</h2>
<table><tr><th>§</th><th>verdict</th><th>cases passed</th><th>cases failed</th><th>requirements checked</th></tr>
{{range .Sections}}<tr><td>{{.Section}}</td><td class="{{.Verdict}}">{{.Verdict}}</td><td>{{.Pass}}</td><td>{{.Fail}}</td><td>{{range .Requirements}}{{.}} {{end}}</td></tr>
{{end}}</table>
<h2>Cases</h2>
<table><tr><th>status</th><th>id</th><th>level</th><th>spec</th><th>what is checked</th></tr>
{{range .Results}}<tr><td class="{{.Status}}">{{.Status}}</td><td>{{.ID}}</td><td>{{.Level}}</td><td>{{range .Spec}}{{.}} {{end}}</td><td>{{.Title}}{{if .Detail}}<pre>{{.Detail}}</pre>{{end}}{{if and .Log (ne .Status "pass")}}<details><summary>exchange ({{len .Log}} lines)</summary><pre>{{range .Log}}{{.}}
{{end}}</pre></details>{{end}}</td></tr>
{{end}}</table>
</body></html>
`))

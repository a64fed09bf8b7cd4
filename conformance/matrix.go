package conformance

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/spec"
)

// The version matrix: a case runs at every version point where its rule or
// bytes may differ, not only at the top of its range. The points come from
// the version-gate table of spec/smp.md (§1.1): a gate whose row names
// something the case's requirements are about (a command or response tag
// in the titles of their sections, or a transport feature such as the
// hello or block encryption) contributes the version just below the gate
// and the gate itself. Every case also runs at the lowest and the highest
// version of its range, so a rule applied at the wrong versions, or not
// applied below the top, is seen.

// Gate is one row of the version-gate table.
type Gate struct {
	V    smp.Version
	Name string
	// Topics are the tags (`NEW`, `DELD`) and features (hello,
	// encryption, session, authorization, proxy, service, size) the row
	// mentions.
	Topics []string
}

var (
	gatesOnce    sync.Once
	gates        []Gate
	sectionTitle map[string]string
	gateRow      = regexp.MustCompile("(?m)^\\| ([0-9]+) \\| ([^|]*) \\| (.*) \\|$")
	heading      = regexp.MustCompile(`(?m)^#{2,4} ([0-9]+(?:\.[0-9]+)*) (.*)$`)
	backticked   = regexp.MustCompile("`([A-Z][A-Z_]+)[ `/]")
	tagWord      = regexp.MustCompile(`\b[A-Z]{2,5}\b`)
)

// feature words: a gate row or a section title mentioning the word is
// about the topic.
var featureWords = map[string]string{
	"hello":           "hello",
	"handshake":       "hello",
	"encryption":      "encryption",
	"encrypted":       "encryption",
	"session id":      "session",
	"authori":         "authorization",
	"authenticator":   "authorization",
	"signature":       "authorization",
	"proxy":           "proxy",
	"service":         "service",
	"maximum message": "size",
	"message length":  "size",
	"quota":           "size",
	"link":            "link",
	"notifier":        "notifier",
	"notification":    "notifier",
	"blocked":         "blocked",
}

// generic tags appear in too many rows and titles to select versions by:
// ERR (its gated form, BLOCKED, is the "blocked" feature), OK.
var generic = map[string]bool{"ERR": true, "OK": true, "AUTH": true, "SMP": true, "TLS": true, "ALPN": true}

func topicsOf(text string) []string {
	var out []string
	for _, m := range backticked.FindAllStringSubmatch(text, -1) {
		if !generic[m[1]] {
			out = append(out, m[1])
		}
	}
	low := strings.ToLower(text)
	for w, topic := range featureWords {
		if strings.Contains(low, w) {
			out = append(out, topic)
		}
	}
	return out
}

func loadGates() {
	gatesOnce.Do(func() {
		doc := spec.SMP
		start := strings.Index(doc, "### 1.1 Relay version gates")
		end := strings.Index(doc, "### 1.2")
		for _, m := range gateRow.FindAllStringSubmatch(doc[start:end], -1) {
			v, _ := strconv.Atoi(m[1])
			if v <= int(smp.VersionMin) || strings.Contains(m[3], "Never released") {
				continue // the base has nothing below it; 13 gates nothing
			}
			gates = append(gates, Gate{V: smp.Version(v), Name: strings.TrimSpace(m[2]), Topics: topicsOf(m[3])})
		}
		sectionTitle = map[string]string{}
		for _, m := range heading.FindAllStringSubmatch(doc, -1) {
			sectionTitle[m[1]] = m[2]
		}
	})
}

// Gates returns the version gates of spec/smp.md §1.1 above the base.
func Gates() []Gate { loadGates(); return gates }

var reqSection = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	for _, r := range spec.Requirements() {
		out[r.ID] = r.Section
	}
	return out
})

// topics are what a case is about: the tags and features in the titles of
// the sections of its requirements, and the tags in its own title.
func (c *Case) topics() map[string]bool {
	loadGates()
	out := map[string]bool{}
	add := func(text string) {
		for _, w := range tagWord.FindAllString(text, -1) {
			if !generic[w] {
				out[w] = true
			}
		}
		for _, t := range topicsOf(text) {
			out[t] = true
		}
	}
	for _, id := range c.Spec {
		add(sectionTitle[reqSection()[id]])
	}
	add(c.Title)
	return out
}

// Points returns the versions at which the case runs inside r (the
// intersection of the run's range and the case's): nil when they do not
// meet. quick keeps only the highest.
func (c *Case) Points(r smp.VersionRange, quick bool) []smp.Version {
	vr, ok := c.Versions.Intersect(r)
	if !ok {
		return nil
	}
	if quick || c.Single {
		return []smp.Version{vr.Max}
	}
	set := map[smp.Version]bool{vr.Min: true, vr.Max: true}
	for _, v := range c.Extra {
		set[v] = true
	}
	topics := c.topics()
	for _, g := range Gates() {
		for _, tp := range g.Topics {
			if topics[tp] {
				set[g.V-1], set[g.V] = true, true
				break
			}
		}
	}
	var out []smp.Version
	for v := range set {
		if vr.Contains(v) {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Package spec embeds the normative specifications so that tools can cite
// and cross-check their requirement ids.
package spec

import (
	_ "embed"
	"regexp"
	"strings"
)

// SMP is spec/smp.md.
//
//go:embed smp.md
var SMP string

// GraphChat is spec/graph-chat.md.
//
//go:embed graph-chat.md
var GraphChat string

// Chat is spec/chat.md.
//
//go:embed chat.md
var Chat string

// Requirement is one requirement id of a specification.
type Requirement struct {
	ID      string
	Section string // as in the index, e.g. "6.5.16"
	Summary string
	// Level is the strongest keyword of its paragraph: MUST, SHOULD or MAY.
	Level string
}

var (
	indexRow = regexp.MustCompile(`(?m)^\| ((?:SMP|GC|CH)-[A-Z0-9-]+) \| ([0-9.A-Z]+) \| (.*) \|$`)
	defn     = regexp.MustCompile(`(?m)^- \*\*((?:SMP|GC|CH)-[A-Z0-9-]+)\*\*`)
)

// Requirements returns every requirement of spec/smp.md in index order.
func Requirements() []Requirement { return requirements(SMP) }

// GraphChatRequirements returns every requirement of spec/graph-chat.md.
func GraphChatRequirements() []Requirement { return requirements(GraphChat) }

// ChatRequirements returns every requirement of spec/chat.md.
func ChatRequirements() []Requirement { return requirements(Chat) }

func requirements(doc string) []Requirement {
	levels := map[string]string{}
	locs := defn.FindAllStringSubmatchIndex(doc, -1)
	for i, loc := range locs {
		id := doc[loc[2]:loc[3]]
		end := len(doc)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		para := doc[loc[0]:end]
		if j := strings.Index(para, "\n\n"); j >= 0 {
			para = para[:j]
		}
		switch {
		case strings.Contains(para, "MUST"):
			levels[id] = "MUST"
		case strings.Contains(para, "SHOULD"):
			levels[id] = "SHOULD"
		default:
			levels[id] = "MAY"
		}
	}
	var out []Requirement
	for _, m := range indexRow.FindAllStringSubmatch(doc, -1) {
		out = append(out, Requirement{ID: m[1], Section: m[2], Summary: m[3], Level: levels[m[1]]})
	}
	return out
}

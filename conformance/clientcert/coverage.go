package clientcert

import "sort"

// Obligation is a client requirement of the specs and how it is checked.
type Obligation struct {
	ID    string
	Cases []string // case ids that cite it
	Note  string   // why it is not checked, or how
}

// notChecked lists client MUSTs no case checks, with the reason.
var notChecked = map[string]string{}

// clientMUSTs are the requirements on a client in spec/smp.md and
// spec/graph-chat.md (relay-only requirements are certified by
// smp-conform relay).
var clientMUSTs []string

// Coverage returns every client obligation with the cases citing it.
func Coverage() []Obligation {
	by := map[string][]string{}
	for _, c := range Catalog() {
		for _, s := range c.Spec {
			by[s] = append(by[s], c.ID)
		}
	}
	seen := map[string]bool{}
	var out []Obligation
	for _, id := range clientMUSTs {
		seen[id] = true
		out = append(out, Obligation{ID: id, Cases: by[id], Note: notChecked[id]})
	}
	var extra []string
	for id := range by {
		if !seen[id] {
			extra = append(extra, id)
		}
	}
	sort.Strings(extra)
	for _, id := range extra {
		out = append(out, Obligation{ID: id, Cases: by[id]})
	}
	return out
}

package conformance

import (
	"slices"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/spec"
)

// CoverageRow says how one requirement of spec/smp.md is checked.
type CoverageRow struct {
	spec.Requirement
	Cases    []string // ids of the cases citing it
	Positive []string // of those, the cases that check the allowed path (Case.Path positive or both)
	Negative []string // and those that try what it forbids (negative or both)
	// Versions are the matrix points at which the citing cases run.
	Versions []smp.Version
	// Mutants are the developer mutants violating it (conformance/mutants.txt),
	// each proven caught by a MUST case citing it; Proven is set when there
	// is at least one. Only a proven requirement counts as covered.
	Mutants []string
	Proven  bool
	Reason  string // why no black-box case can check it, when Cases is empty
}

// Coverage maps every requirement of spec/smp.md to the cases citing it,
// or to the reason it is not testable against a relay over the network.
func Coverage() []CoverageRow {
	by := map[string][]*Case{}
	for _, c := range Catalog() {
		for _, id := range c.Spec {
			by[id] = append(by[id], c)
		}
	}
	muts := map[string][]string{}
	for _, m := range Mutants() {
		for _, id := range m.Spec {
			muts[id] = append(muts[id], m.Name)
		}
	}
	var out []CoverageRow
	for _, r := range spec.Requirements() {
		row := CoverageRow{Requirement: r, Reason: untestable[r.ID], Mutants: muts[r.ID]}
		row.Proven = len(row.Mutants) > 0 && len(by[r.ID]) > 0
		vs := map[smp.Version]bool{}
		for _, c := range by[r.ID] {
			row.Cases = append(row.Cases, c.ID)
			if c.Path != Negative {
				row.Positive = append(row.Positive, c.ID)
			}
			if c.Path != Positive {
				row.Negative = append(row.Negative, c.ID)
			}
			for _, v := range c.Points(smp.SupportedRange, false) {
				vs[v] = true
			}
		}
		for v := range vs {
			row.Versions = append(row.Versions, v)
		}
		slices.Sort(row.Versions)
		out = append(out, row)
	}
	return out
}

// untestable lists requirements that a black-box relay test cannot check,
// with the reason. The coverage test fails for any MUST requirement that
// has neither a case nor an entry here.
var untestable = map[string]string{
	// Obligations of clients, not relays.
	"SMP-VER-3":    "client obligation: what a client sends at the agreed version",
	"SMP-VER-4":    "documentation rule on version spaces; nothing on the relay wire",
	"SMP-AUTH-5":   "client obligation: when a client may send an authenticator",
	"SMP-TLS-4":    "client obligation: no SNI (the runner's client sends none)",
	"SMP-EVT-2":    "client obligation: entity ids a client expects per response",
	"SMP-ENV-1":    "client envelope inside SEND: opaque to relays; checked by vectors/smp/msg-body.json",
	"SMP-ERR-3":    "parser leniency of clients; checked by the codec vectors",
	"SMP-HS-8":     "client obligation: the checks a client makes of the server hello (the runner's client makes them; what the relay must send is SMP-HS-1)",
	"SMP-PROXY-3":  "client obligation: validating PKEY (the runner's client does; what the relay must send is SMP-RSP-PKEY-1)",
	"SMP-PROXY-4":  "client obligation: how a client builds PFWD (the runner's client does; the relay side is SMP-PROXY-5..10)",
	"SMP-MSG-4":    "client obligation: how a recipient parses a message body; vectors/smp/msg-body.json",
	"SMP-ORDER-1":  "client obligation: correlate by correlation id (the relay side, every response echoing its corrId, is checked by FR-BATCH-MANY and the observation layer)",
	"SMP-ORDER-2":  "client obligation: no reliance on execution order within a block",
	"SMP-SIGNED-2": "parser leniency of clients for the relay's signed key; checked by vectors/crypto/signed-key.json",
	"SMP-ENC-9":    "relays parse no version range from clients (PFWD carries one version); codec vectors",
	"SMP-ENC-11":   "relays parse no UTF-8 text from clients except the password, a short string; codec vectors",
	"SMP-ADDR-1":   "text address form: used by tools, never on the relay wire; vectors/smp/uri.json",
	"SMP-ADDR-3":   "host syntax of the text address form; vectors/smp/uri.json",
	"SMP-URI-1":    "queue URI text form: exchanged out of band; vectors/smp/uri.json",
	// Operator actions and long timers no network client can trigger.
	"SMP-QSTATE-3": "needs a queue blocked by the operator; no protocol command blocks one (reference relay: TestBlockedQueue)",
	"SMP-ERR-2":    "ERR BLOCKED needs an operator-blocked queue (reference relay: TestBlockedQueue)",
	"SMP-NOTICE-1": "ERR BLOCKED notices need an operator-blocked queue (reference relay: TestBlockedQueue)",
	"SMP-NOTICE-2": "the notice a queue is blocked with is set by the operator (reference relay: TestControlBlockNotice, TestControlChangesAreDurable)",
	"SMP-EXP-3":    "notification time to live is hours; not observable in a test run (reference relay: TestExpiry)",
	"SMP-EXP-4":    "idle timeout is hours and optional",
}

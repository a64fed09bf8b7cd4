package clientcert

import "sort"

// Obligation is a client requirement of the specs and how it is checked.
type Obligation struct {
	ID    string
	Cases []string // cases that cite it, then cases that check it indirectly
	Note  string   // how it is checked indirectly, or why it is not
}

// clientMUSTs are the requirements on a client in spec/smp.md and
// spec/graph-chat.md, in document order (relay requirements are for
// smp-conform relay).
var clientMUSTs = []string{
	"SMP-VER-1", "SMP-VER-3", "SMP-KEY-4", "SMP-BLOCK-1", "SMP-BATCH-1", "SMP-BATCH-2", "SMP-CHAIN-2",
	"SMP-AUTH-1", "SMP-AUTH-5", "SMP-TLS-1", "SMP-TLS-4", "SMP-TLS-5", "SMP-TLS-6", "SMP-TLS-7", "SMP-HS-9",
	"SMP-HS-8", "SMP-HS-2", "SMP-HS-5", "SMP-EVT-2", "SMP-MSG-4", "SMP-ENV-1", "SMP-ERR-4", "SMP-ORDER-1",
	"SMP-ORDER-2", "SMP-PROXY-3", "SMP-PROXY-4", "SMP-SVC-1", "SMP-ADDR-1", "SMP-URI-1",
	"GC-LINK-1", "GC-DUPLEX-1", "GC-DUPLEX-2", "GC-DUPLEX-3", "GC-DUPLEX-4", "GC-DUPLEX-5", "GC-CONTACT-1",
	"GC-ROTATE-1", "GC-REDUNDANCY-1", "GC-RESYNC-1", "GC-QUEUE-1", "GC-QUEUE-2", "GC-QUEUE-3", "GC-QUEUE-4",
	"GC-X3DH-1", "GC-X3DH-2", "GC-RATCHET-1", "GC-RATCHET-2", "GC-RATCHET-3", "GC-RATCHET-4", "GC-RATCHET-5",
	"GC-RATCHET-6", "GC-RATCHET-7", "GC-RATCHET-8", "GC-RATCHET-9", "GC-PQ-1",
	"GC-ENV-1", "GC-ENV-2", "GC-ENV-3", "GC-ENV-4", "GC-ENV-5", "GC-ENV-6",
}

// byRelay: the reference relay refuses a violation (it verifies every
// block, transmission and signature), so every duplex case fails on it.
const byRelay = "indirect: the reference relay rejects a violation, failing every duplex case"

// byPeer: the reference peer decrypts and parses what the shim sends.
const byPeer = "indirect: the reference peer rejects a violation, failing every message case"

var duplexCases = []string{"DUPLEX-FAST-INITIATOR", "DUPLEX-FAST-JOINER", "DUPLEX-STD-INITIATOR", "DUPLEX-STD-JOINER"}

var indirect = map[string]struct {
	cases []string
	note  string
}{
	"SMP-VER-1":    {duplexCases, byRelay},
	"SMP-KEY-4":    {duplexCases, byRelay},
	"SMP-BLOCK-1":  {duplexCases, byRelay},
	"SMP-BATCH-1":  {duplexCases, byRelay},
	"SMP-BATCH-2":  {duplexCases, byRelay},
	"SMP-CHAIN-2":  {duplexCases, byRelay},
	"SMP-AUTH-1":   {duplexCases, byRelay},
	"SMP-TLS-1":    {duplexCases, byRelay},
	"SMP-TLS-7":    {duplexCases, byRelay + " (signatures cover the session id)"},
	"SMP-HS-2":     {duplexCases, byRelay},
	"SMP-HS-9":     {duplexCases, byRelay},
	"GC-QUEUE-2":   {[]string{"DUPLEX-STD-INITIATOR", "DUPLEX-STD-JOINER"}, byPeer + " (the peer secures its queue with the key from K)"},
	"GC-QUEUE-4":   {nil, "SHOULD case ROBUST-KEY-BEFORE-CONF checks the related rule that a key which does not open is not kept"},
	"GC-X3DH-1":    {duplexCases, byPeer},
	"GC-X3DH-2":    {duplexCases, byPeer},
	"GC-RATCHET-1": {duplexCases, byPeer},
	"GC-RATCHET-4": {[]string{"MSG-TO-PEER", "MSG-FROM-PEER"}, byPeer},
	"GC-RATCHET-5": {[]string{"MSG-TO-PEER"}, byPeer},
	"GC-RATCHET-6": {[]string{"MSG-TO-PEER"}, byPeer},
	"GC-RATCHET-7": {[]string{"MSG-TO-PEER"}, byPeer},
	"GC-ENV-1":     {duplexCases, byPeer},
	"GC-ENV-5":     {duplexCases, byPeer + " (the joiner's reply queue, QK in rotation)"},
	"GC-ENV-6":     {[]string{"ROTATE-BY-SHIM"}, byPeer + " (QA carries the binary queue URI)"},
}

// notChecked says why no case checks a client MUST.
var notChecked = map[string]string{
	"SMP-EVT-2":   "needs a scripted relay answering with unusual entity ids",
	"SMP-ERR-4":   "needs a scripted relay sending EXPIRED / DUPLICATE_",
	"SMP-ORDER-1": "needs a scripted relay that answers out of order",
	"SMP-ORDER-2": "needs a scripted relay that answers out of order",
	"SMP-PROXY-3": "driver v1 has no proxied sending",
	"SMP-PROXY-4": "driver v1 has no proxied sending",
	"SMP-SVC-1":   "services are relay-side clients, not agents",
	"GC-PQ-1":     "the reference peer never proposes KEM, so the shim's answer is not observed",
}

// Coverage returns every client obligation with the cases checking it,
// then ids cases cite that are not in the list (driver ids).
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
		o := Obligation{ID: id, Cases: by[id], Note: notChecked[id]}
		if ind, ok := indirect[id]; ok {
			o.Cases = append(o.Cases, ind.cases...)
			if len(by[id]) == 0 {
				o.Note = ind.note
			}
		}
		out = append(out, o)
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

package conformance

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/transport"
	"github.com/smpkit/smpkit/spec"
)

// The raw observation layer. The client library parses what the relay
// sends and hides what a client need not look at; a relay could put a
// wrong correlation id on a pushed MSG, a wrong entity id on an error or
// an authorization on a response, and the cases would never see it. So
// every connection a case opens through T.Client is observed below the
// library: each block the relay sends is checked byte for byte against the
// spec (padding of plain blocks, batch framing, the transmission layout of
// the agreed version, an empty authorization, the v6 session id, the
// correlation id and entity id each tag must carry), and the case fails
// with the first violation even when the library accepted the bytes.

// sentTx is what a case sent under one correlation id.
type sentTx struct {
	entity []byte
	tag    string
}

// observer checks one session.
type observer struct {
	t     *T
	v     smp.Version
	sess  []byte
	plain bool

	mu   sync.Mutex
	sent map[string]sentTx
}

// idBook holds the entity ids a case's connections have learned (from IDS,
// NID, SOK responses and from the commands the case sent): events must
// name one of them.
type idBook struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (b *idBook) add(ids ...[]byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ids == nil {
		b.ids = map[string]bool{}
	}
	for _, id := range ids {
		if len(id) > 0 {
			b.ids[string(id)] = true
		}
	}
}

func (b *idBook) has(id []byte) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ids[string(id)]
}

// observe installs the checks on sess.
func (t *T) observe(sess *transport.Session) {
	o := &observer{t: t, v: sess.Version, sess: sess.SessionID, plain: !sess.Encrypted(), sent: map[string]sentTx{}}
	sess.Observe = o.block
}

// violation records a wire problem; the case fails with it at its next
// check (Do, Event, or its end).
func (t *T) violation(format string, args ...any) {
	t.wireMu.Lock()
	defer t.wireMu.Unlock()
	if len(t.wire) < 8 {
		t.wire = append(t.wire, fmt.Sprintf(format, args...))
	}
}

// checkWire fails the case if the observation layer saw a violation.
func (t *T) checkWire() {
	t.wireMu.Lock()
	w := t.wire
	t.wire = nil
	t.wireMu.Unlock()
	if len(w) > 0 {
		t.Failf("the relay's bytes break the spec (seen below the client library):\n%s", strings.Join(w, "\n"))
	}
}

func (o *observer) block(sent bool, block, content []byte) {
	if sent {
		o.sentBlock(content)
		return
	}
	if o.plain && block != nil {
		// SMP-PAD-1: length, content, then '#' to the end of the block.
		n := int(block[0])<<8 | int(block[1])
		if i := bytes.IndexFunc(block[2+n:], func(r rune) bool { return r != '#' }); i >= 0 {
			o.t.violation("SMP-PAD-1: block padding byte %d after the content is %#02x, want '#'", i, block[2+n+i])
		}
	}
	txs, err := smp.ParseBlockContent(content)
	if err != nil {
		o.t.violation("SMP-BATCH-1: the relay sent a block that is not a batch: %v", err)
		return
	}
	for _, raw := range txs {
		o.received(raw)
	}
}

func (o *observer) sentBlock(content []byte) {
	txs, err := smp.ParseBlockContent(content)
	if err != nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, raw := range txs {
		tx, err := smp.ParseTransmission(o.v, raw)
		if err != nil {
			continue
		}
		tag, _, _ := bytes.Cut(tx.Command, []byte(" "))
		o.sent[string(tx.CorrID)] = sentTx{entity: bytes.Clone(tx.EntityID), tag: string(tag)}
		o.t.ids.add(tx.EntityID)
	}
}

// eventTags are the tags a relay may send with an empty correlation id
// (§7.1).
var eventTags = map[string]bool{"MSG": true, "NMSG": true, "END": true, "ENDS": true, "DELD": true, "ERR": true}

func (o *observer) received(raw []byte) {
	t := o.t
	tx, err := smp.ParseTransmission(o.v, raw)
	if err != nil {
		t.violation("SMP-TX-1: a transmission of the relay does not parse at v%d: %v (%x)", o.v, err, raw[:min(len(raw), 48)])
		return
	}
	rsp, err := smp.ParseResponse(o.v, tx.Command)
	if err != nil {
		t.violation("SMP-TX-1: the relay's %q does not parse at v%d: %v", trim(tx.Command), o.v, err)
		return
	}
	tag := rsp.Tag()
	if len(tx.Auth) != 0 || tx.ServiceSig != nil {
		t.violation("SMP-TX-3: %s from the relay carries an authorization (%d bytes)", tag, len(tx.Auth))
	}
	if o.v == smp.VersionMin && !bytes.Equal(tx.SessionID, o.sess) {
		t.violation("SMP-TX-1: %s at v6 carries session id %x, the session's is %x", tag, tx.SessionID, o.sess)
	}
	switch r := rsp.(type) {
	case smp.RspIDS:
		t.ids.add(r.RcvID, r.SndID, r.LinkID, r.ServiceID)
		if r.NtfCreds != nil {
			t.ids.add(r.NtfCreds.NotifierID)
		}
	case smp.RspNID:
		t.ids.add(r.NotifierID)
	case smp.RspSOK:
		t.ids.add(r.ServiceID)
	}
	if len(tx.CorrID) == 0 {
		switch {
		case !eventTags[tag]:
			t.violation("SMP-EVT-1: %s sent with an empty correlation id, as an event; only MSG, NMSG, END, ENDS, DELD and ERR are events", tag)
		case tag != "ERR" && !t.ids.has(tx.EntityID):
			t.violation("SMP-EVT-1: event %s names entity %x, which is no queue, notifier or service of this case", tag, tx.EntityID)
		}
		return
	}
	o.mu.Lock()
	cmd, ok := o.sent[string(tx.CorrID)]
	o.mu.Unlock()
	if !ok {
		t.violation("SMP-EVT-1: %s carries correlation id %x, which no command on this connection used (events carry an empty one)", tag, tx.CorrID)
		return
	}
	var want []byte
	switch tag {
	case "IDS", "PONG", "PKEY", "RRES":
		want = nil
	default:
		want = cmd.entity
	}
	if !bytes.Equal(tx.EntityID, want) && !(tag == "ERR" && len(tx.EntityID) == 0) {
		t.violation("§7.1: %s answering %s carries entity id %x, want %x", tag, cmd.tag, tx.EntityID, want)
	}
	if allowed := successTags()[cmd.tag]; allowed != nil && tag != "ERR" && !allowed[tag] {
		t.violation("§6.2: %s answered with %s", cmd.tag, tag)
	}
}

var summaryRow = regexp.MustCompile("(?m)^\\| `([A-Z]+)` \\| [A-Za-z]+ \\| [^|]* \\| [^|]* \\| [0-9]+ \\| (.*) \\|$")

// successTags maps each command to the success responses of the command
// summary of spec/smp.md §6.2 (ERR is always possible).
var successTags = sync.OnceValue(func() map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, m := range summaryRow.FindAllStringSubmatch(spec.SMP, -1) {
		set := map[string]bool{}
		for _, r := range backtickedTag.FindAllStringSubmatch(m[2], -1) {
			set[r[1]] = true
		}
		if len(set) > 0 {
			out[m[1]] = set
		}
	}
	if out["SUB"] != nil {
		out["SUB"]["OK"] = true // SOK is written OK below v16
		out["NSUB"]["OK"] = true
	}
	return out
})

var backtickedTag = regexp.MustCompile("`([A-Z]+)`")

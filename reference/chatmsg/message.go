package chatmsg

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Message is one chat message (CH-MSG-1).
type Message struct {
	// V is the sender's supported version range; InitialRange when the
	// message carried none (CH-VER-2).
	V VersionRange
	// MsgID is the shared message id, nil when absent (CH-MSG-2).
	MsgID []byte
	Event Event
	// Extra holds top-level keys other than v, msgId, event and params.
	Extra Object
}

// ParseMessage decodes one JSON chat message (CH-MSG-1..4, CH-JSON-1).
func ParseMessage(data []byte) (*Message, error) {
	if !utf8.Valid(data) {
		return nil, errf(ErrJSON, "", "not UTF-8")
	}
	if firstByte(data) != '{' {
		return nil, errf(ErrJSON, "", "want a JSON object, got %s", jsonKind(data))
	}
	return decodeMessage(data, "", 0)
}

func decodeMessage(raw []byte, path string, depth int) (*Message, error) {
	r, err := readObj(raw, path)
	if err != nil {
		return nil, err
	}
	m := &Message{V: InitialRange}
	v, err := r.optStr("v")
	if err != nil {
		return nil, errf(ErrVersion, r.at("v"), "want a string")
	}
	if v != nil {
		if m.V, err = ParseVersionRange(*v); err != nil {
			return nil, errf(ErrVersion, r.at("v"), "%v", err)
		}
	}
	if m.MsgID, err = r.optB64("msgId"); err != nil {
		return nil, err
	}
	evv, ok := r.get("event")
	if !ok {
		return nil, errf(ErrEvent, r.at("event"), "missing")
	}
	ev, err := r.asString("event", evv)
	if err != nil {
		return nil, errf(ErrEvent, r.at("event"), "want a string, got %s", jsonKind(evv))
	}
	if err := checkEventName(ev); err != nil {
		return nil, errf(ErrEvent, r.at("event"), "%v", err)
	}
	pr, err := r.obj("params")
	if err != nil {
		return nil, err
	}
	if dec, ok := decoders[ev]; ok {
		if m.Event, err = dec(pr, depth); err != nil {
			return nil, err
		}
	} else {
		p := pr.rest()
		if p == nil {
			p = Object{}
		}
		m.Event = &Unknown{Event: ev, Params: p}
	}
	m.Extra = r.rest()
	return m, nil
}

// checkEventName applies CH-MSG-3: an event is "x" followed by printable
// ASCII without spaces.
func checkEventName(ev string) error {
	if ev == "" || ev[0] != 'x' {
		return fmt.Errorf("%q is not in the x namespace", ev)
	}
	for i := 0; i < len(ev); i++ {
		if ev[i] <= ' ' || ev[i] > '~' {
			return fmt.Errorf("%q has a space or a non-printable character", ev)
		}
	}
	return nil
}

// Encode writes the message canonically (CH-JSON-2): v, msgId, event,
// params, then any other top-level keys sorted.
func (m *Message) Encode() []byte {
	b := []byte(`{"v":`)
	b = appendString(b, m.V.String())
	if m.MsgID != nil {
		b = append(b, `,"msgId":`...)
		b = appendString(b, encodeB64(m.MsgID))
	}
	b = append(b, `,"event":`...)
	b = appendString(b, m.Event.Name())
	b = append(b, `,"params":`...)
	b = append(b, m.Event.params()...)
	keys := make([]string, 0, len(m.Extra))
	for k := range m.Extra {
		switch k {
		case "v", "msgId", "event", "params":
		default:
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		b = append(b, ',')
		b = appendString(b, k)
		b = append(b, ':')
		b = append(b, canonicalOrSelf(m.Extra[k])...)
	}
	return append(b, '}')
}

// String is the canonical encoding, for logs in tests.
func (m *Message) String() string { return strings.Clone(string(m.Encode())) }

package vectors

import (
	"fmt"

	cm "github.com/smpkit/smpkit/reference/chatmsg"
)

type chatUpstreamCase struct {
	Case
	// Test is the literal's it "..." name in Source.
	Source string `json:"source"`
	Test   string `json:"test"`
	// Mode is "both" (parse, and our encoding is the same JSON value) or
	// "parse" (parse only), as upstream checks the literal.
	Mode    string `json:"mode"`
	Event   string `json:"event"`
	Typed   bool   `json:"typed"`
	Message string `json:"message"`
	// Canonical is our encoding of the parsed literal.
	Canonical string `json:"canonical"`
}

const upstreamSource = "simplex-chat tests/ProtocolTests.hs (decodeChatMessageTest)"

func genChatUpstream() (any, error) {
	typed := 0
	for _, l := range upstreamLiterals {
		m, err := cm.ParseMessage([]byte(l.json))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.name, err)
		}
		if cm.Known(m.Event.Name()) {
			typed++
		}
	}
	f := File[chatUpstreamCase]{
		Topic: "Upstream literal encodings",
		Description: fmt.Sprintf("Every literal of %s, in file order (the commented-out x.grp.msg.forward literal is not "+
			"one). %d of the %d literals are events this revision decodes into typed values; the other %d (x.msg.deleted, "+
			"x.file, x.file.acpt, x.file.acpt.inv, x.file.cancel, x.grp.mem.con.all, x.grp.direct.inv) are kept as unknown "+
			"events (CH-EXT-2). Valid: message parses into event (typed as stated); in mode both, canonical (our encoding, "+
			"byte for byte) is the same JSON value as message, which is how upstream compares its encoder's output.",
			upstreamSource, typed, len(upstreamLiterals), len(upstreamLiterals)-typed),
		Spec: "spec/chat.md §3, §6-§8",
	}
	for i, l := range upstreamLiterals {
		m, _ := cm.ParseMessage([]byte(l.json))
		c := chatUpstreamCase{Case: Case{ID: upstreamID(i, l.name), Spec: upstreamSpec(m.Event.Name()), Valid: true},
			Source: upstreamSource, Test: l.name, Mode: l.mode, Event: m.Event.Name(), Typed: cm.Known(m.Event.Name()),
			Message: l.json, Canonical: string(m.Encode())}
		if err := checkUpstream(c, m); err != nil {
			return nil, err
		}
		f.Cases = append(f.Cases, c)
	}
	return f, nil
}

// upstreamSpec names the requirement a literal's event is specified by.
func upstreamSpec(event string) string {
	if s, ok := map[string]string{
		cm.EvInfo: "CH-CONN-1", cm.EvContact: "CH-CONN-2", cm.EvOK: "CH-CONN-3", cm.EvProbe: "CH-PROBE-1",
		cm.EvProbeCheck: "CH-PROBE-2", cm.EvProbeOK: "CH-PROBE-3", cm.EvMsgNew: "CH-MSG-NEW-1", cm.EvMsgUpdate: "CH-MSG-UPD-1",
		cm.EvMsgDel: "CH-MSG-DEL-1", cm.EvGrpInv: "CH-GRP-INV-1", cm.EvGrpAcpt: "CH-GRP-INV-2", cm.EvGrpMemNew: "CH-GRP-INTRO-1",
		cm.EvGrpMemIntro: "CH-GRP-INTRO-2", cm.EvGrpMemInv: "CH-GRP-INTRO-3", cm.EvGrpMemFwd: "CH-GRP-INTRO-4",
		cm.EvGrpMemInfo: "CH-GRP-INTRO-5", cm.EvGrpMemCon: "CH-GRP-INTRO-6", cm.EvGrpMemDel: "CH-GRP-DEL-1",
		cm.EvGrpLeave: "CH-GRP-LEAVE-1", cm.EvGrpDel: "CH-GRP-DEL-3",
	}[event]; ok {
		return s
	}
	return "CH-EXT-2"
}

func checkUpstream(c chatUpstreamCase, m *cm.Message) error {
	if m.Event.Name() != c.Event || cm.Known(c.Event) != c.Typed {
		return fmt.Errorf("%s: event %s, want %s (typed %v)", c.ID, m.Event.Name(), c.Event, c.Typed)
	}
	enc := m.Encode()
	if string(enc) != c.Canonical {
		return fmt.Errorf("%s: encodes to\n%s\nwant\n%s", c.ID, enc, c.Canonical)
	}
	if c.Mode == "both" {
		eq, err := jsonEqual(enc, []byte(c.Message))
		if err != nil {
			return fmt.Errorf("%s: %w", c.ID, err)
		}
		if !eq {
			return fmt.Errorf("%s: our encoding is not the literal's JSON value:\n%s\n%s", c.ID, enc, c.Message)
		}
	}
	// What upstream's parse-only literals assert beyond parsing.
	if ct, ok := m.Event.(*cm.Contact); ok && c.Mode == "parse" {
		if ct.ReqMsgID != nil || ct.ContactReqID != nil {
			return fmt.Errorf("%s: request message or id where upstream has none", c.ID)
		}
	}
	return nil
}

func verifyChatUpstream(data []byte) error {
	f, err := Decode[chatUpstreamCase](data)
	if err != nil {
		return err
	}
	if len(f.Cases) != len(upstreamLiterals) {
		return fmt.Errorf("%d cases, want one per upstream literal (%d)", len(f.Cases), len(upstreamLiterals))
	}
	return Check(data, func(c chatUpstreamCase) string { return c.ID }, func(c chatUpstreamCase) error {
		m, err := cm.ParseMessage([]byte(c.Message))
		if err != nil {
			return err
		}
		return checkUpstream(c, m)
	})
}

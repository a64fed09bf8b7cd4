package vectors

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"reflect"

	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/ratchet"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
)

func init() {
	Register(Topic{Path: "graph-chat/envelopes.json", Generate: genEnvelopes, Verify: verifyEnvelopes})
}

type envCase struct {
	Case
	Kind   string `json:"kind"` // envelope | agent_message
	Type   string `json:"type"`
	Fields any    `json:"fields,omitempty"`
	Bytes  Hex    `json:"bytes"`
}

func genEnvelopes() (any, error) {
	f := File[envCase]{
		Topic: "graph-chat agent envelopes and agent messages",
		Description: "Valid: parsing bytes gives fields (byte strings hex, keys as SPKI hex, servers as addresses, modes as " +
			"characters) and encoding them gives bytes. envelope is what the per-queue layer carries (GC-ENV-1); " +
			"agent_message is the ratchet plaintext (GC-ENV-2..4). Invalid cases must fail to parse.",
		Spec: "spec/graph-chat.md §6",
	}
	x448 := func(l string) smpcrypto.PublicKey {
		k, _ := smpcrypto.GenerateKey(smpcrypto.X448, Rand("env "+l))
		return k.Public()
	}
	x25519 := func(l string) smpcrypto.PublicKey {
		k, _ := smpcrypto.GenerateKey(smpcrypto.X25519, Rand("env "+l))
		return k.Public()
	}
	ed := func(l string) smpcrypto.PublicKey {
		k, _ := smpcrypto.GenerateKey(smpcrypto.Ed25519, Rand("env "+l))
		return k.Public()
	}
	srv := smp.Server{Hosts: []string{"smp1.example.com", "abcdefghij234567.onion"}, Port: "5223", KeyHash: RandBytes("env key hash", 32)}
	sid := RandBytes("env sender id", 24)
	mode := func(m smp.QueueMode) *smp.QueueMode { return &m }
	params := &ratchet.Params{Version: 3, Key1: x448("k1"), Key2: x448("k2")}
	qi := func(v uint16, m *smp.QueueMode) agent.QueueInfo {
		return agent.QueueInfo{ClientVersion: v, Server: srv, SenderID: sid, DHKey: x25519("queue dh"), Mode: m}
	}
	addr := agent.SndQAddr{Server: srv, SenderID: sid}
	uri := smp.QueueURI{Server: srv, SenderID: sid, Versions: smp.VersionRange{Min: 1, Max: 4}, DHKey: x25519("queue dh"), Mode: mode(smp.QueueMessaging)}
	// The invitation envelope carries a link the joiner parses (GC-LINK-1).
	connReq := agent.Invitation{AgentVersions: smp.VersionRange{Min: 2, Max: 7}, Queues: []smp.QueueURI{uri},
		E2EVersions: smp.VersionRange{Min: 2, Max: 3}, E2EKey1: params.Key1, E2EKey2: params.Key2}.String()
	envs := []struct {
		id, spec string
		e        agent.Envelope
	}{
		{"confirmation", "GC-ENV-1", agent.EnvConfirmation{AgentVersion: 7, E2E: params, EncConnInfo: RandBytes("env conninfo", 40)}},
		{"confirmation-v2-params", "GC-ENV-1", agent.EnvConfirmation{AgentVersion: 2, E2E: &ratchet.Params{Version: 2, Key1: params.Key1, Key2: params.Key2}, EncConnInfo: []byte("ct")}},
		{"confirmation-no-params", "GC-ENV-1", agent.EnvConfirmation{AgentVersion: 7, EncConnInfo: []byte("ct")}},
		{"message", "GC-ENV-1", agent.EnvMessage{AgentVersion: 7, EncMessage: RandBytes("env msg", 40)}},
		{"invitation", "GC-ENV-1", agent.EnvInvitation{AgentVersion: 7, ConnReq: connReq, ConnInfo: []byte(`{"profile":{}}`)}},
		{"ratchet-key", "GC-ENV-1", agent.EnvRatchetKey{AgentVersion: 7, E2E: *params, Info: []byte("info")}},
	}
	for _, e := range envs {
		b, err := agent.EncodeEnvelope(e.e)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.id, err)
		}
		f.Cases = append(f.Cases, envCase{Case: Case{ID: "env-" + e.id, Spec: e.spec, Valid: true}, Kind: "envelope",
			Type: reflect.TypeOf(e.e).Name(), Fields: toFields(e.e), Bytes: b})
	}
	msgs := []struct {
		id, spec string
		m        agent.AgentMessage
	}{
		{"conn-info", "GC-ENV-2", agent.ConnInfo{Info: []byte(`{"v":"1-18"}`)}},
		{"conn-info-reply-v4", "GC-ENV-5", agent.ConnInfoReply{Queues: []agent.QueueInfo{qi(4, mode(smp.QueueMessaging))}, Info: []byte("{}")}},
		{"conn-info-reply-v3", "GC-ENV-5", agent.ConnInfoReply{Queues: []agent.QueueInfo{qi(3, mode(smp.QueueMessaging)), qi(2, nil)}, Info: []byte("{}")}},
		{"conn-info-reply-v1", "GC-ENV-5", agent.ConnInfoReply{Queues: []agent.QueueInfo{{ClientVersion: 1, Server: smp.Server{Hosts: []string{"smp1.example.com"}, Port: "5223", KeyHash: srv.KeyHash}, SenderID: sid, DHKey: x25519("queue dh")}}, Info: []byte("{}")}},
		{"ratchet-info", "GC-ENV-2", agent.RatchetInfo{Info: []byte("info")}},
		{"hello", "GC-ENV-4", agent.Message{SndMsgID: 1, PrevMsgHash: []byte{}, Msg: agent.Hello{}}},
		{"a-msg", "GC-ENV-4", agent.Message{SndMsgID: 2, PrevMsgHash: RandBytes("env hash 1", 32), Msg: agent.AMsg{Body: []byte(`{"event":"x.msg.new"}`)}}},
		{"a-rcvd", "GC-ENV-4", agent.Message{SndMsgID: 3, PrevMsgHash: RandBytes("env hash 2", 32), Msg: agent.ARcvd{Receipts: []agent.Receipt{{AgentMsgID: 2, MsgHash: RandBytes("env hash 1", 32), Info: []byte{}}}}}},
		{"a-qcont", "GC-ENV-4", agent.Message{SndMsgID: 4, PrevMsgHash: []byte{}, Msg: agent.AQCont{Addr: addr}}},
		{"qadd", "GC-ENV-4", agent.Message{SndMsgID: 5, PrevMsgHash: []byte{}, Msg: agent.QAdd{Queues: []agent.QAddEntry{{URI: uri, Replaced: &addr}}}}},
		{"qkey", "GC-ENV-4", agent.Message{SndMsgID: 6, PrevMsgHash: []byte{}, Msg: agent.QKey{Queues: []agent.QKeyEntry{{Info: qi(4, mode(smp.QueueMessaging)), SenderKey: ed("sender")}}}}},
		{"quse", "GC-ENV-4", agent.Message{SndMsgID: 7, PrevMsgHash: []byte{}, Msg: agent.QUse{Queues: []agent.QUseEntry{{Addr: addr, Ready: true}}}}},
		{"qtest", "GC-ENV-4", agent.Message{SndMsgID: 8, PrevMsgHash: []byte{}, Msg: agent.QTest{Addrs: []agent.SndQAddr{addr}}}},
		{"eready", "GC-ENV-4", agent.Message{SndMsgID: 9, PrevMsgHash: []byte{}, Msg: agent.EReady{LastMsgID: 41}}},
	}
	for _, m := range msgs {
		b, err := agent.EncodeAgentMessage(m.m)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.id, err)
		}
		typ := reflect.TypeOf(m.m).Name()
		if mm, ok := m.m.(agent.Message); ok {
			typ += "/" + reflect.TypeOf(mm.Msg).Name()
		}
		f.Cases = append(f.Cases, envCase{Case: Case{ID: "msg-" + m.id, Spec: m.spec, Valid: true}, Kind: "agent_message",
			Type: typ, Fields: toFields(m.m), Bytes: b})
	}
	for _, b := range []struct {
		id, kind string
		b        []byte
	}{
		{"env-bad-tag", "envelope", []byte("\x00\x07X")},
		{"env-short", "envelope", []byte("\x00")},
		{"env-bad-params", "envelope", []byte("\x00\x07C1\x00\x03")},
		{"msg-bad-tag", "agent_message", []byte("Z")},
		{"msg-empty-reply-queues", "agent_message", []byte("D\x00{}")},
		{"msg-bad-amsg", "agent_message", append([]byte("M\x00\x00\x00\x00\x00\x00\x00\x01\x00"), "QZ"...)},
		{"msg-truncated-header", "agent_message", []byte("M\x00\x00\x00")},
	} {
		f.Cases = append(f.Cases, envCase{Case: Case{ID: "bad-" + b.id, Spec: "GC-ENV-1", Error: "parse"}, Kind: b.kind, Bytes: b.b})
	}
	return f, nil
}

func verifyEnvelopes(data []byte) error {
	return Check(data, func(c envCase) string { return c.ID }, func(c envCase) error {
		var got any
		var err error
		var enc func(any) ([]byte, error)
		switch c.Kind {
		case "envelope":
			got, err = agent.ParseEnvelope(c.Bytes)
			enc = func(x any) ([]byte, error) { return agent.EncodeEnvelope(x.(agent.Envelope)) }
		case "agent_message":
			got, err = agent.ParseAgentMessage(c.Bytes)
			enc = func(x any) ([]byte, error) { return agent.EncodeAgentMessage(x.(agent.AgentMessage)) }
		default:
			return fmt.Errorf("kind %q", c.Kind)
		}
		if !c.Valid {
			if err == nil {
				return fmt.Errorf("parsed as %T", got)
			}
			return nil
		}
		if err != nil {
			return err
		}
		if g, w := normJSON(rawJSON(toFields(got))), normJSON(rawJSON(c.Fields)); g != w {
			return fmt.Errorf("fields %s, want %s", g, w)
		}
		if inv, ok := got.(agent.EnvInvitation); ok {
			if _, err := agent.ParseInvitation(inv.ConnReq); err != nil {
				return fmt.Errorf("embedded link: %w", err)
			}
		}
		again, err := enc(got)
		if err != nil || !bytes.Equal(again, c.Bytes) {
			return fmt.Errorf("re-encoded %x (%v)", again, err)
		}
		return nil
	})
}

func init() {
	Register(Topic{Path: "graph-chat/links.json", Generate: genLinks, Verify: verifyLinks})
}

type linkCase struct {
	Case
	Kind          string   `json:"kind"` // invitation | contact
	Text          string   `json:"text"`
	Canonical     string   `json:"canonical,omitempty"`
	AgentVersions []int    `json:"agent_versions,omitempty"`
	Queues        []string `json:"queues,omitempty"` // queue URIs, text form
	E2EVersions   []int    `json:"e2e_versions,omitempty"`
	E2EKey1       Hex      `json:"e2e_key1,omitempty"` // SPKI
	E2EKey2       Hex      `json:"e2e_key2,omitempty"`
	Data          *string  `json:"data,omitempty"`
}

func linkFields(id string, text string, inv agent.Invitation) linkCase {
	c := linkCase{Case: Case{ID: id, Spec: "GC-LINK-1", Valid: true}, Kind: "invitation", Text: text,
		AgentVersions: []int{int(inv.AgentVersions.Min), int(inv.AgentVersions.Max)},
		E2EVersions:   []int{int(inv.E2EVersions.Min), int(inv.E2EVersions.Max)},
		E2EKey1:       inv.E2EKey1.SPKI(), E2EKey2: inv.E2EKey2.SPKI(), Data: inv.ClientData}
	for _, q := range inv.Queues {
		c.Queues = append(c.Queues, q.String())
	}
	return c
}

func contactFields(id string, text string, ct agent.Contact) linkCase {
	c := linkCase{Case: Case{ID: id, Spec: "GC-LINK-2", Valid: true}, Kind: "contact", Text: text,
		AgentVersions: []int{int(ct.AgentVersions.Min), int(ct.AgentVersions.Max)}, Data: ct.ClientData}
	for _, q := range ct.Queues {
		c.Queues = append(c.Queues, q.String())
	}
	return c
}

// parseLinkCase parses text as the kind says and returns its fields and
// printed form.
func parseLinkCase(id, kind, text string) (linkCase, string, error) {
	switch kind {
	case "invitation":
		inv, err := agent.ParseInvitation(text)
		if err != nil {
			return linkCase{}, "", err
		}
		return linkFields(id, text, inv), inv.String(), nil
	case "contact":
		ct, err := agent.ParseContact(text)
		if err != nil {
			return linkCase{}, "", err
		}
		return contactFields(id, text, ct), ct.String(), nil
	}
	return linkCase{}, "", fmt.Errorf("kind %q", kind)
}

func genLinks() (any, error) {
	f := File[linkCase]{
		Topic: "graph-chat invitation and contact links",
		Description: "Valid: parsing text as kind gives the fields (queue URIs in their own text form, SMP-URI-1) and printing them " +
			"gives canonical (or text). Values are escaped: every byte but letters, digits and -._~ as %XX, so the queue URI " +
			"and the e2e parameters are escaped once more inside the link. A parsed link prints with the simplex: scheme " +
			"(GC-LINK-1); a contact link's agent range is raised to start at 2 and its data kept (GC-LINK-2). " +
			"Invalid: parsing must fail.",
		Spec: "spec/graph-chat.md §2",
	}
	add := func(id, kind, text string) error {
		c, printed, err := parseLinkCase(id, kind, text)
		if err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		if printed != text {
			c.Canonical = printed
		}
		f.Cases = append(f.Cases, c)
		return nil
	}
	k1, _ := smpcrypto.GenerateKey(smpcrypto.X448, Rand("link k1"))
	k2, _ := smpcrypto.GenerateKey(smpcrypto.X448, Rand("link k2"))
	dh, _ := smpcrypto.GenerateKey(smpcrypto.X25519, Rand("link dh"))
	m, cm := smp.QueueMessaging, smp.QueueContact
	srv := smp.Server{Hosts: []string{"smp1.example.com", "abcdefghij234567.onion"}, KeyHash: RandBytes("link key hash", 32)}
	q := smp.QueueURI{Server: srv, SenderID: RandBytes("link sender", 24), Versions: smp.VersionRange{Min: 1, Max: 4}, DHKey: dh.Public(), Mode: &m}
	inv := agent.Invitation{Scheme: "simplex:", AgentVersions: smp.VersionRange{Min: 2, Max: 7}, Queues: []smp.QueueURI{q},
		E2EVersions: smp.VersionRange{Min: 2, Max: 3}, E2EKey1: k1.Public(), E2EKey2: k2.Public()}
	steps := []struct{ id, kind, text string }{{"simplex-scheme", "invitation", inv.String()}}
	inv.Scheme = "https://simplex.chat"
	steps = append(steps, struct{ id, kind, text string }{"https-scheme", "invitation", inv.String()})
	inv.Scheme = "simplex:"
	data := `{"k":"v"}`
	inv.ClientData = &data
	steps = append(steps, struct{ id, kind, text string }{"client-data", "invitation", inv.String()})
	inv.ClientData = nil
	q2 := q
	q2.Server = smp.Server{Hosts: []string{"smp2.example.com"}, Port: "443", KeyHash: RandBytes("link key hash 2", 32)}
	q2.SenderID = RandBytes("link sender 2", 24)
	inv.Queues = append(inv.Queues, q2)
	steps = append(steps, struct{ id, kind, text string }{"two-queues", "invitation", inv.String()})
	cq := q
	cq.Mode = &cm
	ct := agent.Contact{Scheme: "simplex:", AgentVersions: smp.VersionRange{Min: 2, Max: 7}, Queues: []smp.QueueURI{cq}}
	steps = append(steps, struct{ id, kind, text string }{"contact", "contact", ct.String()})
	ct.ClientData = &data
	steps = append(steps, struct{ id, kind, text string }{"contact-data", "contact", ct.String()})
	ct.ClientData = nil
	for _, r := range []smp.VersionRange{{Min: 1, Max: 1}, {Min: 1, Max: 2}, {Min: 1, Max: 7}} {
		ct.AgentVersions = r
		ct.Scheme = "https://simplex.chat"
		steps = append(steps, struct{ id, kind, text string }{"contact-raised-v" + r.Text(), "contact", ct.String()})
	}
	// Post-quantum parameters (GC-LINK-3, GC-PQ-1): a proposal is ignored
	// and not printed, an acceptance fails the parse.
	kemKey := smp.EncodeB64(RandBytes("link kem key", 1158))
	inv2 := agent.Invitation{Scheme: "simplex:", AgentVersions: smp.VersionRange{Min: 2, Max: 7}, Queues: []smp.QueueURI{q},
		E2EVersions: smp.VersionRange{Min: 2, Max: 3}, E2EKey1: k1.Public(), E2EKey2: k2.Public()}
	withE2E := func(extra string) string {
		e2e := "v=2-3&x3dh=" + smp.EncodeB64(k1.Public().SPKI()) + "," + smp.EncodeB64(k2.Public().SPKI()) + extra
		return "simplex:/invitation#/?v=2-7&smp=" + smp.QueryEscape(q.String()) + "&e2e=" + smp.QueryEscape(e2e)
	}
	if withE2E("") != inv2.String() {
		return nil, errors.New("links: e2e text differs")
	}
	steps = append(steps, struct{ id, kind, text string }{"kem-proposal-ignored", "invitation", withE2E("&kem_key=" + kemKey)})
	for _, st := range steps {
		if err := add(st.id, st.kind, st.text); err != nil {
			return nil, err
		}
	}
	for _, b := range []struct{ id, kind, text string }{
		{"contact-mode", "invitation", "simplex:/contact#/?v=2-7&smp=x"},
		{"invitation-as-contact", "contact", f.Cases[0].Text},
		{"no-e2e", "invitation", "simplex:/invitation#/?v=2-7&smp=" + url.QueryEscape(q.String())},
		{"one-x3dh-key", "invitation", "simplex:/invitation#/?v=2-7&smp=" + url.QueryEscape(q.String()) + "&e2e=" + url.QueryEscape("v=2-3&x3dh="+smp.EncodeB64(k1.Public().SPKI()))},
		{"bad-scheme", "invitation", "ftp:/invitation#/?v=2-7"},
		{"empty-https-host", "contact", "https:///contact#/?v=2-7&smp=" + url.QueryEscape(cq.String())},
		{"kem-acceptance", "invitation", withE2E("&kem_key=" + kemKey + "&kem_ct=" + kemKey)},
	} {
		f.Cases = append(f.Cases, linkCase{Case: Case{ID: "bad-" + b.id, Spec: "GC-LINK-1", Error: "parse"}, Kind: b.kind, Text: b.text})
	}
	return f, nil
}

func verifyLinks(data []byte) error {
	return Check(data, func(c linkCase) string { return c.ID }, func(c linkCase) error {
		got, printed, err := parseLinkCase(c.ID, c.Kind, c.Text)
		if !c.Valid {
			if err == nil {
				return errors.New("parsed")
			}
			return nil
		}
		if err != nil {
			return err
		}
		got.Case, got.Canonical = c.Case, c.Canonical
		if g, w := normJSON(rawJSON(got)), normJSON(rawJSON(c)); g != w {
			return fmt.Errorf("parsed %s, want %s", g, w)
		}
		want := c.Canonical
		if want == "" {
			want = c.Text
		}
		if printed != want {
			return fmt.Errorf("printed %s", printed)
		}
		return nil
	})
}

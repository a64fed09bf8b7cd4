package agent

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/smpkit/smpkit/reference/ratchet"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
)

// Agent versions (spec/graph-chat.md §1).
const (
	AgentVersionDuplex      = 2 // reply queues in the confirmation
	AgentVersionSndAuthKey  = 6 // the sender secures queues with SKEY
	AgentVersionRatchetConf = 7 // the initiator's ratchet starts on the confirmation
	AgentVersionMin         = AgentVersionDuplex
	AgentVersionMax         = AgentVersionRatchetConf
)

// Invitation is a one-time connection link (GC-LINK-1).
type Invitation struct {
	// Scheme is "simplex:" or an "https://host" prefix.
	Scheme        string
	AgentVersions smp.VersionRange
	Queues        []smp.QueueURI // non-empty
	E2EVersions   smp.VersionRange
	E2EKey1       smpcrypto.PublicKey // X448
	E2EKey2       smpcrypto.PublicKey
	ClientData    *string
}

// String returns the link text (GC-LINK-1):
// scheme/invitation#/?v=A&smp=Q1;Q2&e2e=v=E&x3dh=K1,K2 with values escaped.
func (inv Invitation) String() string {
	qs := make([]string, len(inv.Queues))
	for i, q := range inv.Queues {
		qs[i] = q.String()
	}
	e2e := "v=" + inv.E2EVersions.Text() + "&x3dh=" + smp.EncodeB64(inv.E2EKey1.SPKI()) + "," + smp.EncodeB64(inv.E2EKey2.SPKI())
	s := inv.Scheme
	if s == "" {
		s = "simplex:"
	}
	out := s + "/invitation#/?v=" + smp.QueryEscape(inv.AgentVersions.Text()) + "&smp=" + smp.QueryEscape(strings.Join(qs, ";")) + "&e2e=" + smp.QueryEscape(e2e)
	if inv.ClientData != nil {
		out += "&data=" + smp.QueryEscape(*inv.ClientData)
	}
	return out
}

// ParseInvitation parses a one-time link. Whatever scheme the text has
// ("simplex:" or an https:// page), the result has Scheme "simplex:", so it
// prints as upstream prints a parsed link (GC-LINK-1).
func ParseInvitation(text string) (Invitation, error) {
	fail := func(format string, args ...any) (Invitation, error) {
		return Invitation{}, fmt.Errorf("agent: invitation link: %s", fmt.Sprintf(format, args...))
	}
	d, err := parseLink(text, "invitation")
	if err != nil {
		return fail("%v", err)
	}
	inv := Invitation{Scheme: "simplex:", AgentVersions: d.versions, Queues: d.queues, ClientData: d.data}
	if !d.vals.Has("e2e") {
		return fail("no e2e parameters")
	}
	e2e, err := url.ParseQuery(d.vals.Get("e2e"))
	if err != nil {
		return fail("e2e: %v", err)
	}
	if inv.E2EVersions, err = smp.ParseVersionText(e2e.Get("v")); err != nil {
		return fail("e2e: %v", err)
	}
	// Post-quantum parameters count from ratchet version 3. A proposal
	// (kem_key) is ignored (GC-PQ-1); an acceptance (kem_ct) has no place in
	// an invitation, and upstream rejects it.
	if uint16(inv.E2EVersions.Max) >= ratchet.VersionPQ && e2e.Has("kem_key") {
		if _, err := smp.DecodeB64(e2e.Get("kem_key")); err != nil {
			return fail("e2e kem_key: %v", err)
		}
		if e2e.Has("kem_ct") {
			return fail("e2e kem_ct in an invitation")
		}
	}
	keys := strings.Split(e2e.Get("x3dh"), ",")
	if len(keys) != 2 {
		return fail("x3dh needs two keys")
	}
	for i, k := range keys {
		der, err := smp.DecodeB64(k)
		if err != nil {
			return fail("x3dh key: %v", err)
		}
		pk, err := smpcrypto.ParseSPKIAlg(der, smpcrypto.X448)
		if err != nil {
			return fail("x3dh key: %v", err)
		}
		if i == 0 {
			inv.E2EKey1 = pk
		} else {
			inv.E2EKey2 = pk
		}
	}
	return inv, nil
}

// linkData is what invitation and contact links share (GC-LINK-1, GC-LINK-2).
type linkData struct {
	versions smp.VersionRange
	queues   []smp.QueueURI
	data     *string
	vals     url.Values
}

// parseLink reads scheme "/" mode ["/"] "#/?" query and the parameters both
// kinds of link carry.
func parseLink(text, mode string) (linkData, error) {
	var d linkData
	i := strings.Index(text, "/"+mode)
	if i < 0 {
		return d, fmt.Errorf("not a %s link", mode)
	}
	scheme := text[:i]
	if host, ok := strings.CutPrefix(scheme, "https://"); !(scheme == "simplex:" || ok && host != "" && !strings.ContainsAny(host, "/#?")) {
		return d, fmt.Errorf("scheme %q", scheme)
	}
	rest := strings.TrimPrefix(text[i+1+len(mode):], "/")
	query, ok := strings.CutPrefix(rest, "#/?")
	if !ok {
		return d, fmt.Errorf("no #/? before the parameters")
	}
	var err error
	if d.vals, err = url.ParseQuery(query); err != nil {
		return d, err
	}
	if d.versions, err = smp.ParseVersionText(d.vals.Get("v")); err != nil {
		return d, err
	}
	for _, q := range strings.Split(d.vals.Get("smp"), ";") {
		uri, err := smp.ParseQueueURI(q)
		if err != nil {
			return d, fmt.Errorf("queue: %w", err)
		}
		d.queues = append(d.queues, uri)
	}
	if d.vals.Has("data") {
		v := d.vals.Get("data")
		d.data = &v
	}
	return d, nil
}

// params is the initiator's ratchet params at the version a joiner uses.
func (inv Invitation) params(v uint16) ratchet.Params {
	return ratchet.Params{Version: v, Key1: inv.E2EKey1, Key2: inv.E2EKey2}
}

// Contact is a contact address link: the owner's contact queues, no
// ratchet keys (those come in the invitation a requester sends).
type Contact struct {
	Scheme        string
	AgentVersions smp.VersionRange
	Queues        []smp.QueueURI
	ClientData    *string // data=, e.g. a group link's JSON; kept as is
}

// String returns scheme/contact#/?v=A&smp=Q1;Q2[&data=D].
func (c Contact) String() string {
	qs := make([]string, len(c.Queues))
	for i, q := range c.Queues {
		qs[i] = q.String()
	}
	s := c.Scheme
	if s == "" {
		s = "simplex:"
	}
	out := s + "/contact#/?v=" + smp.QueryEscape(c.AgentVersions.Text()) + "&smp=" + smp.QueryEscape(strings.Join(qs, ";"))
	if c.ClientData != nil {
		out += "&data=" + smp.QueryEscape(*c.ClientData)
	}
	return out
}

// ParseContact parses a contact address link. As upstream does, the result
// has Scheme "simplex:" and an agent range raised to start at
// AgentVersionMin: links published for version 1 still work (GC-LINK-2).
func ParseContact(text string) (Contact, error) {
	d, err := parseLink(text, "contact")
	if err != nil {
		return Contact{}, fmt.Errorf("agent: contact link: %w", err)
	}
	return Contact{Scheme: "simplex:", AgentVersions: raiseContactRange(d.versions), Queues: d.queues, ClientData: d.data}, nil
}

// raiseContactRange moves the range's min up to AgentVersionMin, and its max
// with it when lower.
func raiseContactRange(vr smp.VersionRange) smp.VersionRange {
	lo := max(vr.Min, smp.Version(AgentVersionMin))
	return smp.VersionRange{Min: lo, Max: max(lo, vr.Max)}
}

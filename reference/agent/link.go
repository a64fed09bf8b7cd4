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

// ParseInvitation parses a one-time link.
func ParseInvitation(text string) (Invitation, error) {
	fail := func(format string, args ...any) (Invitation, error) {
		return Invitation{}, fmt.Errorf("agent: invitation link: %s", fmt.Sprintf(format, args...))
	}
	i := strings.Index(text, "/invitation")
	if i < 0 {
		return fail("not an invitation link")
	}
	inv := Invitation{Scheme: text[:i]}
	if inv.Scheme != "simplex:" && !strings.HasPrefix(inv.Scheme, "https://") {
		return fail("scheme %q", inv.Scheme)
	}
	rest := strings.TrimPrefix(text[i+len("/invitation"):], "/")
	query, ok := strings.CutPrefix(rest, "#/?")
	if !ok {
		return fail("no #/? before the parameters")
	}
	vals, err := url.ParseQuery(query)
	if err != nil {
		return fail("%v", err)
	}
	if inv.AgentVersions, err = smp.ParseVersionText(vals.Get("v")); err != nil {
		return fail("%v", err)
	}
	for _, q := range strings.Split(vals.Get("smp"), ";") {
		uri, err := smp.ParseQueueURI(q)
		if err != nil {
			return fail("queue: %v", err)
		}
		inv.Queues = append(inv.Queues, uri)
	}
	e2e, err := url.ParseQuery(vals.Get("e2e"))
	if err != nil {
		return fail("e2e: %v", err)
	}
	if inv.E2EVersions, err = smp.ParseVersionText(e2e.Get("v")); err != nil {
		return fail("e2e: %v", err)
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
	if vals.Has("data") {
		d := vals.Get("data")
		inv.ClientData = &d
	}
	return inv, nil
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
}

// String returns scheme/contact#/?v=A&smp=Q1;Q2.
func (c Contact) String() string {
	qs := make([]string, len(c.Queues))
	for i, q := range c.Queues {
		qs[i] = q.String()
	}
	s := c.Scheme
	if s == "" {
		s = "simplex:"
	}
	return s + "/contact#/?v=" + smp.QueryEscape(c.AgentVersions.Text()) + "&smp=" + smp.QueryEscape(strings.Join(qs, ";"))
}

// ParseContact parses a contact address link.
func ParseContact(text string) (Contact, error) {
	i := strings.Index(text, "/contact")
	if i < 0 {
		return Contact{}, fmt.Errorf("agent: not a contact link")
	}
	c := Contact{Scheme: text[:i]}
	if c.Scheme != "simplex:" && !strings.HasPrefix(c.Scheme, "https://") {
		return Contact{}, fmt.Errorf("agent: contact link scheme %q", c.Scheme)
	}
	query, ok := strings.CutPrefix(strings.TrimPrefix(text[i+len("/contact"):], "/"), "#/?")
	if !ok {
		return Contact{}, fmt.Errorf("agent: contact link: no #/?")
	}
	vals, err := url.ParseQuery(query)
	if err != nil {
		return Contact{}, fmt.Errorf("agent: contact link: %w", err)
	}
	if c.AgentVersions, err = smp.ParseVersionText(vals.Get("v")); err != nil {
		return Contact{}, fmt.Errorf("agent: contact link: %w", err)
	}
	for _, q := range strings.Split(vals.Get("smp"), ";") {
		uri, err := smp.ParseQueueURI(q)
		if err != nil {
			return Contact{}, fmt.Errorf("agent: contact link queue: %w", err)
		}
		c.Queues = append(c.Queues, uri)
	}
	return c, nil
}

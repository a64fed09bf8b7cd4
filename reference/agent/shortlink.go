package agent

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/smpkit/smpkit/reference/smp"
)

// ShortLink is the text form of a short connection link (GC-LINK-4): the
// relay that stores the link's data, the link id (invitations only) and
// the key the data is encrypted with. Only the text form is specified
// here; fetching the data is not.
type ShortLink struct {
	// Web is true for the https://host form, whose host is the relay's
	// first host; false for "simplex:".
	Web bool
	// Type is 'i' for a one-time invitation, or a contact address type:
	// 'a' contact, 'c' channel, 'g' group, 'r' relay.
	Type byte
	// Server may have no key hash and no port (a preset relay named by its
	// host alone).
	Server  smp.Server
	LinkID  []byte // invitations only
	LinkKey []byte
}

var rawB64 = base64.RawURLEncoding

// String prints scheme "/" type "#" [linkID "/"] linkKey ["?" h, p, c].
func (l ShortLink) String() string {
	var b strings.Builder
	hosts := l.Server.Hosts
	if l.Web {
		b.WriteString("https://")
		if len(hosts) > 0 {
			b.WriteString(hosts[0])
			hosts = hosts[1:]
		}
	} else {
		b.WriteString("simplex:")
	}
	b.WriteByte('/')
	b.WriteByte(l.Type)
	b.WriteByte('#')
	if len(l.LinkID) > 0 {
		b.WriteString(rawB64.EncodeToString(l.LinkID))
		b.WriteByte('/')
	}
	b.WriteString(rawB64.EncodeToString(l.LinkKey))
	var params []string
	if len(hosts) > 0 {
		params = append(params, "h="+smp.QueryEscape(strings.Join(hosts, ",")))
	}
	if l.Server.Port != "" {
		params = append(params, "p="+smp.QueryEscape(l.Server.Port))
	}
	if len(l.Server.KeyHash) > 0 {
		params = append(params, "c="+smp.QueryEscape(rawB64.EncodeToString(l.Server.KeyHash)))
	}
	if len(params) > 0 {
		b.WriteByte('?')
		b.WriteString(strings.Join(params, "&"))
	}
	return b.String()
}

// ParseShortLink parses the text form of GC-LINK-4.
func ParseShortLink(text string) (ShortLink, error) {
	fail := func(format string, args ...any) (ShortLink, error) {
		return ShortLink{}, fmt.Errorf("agent: short link: %s", fmt.Sprintf(format, args...))
	}
	var l ShortLink
	var webHost string
	rest, ok := strings.CutPrefix(text, "simplex:")
	if !ok {
		if rest, ok = strings.CutPrefix(text, "https://"); !ok {
			return fail("scheme")
		}
		h, tail, err := smp.ParseHost(rest)
		if err != nil {
			return fail("host: %v", err)
		}
		l.Web, webHost, rest = true, h, tail
	}
	rest, ok = strings.CutPrefix(rest, "/")
	if !ok || rest == "" {
		return fail("no / and type")
	}
	switch c := rest[0] | 0x20; c {
	case 'a', 'c', 'g', 'r', 'i':
		l.Type = c
	default:
		return fail("type %q", rest[0])
	}
	if l.Type == 'i' && rest[0] != 'i' {
		return fail("type %q", rest[0])
	}
	rest = strings.TrimPrefix(rest[1:], "/")
	rest, ok = strings.CutPrefix(rest, "#")
	if !ok {
		return fail("no #")
	}
	frag, query, hasQuery := strings.Cut(rest, "?")
	var err error
	if l.Type == 'i' {
		id, key, ok := strings.Cut(frag, "/")
		if !ok {
			return fail("no / between the link id and key")
		}
		if l.LinkID, err = smp.DecodeB64(id); err != nil {
			return fail("link id: %v", err)
		}
		frag = key
	}
	if l.LinkKey, err = smp.DecodeB64(frag); err != nil {
		return fail("link key: %v", err)
	}
	if webHost != "" {
		l.Server.Hosts = []string{webHost}
	}
	if hasQuery {
		vals, err := url.ParseQuery(query)
		if err != nil {
			return fail("parameters: %v", err)
		}
		if h := vals.Get("h"); h != "" {
			for _, x := range strings.Split(h, ",") {
				hh, tail, err := smp.ParseHost(x)
				if err != nil || tail != "" {
					return fail("host %q", x)
				}
				l.Server.Hosts = append(l.Server.Hosts, hh)
			}
		}
		if p := vals.Get("p"); vals.Has("p") {
			n, err := strconv.ParseUint(p, 10, 16)
			if err != nil {
				return fail("port %q", p)
			}
			l.Server.Port = strconv.FormatUint(n, 10)
		}
		if c := vals.Get("c"); vals.Has("c") {
			if l.Server.KeyHash, err = smp.DecodeB64(c); err != nil {
				return fail("key hash: %v", err)
			}
		}
	}
	if len(l.Server.Hosts) == 0 {
		return fail("no relay host")
	}
	return l, nil
}

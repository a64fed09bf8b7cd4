package smp

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/smpkit/smpkit/reference/smpcrypto"
)

// Client (envelope) versions that change the queue URI (spec §1.2, §12.2).
const (
	clientVersionHostnames  = 2 // all hosts in the address part
	clientVersionShortLinks = 4 // q= replaces k=s
)

// QueueURI is the out-of-band description of a queue a sender needs
// (SMP-URI-1): the relay, the sender id, the client version range, the
// recipient's end-to-end X25519 key and the queue mode, if known.
type QueueURI struct {
	Server   Server
	SenderID []byte
	// Versions is the client (envelope) version range, not a relay range.
	Versions VersionRange
	DHKey    smpcrypto.PublicKey
	Mode     *QueueMode
}

// QueryEscape escapes a query value as SimpleX links do: letters, digits
// and -._~ stay, every other byte becomes %XX with upper-case hex.
func QueryEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// Text is the range as links write it: "min-max", or one number when
// min = max.
func (vr VersionRange) Text() string {
	if vr.Min == vr.Max {
		return strconv.Itoa(int(vr.Min))
	}
	return fmt.Sprintf("%d-%d", vr.Min, vr.Max)
}

// ParseVersionText reads Text's form; 0 is not a version.
func ParseVersionText(s string) (VersionRange, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	if !isRange {
		hi = lo
	}
	a, err1 := strconv.ParseUint(lo, 10, 16)
	z, err2 := strconv.ParseUint(hi, 10, 16)
	if err1 != nil || err2 != nil || a > z || a == 0 {
		return VersionRange{}, fmt.Errorf("version range %q", s)
	}
	return VersionRange{Min: Version(a), Max: Version(z)}, nil
}

// String returns the text form of SMP-URI-1.
func (q QueueURI) String() string {
	srv := q.Server
	var extra []string
	if q.Versions.Min < clientVersionHostnames && len(srv.Hosts) > 1 {
		extra = srv.Hosts[1:]
		srv.Hosts = srv.Hosts[:1]
	}
	params := [][2]string{{"v", q.Versions.Text()}, {"dh", EncodeB64(q.DHKey.SPKI())}}
	if q.Mode != nil {
		params = append(params, [2]string{"q", strings.ToLower(string(rune(*q.Mode)))})
	}
	if q.Mode != nil && *q.Mode == QueueMessaging && q.Versions.Min < clientVersionShortLinks {
		params = append(params, [2]string{"k", "s"})
	}
	if len(extra) > 0 {
		params = append(params, [2]string{"srv", strings.Join(extra, ",")})
	}
	var b strings.Builder
	b.WriteString(srv.String())
	b.WriteByte('/')
	b.WriteString(EncodeB64(q.SenderID))
	b.WriteString("#/?")
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(QueryEscape(p[0]))
		b.WriteByte('=')
		b.WriteString(QueryEscape(p[1]))
	}
	return b.String()
}

// ParseQueueURI parses the text form of SMP-URI-1.
func ParseQueueURI(text string) (QueueURI, error) {
	fail := func(format string, args ...any) (QueueURI, error) {
		return QueueURI{}, fmt.Errorf("%w: queue URI %q: %s", ErrAddress, clip(text), fmt.Sprintf(format, args...))
	}
	rest, ok := strings.CutPrefix(text, "smp://")
	if !ok {
		return fail("scheme must be smp://")
	}
	sa, rest, err := parseServerPrefix(text, rest)
	if err != nil {
		return QueueURI{}, err
	}
	if sa.HasAuth {
		return fail("a password is not allowed in a queue URI")
	}
	rest, ok = strings.CutPrefix(rest, "/")
	if !ok {
		return fail("no / after the relay address")
	}
	hash := strings.IndexByte(rest, '#')
	if hash < 0 {
		return fail("no # before the parameters")
	}
	sid, err := DecodeB64(strings.TrimSuffix(rest[:hash], "/"))
	if err != nil || len(sid) == 0 {
		return fail("sender id: %v", err)
	}
	query, ok := strings.CutPrefix(rest[hash+1:], "/?")
	if !ok {
		if query, ok = strings.CutPrefix(rest[hash+1:], "?"); !ok {
			return fail("no ? before the parameters")
		}
	}
	vals, err := url.ParseQuery(query)
	if err != nil {
		return fail("parameters: %v", err)
	}
	q := QueueURI{Server: sa.Server, SenderID: sid}
	if q.Versions, err = ParseVersionText(vals.Get("v")); err != nil {
		return fail("%v", err)
	}
	spki, err := DecodeB64(vals.Get("dh"))
	if err != nil {
		return fail("dh: %v", err)
	}
	if q.DHKey, err = smpcrypto.ParseSPKIAlg(spki, smpcrypto.X25519); err != nil {
		return fail("dh: %v", err)
	}
	switch m := vals.Get("q"); {
	case m == "m":
		q.Mode = ptrMode(QueueMessaging)
	case m == "c":
		q.Mode = ptrMode(QueueContact)
	case m != "":
		return fail("queue mode %q", m)
	case vals.Get("k") == "s":
		q.Mode = ptrMode(QueueMessaging)
	}
	if srv := vals.Get("srv"); srv != "" {
		for _, h := range strings.Split(srv, ",") {
			hh, tail, err := parseHost(h)
			if err != nil || tail != "" {
				return fail("srv host %q", h)
			}
			q.Server.Hosts = append(q.Server.Hosts, hh)
		}
	}
	return q, nil
}

func ptrMode(m QueueMode) *QueueMode { return &m }

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

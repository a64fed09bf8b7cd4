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

// ParseQueueURI parses the text form of SMP-URI-1, and the legacy forms
// deployed clients still read (SMP-URI-2): the recipient's key right after
// "#", alone (client version 1) or followed by "/?" or "?" and the query.
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
	// A key before the query (or instead of it) is the legacy form.
	keyText, query, hasQuery := strings.Cut(rest[hash+1:], "?")
	q := QueueURI{Server: sa.Server, SenderID: sid}
	var vals url.Values
	if !hasQuery {
		// Only the key: client version 1, no mode.
		q.Versions = VersionRange{Min: 1, Max: 1}
	} else {
		keyText = strings.TrimSuffix(keyText, "/")
		if vals, err = url.ParseQuery(query); err != nil {
			return fail("parameters: %v", err)
		}
		if q.Versions, err = ParseVersionText(vals.Get("v")); err != nil {
			return fail("%v", err)
		}
		if keyText == "" {
			keyText = vals.Get("dh")
		}
	}
	spki, err := DecodeB64(keyText)
	if err != nil {
		return fail("dh: %v", err)
	}
	if q.DHKey, err = smpcrypto.ParseSPKIAlg(spki, smpcrypto.X25519); err != nil {
		return fail("dh: %v", err)
	}
	// An unknown q value is no mode, as in the reference parser.
	switch m := vals.Get("q"); {
	case m == "m":
		q.Mode = ptrMode(QueueMessaging)
	case m == "c":
		q.Mode = ptrMode(QueueContact)
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
	if q.Versions.Max < clientVersionHostnames {
		q.Server.Hosts = AddPresetOnion(q.Server.Hosts)
	}
	return q, nil
}

// knownOnions are the onion hosts of preset relays that links made for
// client version 1 omit; the reference client adds them back when such a
// link names only the relay's public host (SMP-URI-2).
var knownOnions = map[string]string{
	"smp4.simplex.im":  "o5vmywmrnaxalvz6wi3zicyftgio6psuvyniis6gco6bp6ekl4cqj4id.onion",
	"smp5.simplex.im":  "jjbyvoemxysm7qxap7m5d5m35jzv5qq6gnlv7s4rsn7tdwwmuqciwpid.onion",
	"smp6.simplex.im":  "bylepyau3ty4czmn77q4fglvperknl4bi2eb2fdy2bh4jxtf32kf73yd.onion",
	"smp8.simplex.im":  "beccx4yfxxbvyhqypaavemqurytl6hozr47wfc7uuecacjqdvwpw2xid.onion",
	"smp9.simplex.im":  "jssqzccmrcws6bhmn77vgmhfjmhwlyr3u7puw4erkyoosywgl67slqqd.onion",
	"smp10.simplex.im": "rb2pbttocvnbrngnwziclp2f4ckjq65kebafws6g4hy22cdaiv5dwjqd.onion",
}

// AddPresetOnion returns hosts with the preset relay's onion host added when
// hosts is exactly the public host of a preset relay (SMP-URI-1); a reader
// of client version 1 queue descriptions applies it too (GC-ENV-5).
func AddPresetOnion(hosts []string) []string {
	if len(hosts) == 1 {
		if o, ok := knownOnions[hosts[0]]; ok {
			return []string{hosts[0], o}
		}
	}
	return hosts
}

func ptrMode(m QueueMode) *QueueMode { return &m }

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

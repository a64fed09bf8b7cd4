package smp

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Text forms of relay addresses (spec §12.1, SMP-ADDR-1..3).

// ErrAddress is matched by every address parsing error.
var ErrAddress = errors.New("smp: invalid server address")

func addrErr(s, format string, args ...any) error {
	return fmt.Errorf("%w %q: %s", ErrAddress, s, fmt.Sprintf(format, args...))
}

// b64 is base64url with '=' padding, the text form of binary values; parsers
// also accept it without padding.
var b64 = base64.URLEncoding

// EncodeB64 returns the padded base64url text of b.
func EncodeB64(b []byte) string { return b64.EncodeToString(b) }

// DecodeB64 decodes base64url text with or without '=' padding. The text
// must be made of the url alphabet followed by at most two '='.
func DecodeB64(s string) ([]byte, error) {
	body := strings.TrimRight(s, "=")
	if len(s)-len(body) > 2 || body == "" {
		return nil, fmt.Errorf("bad base64url %q", s)
	}
	for i := 0; i < len(body); i++ {
		if !isB64URL(body[i]) {
			return nil, fmt.Errorf("bad base64url character %q", body[i])
		}
	}
	out, err := base64.RawURLEncoding.Strict().DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("bad base64url %q: %w", s, err)
	}
	if len(s) != len(body) && b64.EncodeToString(out) != s {
		return nil, fmt.Errorf("bad base64url padding in %q", s)
	}
	return out, nil
}

func isB64URL(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// String returns the text form smp://identity@host1,host2[:port].
func (s Server) String() string {
	return ServerWithAuth{Server: s}.String()
}

// ServerWithAuth is a relay address that may carry the password (basic auth)
// the relay requires for creating queues.
type ServerWithAuth struct {
	Server
	BasicAuth string
	HasAuth   bool
}

// String returns smp://identity[:password]@hosts[:port].
func (s ServerWithAuth) String() string {
	var b strings.Builder
	b.WriteString("smp://")
	b.WriteString(EncodeB64(s.KeyHash))
	if s.HasAuth {
		b.WriteByte(':')
		b.WriteString(s.BasicAuth)
	}
	b.WriteByte('@')
	b.WriteString(strings.Join(s.Hosts, ","))
	if s.Port != "" {
		b.WriteByte(':')
		b.WriteString(s.Port)
	}
	return b.String()
}

// ParseServer parses a relay address without a password.
func ParseServer(text string) (Server, error) {
	sa, err := ParseServerWithAuth(text)
	if err != nil {
		return Server{}, err
	}
	if sa.HasAuth {
		return Server{}, addrErr(text, "a password is not allowed here")
	}
	return sa.Server, nil
}

// ParseServerWithAuth parses a relay address that may carry a password.
// Hosts and port are kept in their canonical form (what String prints).
func ParseServerWithAuth(text string) (ServerWithAuth, error) {
	rest, ok := strings.CutPrefix(text, "smp://")
	if !ok {
		return ServerWithAuth{}, addrErr(text, "scheme must be smp://")
	}
	sa, rest, err := parseServerPrefix(text, rest)
	if err != nil {
		return ServerWithAuth{}, err
	}
	if rest != "" {
		return ServerWithAuth{}, addrErr(text, "unexpected %q after the address", rest)
	}
	return sa, nil
}

// parseServerPrefix parses what follows "smp://" up to the end of the port
// and returns the rest (a queue URI continues with "/").
func parseServerPrefix(text, s string) (ServerWithAuth, string, error) {
	var sa ServerWithAuth
	i := 0
	for i < len(s) && (isB64URL(s[i]) || s[i] == '=') {
		i++
	}
	kh, err := DecodeB64(s[:i])
	if err != nil {
		return sa, "", addrErr(text, "identity: %v", err)
	}
	// Any length parses, as in the reference parser; a key hash that is not
	// 32 bytes never matches a certificate, so the handshake rejects it.
	sa.KeyHash = kh
	s = s[i:]
	if strings.HasPrefix(s, ":") {
		at := strings.IndexByte(s, '@')
		if at < 0 {
			return sa, "", addrErr(text, "no @ after the password")
		}
		pw := s[1:at]
		if err := ValidBasicAuth(pw); err != nil {
			return sa, "", addrErr(text, "%v", err)
		}
		sa.BasicAuth, sa.HasAuth = pw, true
		s = s[at:]
	}
	if !strings.HasPrefix(s, "@") {
		return sa, "", addrErr(text, "no @ after the identity")
	}
	s = s[1:]
	for {
		h, rest, err := parseHost(s)
		if err != nil {
			return sa, "", addrErr(text, "host %d: %v", len(sa.Hosts)+1, err)
		}
		sa.Hosts = append(sa.Hosts, h)
		s = rest
		if !strings.HasPrefix(s, ",") {
			break
		}
		s = s[1:]
	}
	if strings.HasPrefix(s, ":") {
		j := 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		port, err := canonicalPort(s[1:j])
		if err != nil {
			return sa, "", addrErr(text, "%v", err)
		}
		sa.Port = port
		s = s[j:]
	}
	return sa, s, nil
}

func canonicalPort(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty port")
	}
	if len(p) > 5 {
		return "", fmt.Errorf("port %q above 65535", p)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n > 65535 {
		return "", fmt.Errorf("port %q is not 0-65535", p)
	}
	return strconv.Itoa(n), nil
}

// ValidBasicAuth checks a relay password: printable ASCII without space,
// '@', ':' or '/'.
func ValidBasicAuth(pw string) error {
	if pw == "" {
		return fmt.Errorf("empty password")
	}
	for i := 0; i < len(pw); i++ {
		c := pw[i]
		if c <= ' ' || c >= 0x7f || c == '@' || c == ':' || c == '/' {
			return fmt.Errorf("password character %q not allowed", c)
		}
	}
	return nil
}

// ValidHost checks that h is exactly one host in canonical form (SMP-ADDR-3).
func ValidHost(h string) error {
	c, rest, err := parseHost(h)
	if err != nil {
		return err
	}
	if rest != "" {
		return fmt.Errorf("host %q: unexpected %q", h, rest)
	}
	if c != h {
		return fmt.Errorf("host %q is not in canonical form %q", h, c)
	}
	return nil
}

// domainStop are the bytes that end a domain name.
const domainStop = ":#,;/ \n\r\t"

// parseHost reads one host from the start of s, trying the forms of
// SMP-ADDR-3 in order, and returns its canonical text and the rest of s.
func parseHost(s string) (host, rest string, err error) {
	if h, r, ok := parseIPv4(s); ok {
		return h, r, nil
	}
	if h, r, ok := parseIPv6(s); ok {
		return h, r, nil
	}
	i := 0
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= '0' && s[i] <= '9') {
		i++
	}
	if strings.HasPrefix(s[i:], ".onion") {
		return s[:i+6], s[i+6:], nil
	}
	i = 0
	for i < len(s) && !strings.ContainsRune(domainStop, rune(s[i])) {
		i++
	}
	if i == 0 {
		return "", s, fmt.Errorf("empty host")
	}
	d := s[:i]
	if strings.HasSuffix(d, ".onion") {
		return "", s, fmt.Errorf("invalid onion host %q", d)
	}
	return d, s[i:], nil
}

func parseIPv4(s string) (string, string, bool) {
	var parts [4]int
	i := 0
	for k := range 4 {
		if k > 0 {
			if i >= len(s) || s[i] != '.' {
				return "", "", false
			}
			i++
		}
		j := i
		n := 0
		for j < len(s) && s[j] >= '0' && s[j] <= '9' && j-i < 4 {
			n = n*10 + int(s[j]-'0')
			j++
		}
		if j == i || n > 255 {
			return "", "", false
		}
		parts[k] = n
		i = j
	}
	// As in the reference parser, a dotted quad is taken as an IPv4 address
	// even when name characters follow: the address then fails to parse.
	return fmt.Sprintf("%d.%d.%d.%d", parts[0], parts[1], parts[2], parts[3]), s[i:], true
}

func parseIPv6(s string) (string, string, bool) {
	var lit, rest string
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 2 {
			return "", "", false
		}
		lit, rest = s[1:end], s[end+1:]
	} else {
		i := 0
		for i < len(s) && (s[i] == ':' || s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f' || s[i] >= 'A' && s[i] <= 'F') {
			i++
		}
		lit, rest = s[:i], s[i:]
	}
	a, err := netip.ParseAddr(lit)
	if err != nil || !a.Is6() || a.Zone() != "" {
		return "", "", false
	}
	return a.String(), rest, true
}

// ParseHost reads one host (SMP-ADDR-3) from the start of s and returns its
// canonical text and the rest of s.
func ParseHost(s string) (host, rest string, err error) { return parseHost(s) }

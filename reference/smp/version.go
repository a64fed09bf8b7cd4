package smp

import (
	"fmt"

	"github.com/smpkit/smpkit/reference/wire"
)

// Version is an SMP relay protocol version, a Word16 on the wire.
type Version uint16

// Version gates, named as in spec/smp.md §1 "Versions" (table of gates).
const (
	VersionMin              Version = 6  // first version this codec speaks
	VersionAuthCmds         Version = 7  // session id implied; server signed DH key; X25519 authenticators
	VersionSendingProxy     Version = 8  // PRXY/PFWD/RFWD
	VersionSndAuthKey       Version = 9  // SKEY; NEW sndSecure flag
	VersionDeletedEvent     Version = 10 // DELD event
	VersionEncryptedBlock   Version = 11 // per-block secretbox chain
	VersionBlockedEntity    Version = 12 // ERR BLOCKED
	VersionProxyServerHello Version = 14 // proxyServer flag in the client hello
	VersionShortLinks       Version = 15 // queue modes and link data
	VersionServiceCerts     Version = 16 // service certificates and service signatures
	VersionNewNtfCreds      Version = 17 // notifier credentials in NEW/IDS
	VersionClientNotices    Version = 18 // notice in ERR BLOCKED
	VersionMax              Version = 18 // last version this codec speaks
)

// VersionRange is an inclusive range of versions: min Word16 ‖ max Word16.
type VersionRange struct {
	Min, Max Version
}

// SupportedRange is every version this codec speaks.
var SupportedRange = VersionRange{VersionMin, VersionMax}

// LegacyRange is what a relay offers when TLS negotiated no ALPN.
var LegacyRange = VersionRange{VersionMin, VersionMin}

// Contains reports whether v is in r.
func (r VersionRange) Contains(v Version) bool { return r.Min <= v && v <= r.Max }

// Intersect returns the common part of r and o; ok is false when empty.
func (r VersionRange) Intersect(o VersionRange) (VersionRange, bool) {
	x := VersionRange{max(r.Min, o.Min), min(r.Max, o.Max)}
	return x, x.Min <= x.Max
}

func (r VersionRange) String() string {
	if r.Min == r.Max {
		return fmt.Sprint(r.Min)
	}
	return fmt.Sprintf("%d-%d", r.Min, r.Max)
}

// Append writes min ‖ max.
func (r VersionRange) Append(b *wire.Builder) {
	b.Word16(uint16(r.Min))
	b.Word16(uint16(r.Max))
}

// ParseVersionRange reads min ‖ max; min > max is an error.
func ParseVersionRange(p *wire.Parser) VersionRange {
	r := VersionRange{Version(p.Word16()), Version(p.Word16())}
	if p.Err() == nil && r.Min > r.Max {
		p.Failf("version range %d-%d: min above max", r.Min, r.Max)
	}
	return r
}

// MaxMessageLength is the longest SEND body a relay accepts in a session of
// version v (spec: SMP-CMD-SEND-2).
func MaxMessageLength(v Version) int {
	switch {
	case v >= VersionEncryptedBlock:
		return 16048
	case v >= VersionSendingProxy:
		return 16064
	default:
		return 16088
	}
}

// String returns "v" and the number, as versions are named in the spec.
func (v Version) String() string { return fmt.Sprintf("v%d", uint16(v)) }

package chatmsg

import (
	"fmt"
	"strconv"
	"strings"
)

// Chat protocol versions this revision names (spec/chat.md §2).
const (
	VersionInitial          = 1 // CH-VER-2: the version of a message without v
	VersionGroupDirectInv   = 2 // members no longer connect directly as contacts
	VersionGroupFastLink    = 3 // group link join without a host contact
	VersionGroupForward     = 4 // x.grp.msg.forward
	VersionBatch            = 5 // JSON batches in groups
	VersionMemberProfileUpd = 7 // x.info to groups
	VersionCompression      = 8 // 'X' bodies (and PQ ratchet in the agent)
	VersionBatchDirect      = 9 // batches in direct connections, batched forwards
	VersionCurrent          = 9 // the highest version this revision speaks
)

// VersionRange is an inclusive range of chat protocol versions, written
// "min-max", or "n" when both ends are n (CH-VER-1).
type VersionRange struct {
	Min, Max uint16
}

// Supported is the range this revision advertises (CH-VER-3).
var Supported = VersionRange{VersionInitial, VersionCurrent}

// InitialRange is the range of a message that carries no v (CH-VER-2).
var InitialRange = VersionRange{VersionInitial, VersionInitial}

func (r VersionRange) String() string {
	if r.Min == r.Max {
		return strconv.Itoa(int(r.Min))
	}
	return strconv.Itoa(int(r.Min)) + "-" + strconv.Itoa(int(r.Max))
}

// ParseVersionRange parses "n" or "min-max" with min <= max, each a decimal
// Word16 without sign or leading '+'.
func ParseVersionRange(s string) (VersionRange, error) {
	lo, hi, dash := strings.Cut(s, "-")
	min, err := parseVersion(lo)
	if err != nil {
		return VersionRange{}, fmt.Errorf("version range %q: %w", s, err)
	}
	max := min
	if dash {
		if max, err = parseVersion(hi); err != nil {
			return VersionRange{}, fmt.Errorf("version range %q: %w", s, err)
		}
	}
	if min > max {
		return VersionRange{}, fmt.Errorf("version range %q: min above max", s)
	}
	return VersionRange{min, max}, nil
}

func parseVersion(s string) (uint16, error) {
	if s == "" || len(s) > 5 {
		return 0, fmt.Errorf("bad version %q", s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("bad version %q", s)
		}
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("bad version %q", s)
	}
	return uint16(n), nil
}

// Contains reports whether v is in r.
func (r VersionRange) Contains(v uint16) bool { return r.Min <= v && v <= r.Max }

// Negotiate returns the version a connection uses with a peer that
// advertised peer (CH-VER-4): the highest version both ranges hold. When they
// do not overlap, ok is false and v is the peer's end nearest to local (its
// minimum when the peer is newer, its maximum when older), which the
// connection then records as the peer's version.
func Negotiate(local, peer VersionRange) (v uint16, ok bool) {
	if local.Min <= peer.Max && peer.Min <= local.Max {
		return min(local.Max, peer.Max), true
	}
	if peer.Min > local.Max {
		return peer.Min, false
	}
	return peer.Max, false
}

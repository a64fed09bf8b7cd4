package smp

import (
	"bytes"
	"fmt"

	"github.com/smpkit/smpkit/reference/wire"
)

// A Transmission is one framed command, response or event (spec §4.4).
type Transmission struct {
	// Auth is the authorization: empty, a signature or an authenticator.
	Auth []byte
	// ServiceSig is the v16+ service signature. It is on the wire only when
	// Auth is non-empty; nil there means "no service signature" ('0').
	ServiceSig []byte
	// SessionID is sent only in v6 and must then equal the session's id;
	// in later versions it is implied and left nil by the parser.
	SessionID []byte
	CorrID    []byte
	EntityID  []byte
	// Command is the raw command, response or event bytes.
	Command []byte
}

// ServiceSigSize is the length of a service signature (Ed25519, SMP-TX-2).
const ServiceSigSize = 64

// hasServiceField reports whether the service-signature field is on the
// wire for a transmission with this authorization (SMP-TX-2).
func hasServiceField(v Version, auth []byte) bool {
	return v >= VersionServiceCerts && len(auth) > 0
}

// AppendTransmission appends t laid out for version v (SMP-TX-1, SMP-TX-2).
// Setting ServiceSig where the field does not exist is an encoding error.
func AppendTransmission(b *wire.Builder, v Version, t Transmission) {
	b.Short(t.Auth)
	switch {
	case hasServiceField(v, t.Auth):
		if t.ServiceSig == nil {
			b.Maybe(false)
		} else {
			if len(t.ServiceSig) != ServiceSigSize {
				b.SetError(fmt.Errorf("smp: service signature of %d bytes", len(t.ServiceSig)))
				return
			}
			b.Maybe(true)
			b.Short(t.ServiceSig)
		}
	case t.ServiceSig != nil:
		b.SetError(fmt.Errorf("smp: a service signature needs v%d and an authorization (v%d)", VersionServiceCerts, v))
		return
	}
	if v < VersionAuthCmds {
		b.Short(t.SessionID)
	}
	b.Short(t.CorrID)
	b.Short(t.EntityID)
	b.Tail(t.Command)
}

// EncodeTransmission returns the bytes of t at version v.
func EncodeTransmission(v Version, t Transmission) ([]byte, error) {
	b := wire.NewBuilder(nil)
	AppendTransmission(b, v, t)
	return b.Bytes()
}

// ParseTransmission splits one transmission into its fields. A framing
// failure is ERR BLOCK (SMP-TX-5). The slices alias data. The length of
// Auth is not checked here: see AuthKindOf (SMP-AUTH-3).
func ParseTransmission(v Version, data []byte) (Transmission, error) {
	p := wire.NewParser(data)
	var t Transmission
	t.Auth = p.Short()
	if p.Err() == nil && hasServiceField(v, t.Auth) && p.Maybe() {
		t.ServiceSig = p.Short()
		if p.Err() == nil && len(t.ServiceSig) != ServiceSigSize {
			p.Failf("service signature of %d bytes", len(t.ServiceSig))
		}
	}
	if v < VersionAuthCmds {
		t.SessionID = p.Short()
	}
	t.CorrID = p.Short()
	t.EntityID = p.Short()
	t.Command = p.Tail()
	if err := p.Err(); err != nil {
		return Transmission{}, wrapErr(BLOCK, "parse transmission", err)
	}
	return t, nil
}

// CheckSession reports ERR SESSION when a v6 transmission names another
// session (SMP-TX-4). Later versions carry no session id.
func (t Transmission) CheckSession(v Version, sessionID []byte) error {
	if v < VersionAuthCmds && !bytes.Equal(t.SessionID, sessionID) {
		return Errorf(SESSION, "transmission for another session")
	}
	return nil
}

// Authorized returns the bytes a transmission's authorization covers
// (SMP-AUTH-1): the same layout in every version, whether or not the session
// id is on the wire.
func Authorized(sessionID, corrID, entityID, command []byte) []byte {
	out := AppendAuthorized(make([]byte, 0, 3+len(sessionID)+len(corrID)+len(entityID)+len(command)), sessionID, corrID, entityID, command)
	if len(out) == 0 {
		return nil
	}
	return out
}

// AppendAuthorized appends Authorized(sessionID, corrID, entityID,
// command) to dst; an id too long to frame appends nothing.
func AppendAuthorized(dst, sessionID, corrID, entityID, command []byte) []byte {
	n := len(dst)
	for _, s := range [][]byte{sessionID, corrID, entityID} {
		if len(s) > wire.MaxShort {
			// Cannot be framed either; an empty result authorizes nothing.
			return dst[:n]
		}
		dst = append(dst, byte(len(s)))
		dst = append(dst, s...)
	}
	return append(dst, command...)
}

// AuthorizedBytes returns Authorized for the parsed transmission in a session.
func (t Transmission) AuthorizedBytes(sessionID []byte) []byte {
	return Authorized(sessionID, t.CorrID, t.EntityID, t.Command)
}

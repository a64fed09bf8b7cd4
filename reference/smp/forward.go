package smp

import (
	"fmt"

	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/wire"
)

// Proxied commands (spec §10): the layers a sending proxy carries between a
// client and a destination relay.

// ProxiedPadded is the padded size of a proxied inner block content, both
// ways (SMP-PROXY-4, PROXY-9); sealed it is ProxiedSize bytes.
const (
	ProxiedPadded = 16226
	ProxiedSize   = smpcrypto.TagSize + ProxiedPadded
)

// FwdTransmission is what a proxy encrypts into RFWD (SMP-PROXY-6):
// the PFWD correlation id N, the inner version, the client's per-command
// X25519 key and the client-encrypted inner block.
type FwdTransmission struct {
	CorrID  []byte
	Version Version
	Key     smpcrypto.PublicKey
	EncTx   []byte
}

// EncodeFwdTransmission returns short(N) ‖ version ‖ short(spki) ‖ et.
func EncodeFwdTransmission(f FwdTransmission) ([]byte, error) {
	b := wire.NewBuilder(nil)
	b.Short(f.CorrID)
	b.Word16(uint16(f.Version))
	checkDHKey(b, f.Key)
	appendKey(b, f.Key)
	b.Tail(f.EncTx)
	return b.Bytes()
}

// ParseFwdTransmission is the inverse of EncodeFwdTransmission.
func ParseFwdTransmission(data []byte) (FwdTransmission, error) {
	p := wire.NewParser(data)
	f := FwdTransmission{CorrID: p.Short(), Version: Version(p.Word16())}
	f.Key = parseDHKey(p)
	f.EncTx = p.Tail()
	if err := p.Finish(); err != nil {
		return FwdTransmission{}, wrapErr(CMDSyntax, "forwarded transmission", err)
	}
	return f, nil
}

// FwdResponse is what a destination relay encrypts into RRES
// (SMP-PROXY-9): N and the client-encrypted response.
type FwdResponse struct {
	CorrID []byte
	Enc    []byte
}

// EncodeFwdResponse returns short(N) ‖ r2.
func EncodeFwdResponse(f FwdResponse) ([]byte, error) {
	b := wire.NewBuilder(nil)
	b.Short(f.CorrID)
	b.Tail(f.Enc)
	return b.Bytes()
}

// ParseFwdResponse is the inverse of EncodeFwdResponse.
func ParseFwdResponse(data []byte) (FwdResponse, error) {
	p := wire.NewParser(data)
	f := FwdResponse{CorrID: p.Short(), Enc: p.Tail()}
	if err := p.Finish(); err != nil {
		return FwdResponse{}, fmt.Errorf("forwarded response: %w", err)
	}
	return f, nil
}

// SealProxied pads a block content to ProxiedPadded and seals it with the
// client–relay secret under nonce (N for commands, reverse(N) for responses).
func SealProxied(secret []byte, nonce smpcrypto.Nonce, content []byte) ([]byte, error) {
	return smpcrypto.SealPadded(secret, nonce, content, ProxiedPadded)
}

// OpenProxied reverses SealProxied.
func OpenProxied(secret []byte, nonce smpcrypto.Nonce, enc []byte) ([]byte, error) {
	return smpcrypto.OpenPadded(secret, nonce, enc)
}

package smp

import (
	"fmt"

	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/wire"
)

// ClientMsgEnvelope is what clients put in a SEND body (SMP-ENV-1). The
// relay never looks inside.
type ClientMsgEnvelope struct {
	Version uint16               // client (envelope) version, not the relay version
	DHKey   *smpcrypto.PublicKey // sender's e2e X25519 key, in confirmations only
	Nonce   smpcrypto.Nonce
	Body    []byte // end-to-end ciphertext
}

// EncodeClientMsgEnvelope returns the bytes of e.
func EncodeClientMsgEnvelope(e ClientMsgEnvelope) ([]byte, error) {
	b := wire.NewBuilder(nil)
	b.Word16(e.Version)
	b.Maybe(e.DHKey != nil)
	if e.DHKey != nil {
		checkDHKey(b, *e.DHKey)
		appendKey(b, *e.DHKey)
	}
	b.Raw(e.Nonce[:])
	b.Tail(e.Body)
	return b.Bytes()
}

// ParseClientMsgEnvelope decodes an envelope; Body aliases data.
func ParseClientMsgEnvelope(data []byte) (ClientMsgEnvelope, error) {
	p := wire.NewParser(data)
	e := ClientMsgEnvelope{Version: p.Word16()}
	if p.Maybe() {
		k := parseDHKey(p)
		e.DHKey = &k
	}
	copy(e.Nonce[:], p.Raw(smpcrypto.NonceSize))
	e.Body = p.Tail()
	if err := p.Err(); err != nil {
		return ClientMsgEnvelope{}, fmt.Errorf("parse client message envelope: %w", err)
	}
	return e, nil
}

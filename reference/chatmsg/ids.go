package chatmsg

import (
	"crypto/rand"
	"crypto/sha256"
	"io"
)

// Sizes of the random values senders make (CH-MSG-2, CH-PROBE-1).
const (
	IDLength    = 12 // shared message ids, member ids, contact request ids
	ProbeLength = 32
)

// NewID reads a fresh shared message id or member id from r (crypto/rand
// when r is nil).
func NewID(r io.Reader) ([]byte, error) { return readRandom(r, IDLength) }

// NewProbe reads a fresh duplicate-contact probe from r (CH-PROBE-1).
func NewProbe(r io.Reader) ([]byte, error) { return readRandom(r, ProbeLength) }

// ProbeHash is what x.info.probe.check carries for probe (CH-PROBE-2).
func ProbeHash(probe []byte) []byte {
	h := sha256.Sum256(probe)
	return h[:]
}

func readRandom(r io.Reader, n int) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

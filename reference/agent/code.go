package agent

import (
	"context"
	"crypto/sha256"
	"fmt"
)

// RatchetADHash is SHA-256 of the connection's ratchet associated data
// (the two parties' first X3DH keys, the joiner's first), the same on both
// sides of a connection. The chat shows it as the connection's security
// code; it changes when the ratchet is re-agreed (SyncRatchet). Upstream:
// getConnectionRatchetAdHash.
func (a *Agent) RatchetADHash(ctx context.Context, connID string) ([]byte, error) {
	c, err := a.ConnState(ctx, connID)
	if err != nil {
		return nil, err
	}
	if c.Ratchet == nil {
		return nil, fmt.Errorf("agent: connection %s has no ratchet yet", connID)
	}
	h := sha256.Sum256(c.Ratchet.AD)
	return h[:], nil
}

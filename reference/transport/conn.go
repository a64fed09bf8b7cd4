// Package transport carries SMP over TLS: relay credentials and identity, the
// session id (tls-unique), the SMP handshake for every version, and block
// reading and writing with v11 block encryption (spec/smp.md §4-5).
package transport

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
)

// TLSConn is a TLS connection that knows its SMP session id once the
// handshake is done.
type TLSConn struct {
	*tls.Conn
	rec       *recorder
	sessionID []byte
}

// TLSServer returns the server side of a TLS connection over raw. cfg is not
// modified; a per-connection copy logs this connection's key schedule to the
// session-id recovery (and to cfg.KeyLogWriter if the caller set one).
func TLSServer(raw net.Conn, cfg *tls.Config) *TLSConn {
	rec := newRecorder(raw, false, cfg.KeyLogWriter)
	c := cfg.Clone()
	c.KeyLogWriter = keyLogFunc(rec.writeKeyLog)
	return &TLSConn{Conn: tls.Server(rec, c), rec: rec}
}

// TLSClient returns the client side of a TLS connection over raw.
func TLSClient(raw net.Conn, cfg *tls.Config) *TLSConn {
	rec := newRecorder(raw, true, cfg.KeyLogWriter)
	c := cfg.Clone()
	c.KeyLogWriter = keyLogFunc(rec.writeKeyLog)
	return &TLSConn{Conn: tls.Client(rec, c), rec: rec}
}

// Handshake runs the TLS handshake and recovers the session id.
func (c *TLSConn) Handshake(ctx context.Context) error {
	if err := c.Conn.HandshakeContext(ctx); err != nil {
		c.rec.stop()
		return fmt.Errorf("tls handshake: %w", err)
	}
	sent, secret := c.rec.stop()
	id, err := sessionIDFromState(c.Conn.ConnectionState(), sent, secret)
	if err != nil {
		return err
	}
	c.sessionID = id
	return nil
}

// SessionID is tls-unique: the verify_data of the client's Finished message
// (32 bytes with a SHA-256 TLS 1.3 suite, 48 with SHA-384, 12 in TLS 1.2).
// It is nil before Handshake succeeds.
func (c *TLSConn) SessionID() []byte { return c.sessionID }

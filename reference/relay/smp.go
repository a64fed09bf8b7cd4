package relay

import (
	"crypto/tls"
	"io"

	"github.com/smpkit/smpkit/reference/transport"
)

type tlsConfig = tls.Config

// serveSMP runs SMP on an established TLS connection.
// Until the SMP handshake lands it holds the connection open until the
// client closes it.
func (r *Relay) serveSMP(c *transport.TLSConn) {
	io.Copy(io.Discard, c)
}

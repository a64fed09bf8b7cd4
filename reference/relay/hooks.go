package relay

import (
	"context"
	"time"

	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/transport"
)

// wireHooks are the hook points on the wire side of the relay, for the
// mutants of mutants_test.go: faults of the handshake, of the codec on the
// way out and of framing on the way in. Every field is nil outside tests.
type wireHooks struct {
	// handshake replaces the SMP handshake: mutants change what is offered
	// or accepted, or what happens when it fails.
	handshake func(ctx context.Context, c *transport.TLSConn, cfg transport.ServerConfig) (*transport.Session, error)
	// write replaces the sending of one group of encoded transmissions.
	write func(c *conn, group [][]byte) error
	// block may replace each received block's content before it is parsed.
	block func(c *conn, content []byte) []byte
	// config changes the configuration a mutant relay is made with, and
	// afterRestart the store of a mutant relay being restarted (both read
	// by the mutant test, not by the relay).
	config       func(*Config)
	afterRestart func(*store.Store)
	// expiring makes the mutant test run the mutant relay with this
	// message time to live and name it as the target's expiring relay
	// (conformance.Target.Expiring); read by the test, not by the relay.
	expiring time.Duration
}

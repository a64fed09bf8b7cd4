package clientcert

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/smpkit/smpkit/reference/smp"
)

func init() {
	register(
		&Case{ID: "CMD-AUTHORIZED", Group: "commands", Level: MUST, Spec: []string{"SMP-AUTH-1", "SMP-KEY-4", "SMP-TLS-7", "GC-DUPLEX-5"},
			Title: "every command the shim sends verifies with the queue's key over its session; only first SENDs are unsigned", Run: cmdAuthorized},
		&Case{ID: "CMD-SECURE-FAST", Group: "commands", Level: MUST, Spec: []string{"GC-DUPLEX-1", "GC-DUPLEX-2"},
			Title: "fast procedure: the shim secures each queue it sends to with SKEY before its first SEND there", Run: cmdSecure("fast")},
		&Case{ID: "CMD-SECURE-STANDARD", Group: "commands", Level: MUST, Spec: []string{"GC-DUPLEX-5"},
			Title: "standard procedure: the joining shim never SKEYs the initiator's queue; the initiating shim KEYs its own", Run: cmdSecure("standard")},
		&Case{ID: "CMD-ACK-EVERY-MSG", Group: "commands", Level: MUST, Spec: []string{"GC-DUPLEX-4", "SMP-DLV-1"},
			Title: "the shim sends exactly one ACK for every MSG the relay delivers to it, naming it", Run: cmdAckEvery},
		&Case{ID: "CMD-KEYS-UNIQUE", Group: "commands", Level: MUST, Spec: []string{"DRV-CLIENT-2", "SMP-KEY-4"},
			Title: "recipient, relay-DH and sender keys in NEW, KEY and SKEY are never reused across queues", Run: cmdKeysUnique},
		&Case{ID: "CMD-CORRID", Group: "commands", Level: SHOULD, Spec: []string{"SMP-NONCE-1"},
			Title: "correlation ids are 24 bytes and never repeat on a connection", Run: cmdCorrID},
		&Case{ID: "VER-PINNED", Group: "commands", Level: MUST, Spec: []string{"SMP-VER-1", "SMP-VER-3", "SMP-HS-2", "SMP-HS-5"},
			Title: "relays offering only v9, v12 or v18 get the whole exchange at that version", Run: verPinned(9, 12, smp.VersionMax)},
		&Case{ID: "VER-V6", Group: "commands", Level: SHOULD, Spec: []string{"SMP-VER-1", "SMP-AUTH-5"},
			Title: "relays offering only v6 (no session key, no queue modes) get the whole exchange, signed, without authenticators", Run: verPinned(smp.VersionMin)},
		&Case{ID: "TLS-NO-SNI", Group: "transport", Level: MUST, Spec: []string{"SMP-TLS-4"},
			Title: "the shim sends no server name indication", Run: tlsNoSNI},
	)
}

// observedTraffic runs, on recording relays, a connection in each role
// (fast as initiator, standard as joiner unless proc pins one) with a
// message and a receipt each way, and returns the shim's transmissions.
func (t *T) observedTraffic(ctx context.Context, procs ...string) ([]obsTx, error) {
	txs, _, err := t.observedPairs(ctx, procs...)
	return txs, err
}

// observedPair is a connection made by observedTraffic.
type observedPair struct {
	pair
	proc          string
	shimInitiated bool
}

func (t *T) observedPairs(ctx context.Context, procs ...string) ([]obsTx, []observedPair, error) {
	var pairs []observedPair
	if !t.observed {
		if err := t.observe(ctx); err != nil {
			return nil, nil, err
		}
	}
	if len(procs) == 0 {
		procs = []string{"fast", "standard"}
	}
	for i, proc := range procs {
		for _, initiates := range []bool{i%2 == 0, i%2 != 0} {
			p, err := t.connect(ctx, proc, initiates)
			if err != nil {
				return nil, nil, err
			}
			pairs = append(pairs, observedPair{p, proc, initiates})
			if _, _, err := t.sendToPeer(ctx, p, "observed"); err != nil {
				return nil, nil, err
			}
			if _, _, err := t.sendToShim(ctx, p, "observed back"); err != nil {
				return nil, nil, err
			}
		}
	}
	return t.OS.shimTxs(), pairs, nil
}

func (t *T) allShimTxs() []obsTx {
	return append(t.OS.shimTxs(), t.OP.shimTxs()...)
}

func cmdAuthorized(ctx context.Context, t *T) error {
	if _, err := t.observedTraffic(ctx); err != nil {
		return err
	}
	unsigned := 0
	for _, x := range t.allShimTxs() {
		tag := "unparsed"
		if x.cmd != nil {
			tag = x.cmd.Tag()
		}
		switch {
		case x.cmd == nil:
			return fmt.Errorf("the shim sent a transmission that does not parse as a command")
		case x.auth == "bad":
			return fmt.Errorf("%s on %x does not verify with the queue's key over this session (SMP-AUTH-1, SMP-TLS-7)", tag, x.entity)
		case x.auth == "none" && tag == "SEND":
			unsigned++
		case x.auth == "none" && tag != "PING":
			return fmt.Errorf("%s on %x is unauthorized", tag, x.entity)
		case x.party == "recipient" && (tag == "SEND" || tag == "SKEY"):
			return fmt.Errorf("%s authorized by a recipient key", tag)
		}
	}
	// Unsigned SENDs: the standard procedure's two confirmations only.
	if unsigned > 2 {
		return fmt.Errorf("%d unsigned SENDs; only the first SEND to an unsecured queue may be (GC-DUPLEX-5)", unsigned)
	}
	return nil
}

func cmdSecure(proc string) func(context.Context, *T) error {
	return func(ctx context.Context, t *T) error {
		_, pairs, err := t.observedPairs(ctx, proc, proc)
		if err != nil {
			return err
		}
		txs := t.allShimTxs()
		if proc == "fast" {
			// Every queue the shim sends to, it secured with SKEY first
			// (GC-DUPLEX-1 as joiner, GC-DUPLEX-2 as initiator).
			firstSend := map[string]int{}
			skey := map[string]int{}
			for i, x := range txs {
				switch x.cmd.(type) {
				case smp.CmdSEND:
					if _, ok := firstSend[string(x.entity)]; !ok {
						firstSend[string(x.entity)] = i
					}
				case smp.CmdSKEY:
					skey[string(x.entity)] = i
				case smp.CmdKEY:
					if x.secures {
						return errors.New("fast procedure: the shim secured a queue with KEY; in the fast procedure senders secure queues with SKEY (GC-DUPLEX-1)")
					}
				}
			}
			for q, s := range firstSend {
				if k, ok := skey[q]; !ok || k > s {
					return fmt.Errorf("fast procedure: the shim sent to queue %x before securing it with SKEY (GC-DUPLEX-1, GC-DUPLEX-2)", []byte(q))
				}
			}
			return nil
		}
		// Standard: as joiner, no SKEY on the initiator's queue; as
		// initiator, KEY on its own queue (GC-DUPLEX-5).
		for _, p := range pairs {
			sid := p.inv.Queues[0].SenderID
			if !p.shimInitiated {
				for _, x := range txs {
					if _, ok := x.cmd.(smp.CmdSKEY); ok && bytes.Equal(x.entity, sid) {
						return errors.New("standard procedure: the joining shim secured the initiator's queue with SKEY (GC-DUPLEX-5: it MUST NOT)")
					}
				}
				continue
			}
			t.OS.mu.Lock()
			var rid []byte
			if q := t.OS.bySnd[string(sid)]; q != nil {
				rid = q.rid
			}
			t.OS.mu.Unlock()
			keyed := false
			for _, x := range txs {
				if _, ok := x.cmd.(smp.CmdKEY); ok && x.secures && bytes.Equal(x.entity, rid) {
					keyed = true
				}
			}
			if !keyed {
				return errors.New("standard procedure: the initiating shim did not secure its own queue with KEY (GC-DUPLEX-5)")
			}
		}
		return nil
	}
}

func cmdAckEvery(ctx context.Context, t *T) error {
	if _, err := t.observedTraffic(ctx, "fast"); err != nil {
		return err
	}
	if err := t.eventually(ctx, "", func() bool {
		t.OS.mu.Lock()
		defer t.OS.mu.Unlock()
		for _, q := range t.OS.queues {
			if len(q.msgs) > 0 {
				return false
			}
		}
		return true
	}); err != nil {
		return errors.New("messages stay unacknowledged at the shim's relay (GC-DUPLEX-4)")
	}
	t.OS.mu.Lock()
	delivered := append([][]byte(nil), t.OS.shimMsgs...)
	t.OS.mu.Unlock()
	acks := map[string]int{}
	for _, x := range t.OS.shimTxs() {
		if a, ok := x.cmd.(smp.CmdACK); ok {
			acks[string(a.MsgID)]++
		}
	}
	for _, id := range delivered {
		if acks[string(id)] != 1 {
			return fmt.Errorf("MSG %x was acknowledged %d times, want once (GC-DUPLEX-4)", id, acks[string(id)])
		}
	}
	if len(acks) != len(delivered) {
		return fmt.Errorf("%d ACKs for %d delivered messages", len(acks), len(delivered))
	}
	if len(delivered) < 3 {
		return fmt.Errorf("only %d messages delivered to the shim", len(delivered))
	}
	return nil
}

func cmdKeysUnique(ctx context.Context, t *T) error {
	if _, err := t.observedTraffic(ctx); err != nil {
		return err
	}
	seen := map[string]string{}
	note := func(what string, k smp.Command, key []byte) error {
		if prev, dup := seen[string(key)]; dup {
			return fmt.Errorf("%s reuses the key of an earlier %s (DRV-CLIENT-2)", what, prev)
		}
		seen[string(key)] = what
		return nil
	}
	for _, x := range t.allShimTxs() {
		var err error
		switch c := x.cmd.(type) {
		case smp.CmdNEW:
			if err = note("NEW recipient key", c, c.RcvAuthKey.SPKI()); err == nil {
				err = note("NEW relay-DH key", c, c.RcvDHKey.SPKI())
			}
		case smp.CmdSKEY:
			err = note("SKEY sender key", c, c.SenderKey.SPKI())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func cmdCorrID(ctx context.Context, t *T) error {
	if _, err := t.observedTraffic(ctx, "fast"); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, x := range t.allShimTxs() {
		if len(x.corrID) != 24 {
			return fmt.Errorf("a correlation id of %d bytes (24 random bytes recommended)", len(x.corrID))
		}
		k := fmt.Sprint(x.conn) + string(x.corrID)
		if seen[k] || bytes.Equal(x.corrID, make([]byte, 24)) {
			return fmt.Errorf("correlation id %x repeated on a connection", x.corrID)
		}
		seen[k] = true
	}
	return nil
}

func tlsNoSNI(ctx context.Context, t *T) error {
	if _, err := t.observedTraffic(ctx, "fast"); err != nil {
		return err
	}
	for _, o := range []*obsRelay{t.OS, t.OP} {
		o.mu.Lock()
		sni := append([]string(nil), o.sni...)
		o.mu.Unlock()
		for _, s := range sni {
			if s != "" {
				return fmt.Errorf("the shim sent SNI %q (SMP-TLS-4)", s)
			}
		}
	}
	return nil
}

func verPinned(versions ...smp.Version) func(context.Context, *T) error {
	return func(ctx context.Context, t *T) error { return pinned(ctx, t, versions) }
}

func pinned(ctx context.Context, t *T, versions []smp.Version) error {
	for _, v := range versions {
		w, err := newT(ctx, t.opts)
		if err != nil {
			return err
		}
		err = func() error {
			defer w.close()
			if err := w.observeAt(ctx, smp.VersionRange{Min: v, Max: v}); err != nil {
				return err
			}
			if _, err := w.observedTraffic(ctx, "fast"); err != nil {
				return fmt.Errorf("at v%d (SMP-VER-1): %w", v, err)
			}
			for _, o := range []*obsRelay{w.OS, w.OP} {
				o.mu.Lock()
				got, kinds := o.version, o.kinds
				o.mu.Unlock()
				if got != v {
					return fmt.Errorf("offered only v%d, the shim agreed v%d (SMP-HS-5)", v, got)
				}
				if v < smp.VersionAuthCmds && kinds[fmt.Sprint(smp.AuthAuthenticator)] > 0 {
					return fmt.Errorf("at v%d, without a session key, the shim sent X25519 authenticators (SMP-AUTH-5)", v)
				}
			}
			for _, x := range w.allShimTxs() {
				if x.cmd == nil {
					return fmt.Errorf("at v%d a command does not parse in that version (SMP-VER-3)", v)
				}
			}
			return nil
		}()
		for _, l := range w.log {
			t.Logf("v%d: %s", v, l)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

package clientcert

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/smpkit/smpkit/internal/driver"
	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/store"
)

func init() {
	register(
		&Case{ID: "SUB-RELAY-RESTART", Group: "subscriptions", Level: MUST, Spec: []string{"DRV-CLIENT-1", "SMP-SUBS-4", "GC-DUPLEX-4"},
			Title: "after its relay restarts the shim subscribes again: messages queued meanwhile arrive, in order", Run: subRelayRestart},
		&Case{ID: "STATE-RESTART", Group: "agent", Level: MUST, Spec: []string{"DRV-CLIENT-3", "GC-RATCHET-2"},
			Title: "after a restart from its data directory the connection works both ways, receipts included", Run: stateRestart},
		&Case{ID: "KEYS-PER-QUEUE", Group: "agent", Level: MUST, Spec: []string{"DRV-CLIENT-2", "GC-LINK-1"},
			Title: "every queue gets its own recipient key, X25519 keys and X3DH keys", Run: keysPerQueue},
		&Case{ID: "ROTATE-BY-SHIM", Group: "agent", Level: MUST, Spec: []string{"GC-ROTATE-1"},
			Title: "the shim moves its receiving queue to another relay; messages then arrive there", Run: rotateByShim},
		&Case{ID: "ROTATE-BY-PEER", Group: "agent", Level: MUST, Spec: []string{"GC-ROTATE-1"},
			Title: "the peer moves its receiving queue; the shim answers QKEY and sends to the new queue only", Run: rotateByPeer},
		&Case{ID: "RESYNC-BY-SHIM", Group: "agent", Level: MUST, Spec: []string{"GC-RESYNC-1"},
			Title: "the shim starts ratchet resynchronisation; both sides re-agree and messages flow both ways", Run: resync(true)},
		&Case{ID: "RESYNC-BY-PEER", Group: "agent", Level: MUST, Spec: []string{"GC-RESYNC-1"},
			Title: "the peer starts ratchet resynchronisation; the shim replies and messages flow both ways", Run: resync(false)},
		&Case{ID: "DELETE-CONN", Group: "agent", Level: SHOULD, Spec: []string{"DRV-CMD-1", "SMP-DEL-1"},
			Title: "delete removes the connection's receiving queue from the relay", Run: deleteConn},
		&Case{ID: "ROBUST-GARBAGE-BEFORE-CONF", Group: "robustness", Level: MUST, Spec: []string{"GC-QUEUE-3", "GC-QUEUE-1", "SMP-ENV-1", "DRV-EVT-1", "DRV-EVT-2"},
			Title: "malformed bodies on the invitation queue are rejected; the real confirmation after them works", Run: garbageBeforeConf},
		&Case{ID: "ROBUST-KEY-BEFORE-CONF", Group: "robustness", Level: SHOULD, Spec: []string{"GC-QUEUE-3", "GC-QUEUE-4"},
			Title: "a keyed envelope that does not open does not take the queue's confirmation key", Run: keyBeforeConf},
		&Case{ID: "ROBUST-REPLAY-AND-GARBAGE", Group: "robustness", Level: MUST, Spec: []string{"GC-RATCHET-8", "GC-RATCHET-9", "GC-QUEUE-3", "GC-DUPLEX-4", "DRV-EVT-1"},
			Title: "a replayed message and malformed bodies in the queue are rejected, acknowledged, and the next good one arrives", Run: replayAndGarbage},
	)
}

// resubscribe tells the shim its relay restarted (DRV-CLIENT-1).
func (t *T) resubscribe(ctx context.Context) error {
	if t.shim.unsupported[driver.CmdSubscribe] {
		return nil // the shim resubscribes by itself
	}
	_, err := t.call(ctx, driver.Msg{Cmd: driver.CmdSubscribe})
	return err
}

func subRelayRestart(ctx context.Context, t *T) error {
	p, err := t.connect(ctx, "fast", true)
	if err != nil {
		return err
	}
	t.S.stop()
	if err := t.S.start(); err != nil {
		return err
	}
	var ids []int64
	for i := 0; i < 2; i++ {
		id, err := t.peerSend(ctx, p, fmt.Sprintf("while away %d", i))
		if err != nil {
			return fmt.Errorf("peer send: %w", err)
		}
		ids = append(ids, id)
	}
	if err := t.resubscribe(ctx); err != nil {
		return err
	}
	for i, id := range ids {
		m, err := t.shimEvent(ctx, driver.EvMsg, p.shim)
		if err != nil {
			return fmt.Errorf("after the relay restart: %w (DRV-CLIENT-1: SUB again)", err)
		}
		if m.MsgID != id || driver.Val(m.Body) != fmt.Sprintf("while away %d", i) {
			return fmt.Errorf("after the relay restart got %s, want message %d", brief(m), id)
		}
	}
	if _, _, err := t.sendToShim(ctx, p, "after the restart"); err != nil {
		return err
	}
	_, _, err = t.sendToPeer(ctx, p, "the shim still sends")
	return err
}

func stateRestart(ctx context.Context, t *T) error {
	if t.startShim(ctx, t.S.Server); t.shim == nil {
		return errors.New("no shim")
	}
	if err := t.need(driver.CmdRestart); err != nil {
		return err
	}
	p, err := t.connect(ctx, "fast", false)
	if err != nil {
		return err
	}
	if _, _, err := t.sendToShim(ctx, p, "before the restart"); err != nil {
		return err
	}
	if _, err := t.call(ctx, driver.Msg{Cmd: driver.CmdRestart}); err != nil {
		return err
	}
	id, e, err := t.sendToPeer(ctx, p, "after the restart")
	if err != nil {
		return fmt.Errorf("after restart (GC-RATCHET-2): %w", err)
	}
	if err := t.peer.ag.Ack(ctx, p.peer, e.MsgID); err != nil {
		return err
	}
	if r, err := t.shimEvent(ctx, driver.EvRcvd, p.shim); err != nil || r.MsgID != id {
		return fmt.Errorf("after restart, the receipt for %d: %v %s", id, err, brief(r))
	}
	pid, _, err := t.sendToShim(ctx, p, "to the restarted shim")
	if err != nil {
		return fmt.Errorf("after restart (GC-RATCHET-2): %w", err)
	}
	if _, err := t.call(ctx, driver.Msg{Cmd: driver.CmdAck, Conn: p.shim, MsgID: pid}); err != nil {
		return err
	}
	_, err = t.peerEvent(ctx, agent.EventRcvd, p.peer)
	return err
}

func keysPerQueue(ctx context.Context, t *T) error {
	if err := t.startShim(ctx, t.S.Server); err != nil {
		return err
	}
	seen := map[string]string{}
	note := func(what string, k []byte) error {
		if prev, dup := seen[string(k)]; dup {
			return fmt.Errorf("%s reuses the key of %s (DRV-CLIENT-2)", what, prev)
		}
		seen[string(k)] = what
		return nil
	}
	for i := 0; i < 3; i++ {
		rep, err := t.call(ctx, driver.Msg{Cmd: driver.CmdCreateInvitation, Procedure: []string{"fast", "standard"}[i%2]})
		if err != nil {
			return err
		}
		inv, err := agent.ParseInvitation(rep.Link)
		if err != nil {
			return fmt.Errorf("GC-LINK-1: %w", err)
		}
		q, err := queueBySender(t.S.store(), inv.Queues[0].SenderID)
		if err != nil {
			return err
		}
		for j, k := range q.RecipientKeys {
			if err := note(fmt.Sprintf("invitation %d recipient key %d", i, j), k); err != nil {
				return err
			}
		}
		for _, k := range []struct {
			name string
			b    []byte
		}{{"queue X25519 key", inv.Queues[0].DHKey.Raw}, {"X3DH key 1", inv.E2EKey1.Raw}, {"X3DH key 2", inv.E2EKey2.Raw}} {
			if err := note(fmt.Sprintf("invitation %d %s", i, k.name), k.b); err != nil {
				return err
			}
		}
	}
	return nil
}

func rotateByShim(ctx context.Context, t *T) error {
	p, err := t.connect(ctx, "fast", true)
	if err != nil {
		return err
	}
	if err := t.need(driver.CmdRotate); err != nil {
		return err
	}
	r, err := t.spare()
	if err != nil {
		return err
	}
	if _, err := t.call(ctx, driver.Msg{Cmd: driver.CmdRotate, Conn: p.shim, Relay: r.Server.String()}); err != nil {
		return err
	}
	if _, err := t.peerEvent(ctx, agent.EventSwitch, p.peer); err != nil {
		return fmt.Errorf("GC-ROTATE-1: %w", err)
	}
	if _, err := t.shimEvent(ctx, driver.EvSwitch, p.shim); err != nil {
		return fmt.Errorf("GC-ROTATE-1: %w", err)
	}
	if q, _ := r.store().Counts(); q == 0 {
		return errors.New("the rotation finished but the new relay has no queue (GC-ROTATE-1)")
	}
	if _, _, err := t.sendToShim(ctx, p, "to the new queue"); err != nil {
		return err
	}
	if err := t.eventually(ctx, "the old queue was not deleted after the rotation (GC-ROTATE-1)", func() bool {
		_, err := queueBySender(t.S.store(), p.inv.Queues[0].SenderID)
		return errors.Is(err, store.ErrNoQueue)
	}); err != nil {
		return err
	}
	_, _, err = t.sendToPeer(ctx, p, "after rotating")
	return err
}

func rotateByPeer(ctx context.Context, t *T) error {
	p, err := t.connect(ctx, "fast", false)
	if err != nil {
		return err
	}
	r, err := t.spare()
	if err != nil {
		return err
	}
	if err := t.peer.ag.Rotate(ctx, p.peer, r.Server); err != nil {
		return err
	}
	if _, err := t.shimEvent(ctx, driver.EvSwitch, p.shim); err != nil {
		return fmt.Errorf("GC-ROTATE-1: %w", err)
	}
	if _, err := t.peerEvent(ctx, agent.EventSwitch, p.peer); err != nil {
		return fmt.Errorf("GC-ROTATE-1: the shim did not finish the rotation: %w", err)
	}
	if _, _, err := t.sendToPeer(ctx, p, "to the peer's new queue"); err != nil {
		return err
	}
	if err := t.eventually(ctx, "a message waits unacknowledged at the new relay", func() bool {
		_, msgs := r.store().Counts()
		return msgs == 0
	}); err != nil {
		return err
	}
	_, _, err = t.sendToShim(ctx, p, "after the peer rotated")
	return err
}

func resync(byShim bool) func(context.Context, *T) error {
	return func(ctx context.Context, t *T) error {
		p, err := t.connect(ctx, "fast", true)
		if err != nil {
			return err
		}
		if err := t.need(driver.CmdSyncRatchet); err != nil && byShim {
			return err
		}
		if byShim {
			if _, err := t.call(ctx, driver.Msg{Cmd: driver.CmdSyncRatchet, Conn: p.shim}); err != nil {
				return err
			}
		} else if err := t.peer.ag.SyncRatchet(ctx, p.peer); err != nil {
			return err
		}
		if _, err := t.peerEvent(ctx, agent.EventRSync, p.peer); err != nil {
			return fmt.Errorf("GC-RESYNC-1: %w", err)
		}
		if _, err := t.shimEvent(ctx, driver.EvRSync, p.shim); err != nil {
			return fmt.Errorf("GC-RESYNC-1: %w", err)
		}
		if _, _, err := t.sendToPeer(ctx, p, "after resync"); err != nil {
			return fmt.Errorf("after resync (GC-RESYNC-1): %w", err)
		}
		_, _, err = t.sendToShim(ctx, p, "after resync, back")
		return err
	}
}

func deleteConn(ctx context.Context, t *T) error {
	p, err := t.connect(ctx, "fast", true)
	if err != nil {
		return err
	}
	if err := t.need(driver.CmdDelete); err != nil {
		return err
	}
	if _, err := t.call(ctx, driver.Msg{Cmd: driver.CmdDelete, Conn: p.shim}); err != nil {
		return err
	}
	if _, err := queueBySender(t.S.store(), p.inv.Queues[0].SenderID); !errors.Is(err, store.ErrNoQueue) {
		return fmt.Errorf("after delete the queue is still at the relay (%v)", err)
	}
	return nil
}

// sendRaw sends body unauthorized to the queue with sender id sid on srv,
// as anyone holding the link can.
func sendRaw(ctx context.Context, srv smp.Server, sid []byte, bodies ...[]byte) error {
	cl, err := client.Dial(ctx, srv, client.Config{PingInterval: -1})
	if err != nil {
		return err
	}
	defer cl.Close()
	for _, b := range bodies {
		if _, err := cl.Do(ctx, client.Request{EntityID: sid, Command: smp.CmdSEND{Notify: true, Body: b}}); err != nil {
			return err
		}
	}
	return nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// envelopeOf builds a client message envelope with a random ciphertext:
// well formed, but it opens under no key.
func envelopeOf(key bool, n int) []byte {
	ce := smp.ClientMsgEnvelope{Version: 4, Body: randomBytes(n)}
	rand.Read(ce.Nonce[:])
	if key {
		k, _ := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader)
		pub := k.Public()
		ce.DHKey = &pub
	}
	b, _ := smp.EncodeClientMsgEnvelope(ce)
	return b
}

// msgCount counts the shim's msg events with body.
func (t *T) msgCount(body string) int {
	return t.shim.events.count(func(m driver.Msg) bool { return m.Event == driver.EvMsg && driver.Val(m.Body) == body })
}

func garbageBeforeConf(ctx context.Context, t *T) error {
	if err := t.startShim(ctx, t.S.Server); err != nil {
		return err
	}
	rep, err := t.call(ctx, driver.Msg{Cmd: driver.CmdCreateInvitation, Procedure: "standard"})
	if err != nil {
		return err
	}
	inv, err := agent.ParseInvitation(rep.Link)
	if err != nil {
		return err
	}
	uri := inv.Queues[0]
	if err := sendRaw(ctx, uri.Server, uri.SenderID, randomBytes(300), []byte{0, 4}, envelopeOf(false, messageBytes)); err != nil {
		return fmt.Errorf("runner: send malformed bodies: %w", err)
	}
	if err := t.eventually(ctx, "the shim did not acknowledge the malformed bodies (GC-DUPLEX-4)", func() bool {
		_, msgs := t.S.store().Counts()
		return msgs == 0
	}); err != nil {
		return err
	}
	pc, err := t.peer.ag.Join(ctx, rep.Link, []byte(peerInfo))
	if err != nil {
		return err
	}
	conf, err := t.shimEvent(ctx, driver.EvConf, rep.Conn)
	if err != nil {
		return fmt.Errorf("after malformed bodies the real confirmation: %w", err)
	}
	if driver.Val(conf.Info) != peerInfo {
		return fmt.Errorf("conf carries %q", driver.Val(conf.Info))
	}
	p := pair{shim: rep.Conn, peer: pc, link: rep.Link, inv: inv}
	if _, err := t.call(ctx, driver.Msg{Cmd: driver.CmdAllow, Conn: p.shim, Info: driver.Str(shimInfo)}); err != nil {
		return err
	}
	if err := t.established(ctx, p); err != nil {
		return err
	}
	if n := t.shim.events.count(func(m driver.Msg) bool { return m.Event == driver.EvMsg }); n != 0 {
		return fmt.Errorf("the shim reported %d messages from malformed bodies (DRV-EVT-1)", n)
	}
	_, _, err = t.sendToShim(ctx, p, "good after garbage")
	return err
}

func keyBeforeConf(ctx context.Context, t *T) error {
	if err := t.startShim(ctx, t.S.Server); err != nil {
		return err
	}
	rep, err := t.call(ctx, driver.Msg{Cmd: driver.CmdCreateInvitation, Procedure: "standard"})
	if err != nil {
		return err
	}
	inv, err := agent.ParseInvitation(rep.Link)
	if err != nil {
		return err
	}
	uri := inv.Queues[0]
	if err := sendRaw(ctx, uri.Server, uri.SenderID, envelopeOf(true, confirmationBytes)); err != nil {
		return fmt.Errorf("runner: send: %w", err)
	}
	if err := t.eventually(ctx, "the shim did not acknowledge the body (GC-DUPLEX-4)", func() bool {
		_, msgs := t.S.store().Counts()
		return msgs == 0
	}); err != nil {
		return err
	}
	if _, err := t.peer.ag.Join(ctx, rep.Link, []byte(peerInfo)); err != nil {
		return err
	}
	if _, err := t.shimEvent(ctx, driver.EvConf, rep.Conn); err != nil {
		return fmt.Errorf("a keyed envelope that did not open blocked the real confirmation: %w", err)
	}
	return nil
}

func replayAndGarbage(ctx context.Context, t *T) error {
	if err := t.observe(ctx); err != nil {
		return err
	}
	p, err := t.connect(ctx, "fast", true)
	if err != nil {
		return err
	}
	// Hold the peer's message at the relay long enough to copy it as sent.
	const first = "replay me"
	var sent oMsg
	if _, err := t.holdAtRelay(ctx, p, []string{first}, func(ms []oMsg) []oMsg { sent = ms[0]; return ms }); err != nil {
		return err
	}
	if _, err := t.shimEvent(ctx, driver.EvMsg, p.shim); err != nil {
		return fmt.Errorf("the original message: %w", err)
	}
	now := time.Now().Unix()
	var inject []oMsg
	for _, b := range [][]byte{sent.body, randomBytes(200), envelopeOf(false, messageBytes), envelopeOf(true, messageBytes), sent.body[:len(sent.body)/2]} {
		inject = append(inject, oMsg{id: randomBytes(24), ts: now, body: b})
	}
	if _, err := t.holdAtRelay(ctx, p, nil, func([]oMsg) []oMsg { return inject }); err != nil {
		return err
	}
	if err := t.eventually(ctx, "the shim left the replay or a malformed body unacknowledged (GC-DUPLEX-4)", func() bool {
		msgs, _ := t.OS.queued()
		return msgs == 0
	}); err != nil {
		return err
	}
	if _, _, err := t.sendToShim(ctx, p, "good after the replay"); err != nil {
		return fmt.Errorf("after a replay and malformed bodies: %w", err)
	}
	if n := t.msgCount(first); n != 1 {
		return fmt.Errorf("the shim reported the replayed message %d times (GC-RATCHET-9: a duplicate MUST be rejected)", n)
	}
	return nil
}

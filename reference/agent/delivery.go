package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/db"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/wire"
)

// onRelayEvent is called on a relay's reader for each event: a MSG is
// processed on its own goroutine (the relay sends the next message of a
// queue only after the ACK, so a queue's messages stay in order).
func (a *Agent) onRelayEvent(srv smp.Server, ev client.Event) {
	m, ok := ev.Response.(smp.RspMSG)
	if !ok || !a.trackIn(&a.rwg) {
		return
	}
	go func() {
		defer a.rwg.Done()
		a.receive(srv, ev.EntityID, m)
	}()
}

// receive processes a message and the ones the relay answers its ACKs
// with. A message is acknowledged only once its processing is committed:
// if the commit fails (a full disk), it stays on the relay and comes again
// when the queue is subscribed again, after a pause.
func (a *Agent) receive(srv smp.Server, rcvID []byte, m smp.RspMSG) {
	qk := queueKey(srv, rcvID)
	for {
		a.mu.Lock()
		e, ok := a.rcv[qk]
		a.mu.Unlock()
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(a.ctx, 30*time.Second)
		err := a.receiveOne(ctx, e.conn, srv, rcvID, qk, m)
		if err != nil {
			cancel()
			a.retrySub(srv, e)
			return
		}
		// The answer to ACK is the next message, if the queue has one.
		rsp, err := a.pool.do(ctx, srv, client.Request{Key: e.key, EntityID: e.id, Command: smp.CmdACK{MsgID: m.MsgID}})
		cancel()
		next, ok := rsp.(smp.RspMSG)
		if err != nil || !ok || a.isClosed() {
			return // a next message stays on the relay, unprocessed
		}
		m = next
	}
}

// receiveOne processes one message as one operation on its connection,
// unless it was processed before (a redelivery), and commits it.
func (a *Agent) receiveOne(ctx context.Context, connID string, srv smp.Server, rcvID []byte, qk string, m smp.RspMSG) error {
	c, unlock, err := a.lockConn(connID)
	if err != nil {
		return err
	}
	defer unlock()
	done, err := wasReceived(ctx, a.db, qk, m.MsgID)
	if err != nil {
		return err
	}
	if done {
		return nil // processed, not yet acknowledged: acknowledge only
	}
	q := c.rcvQueue(srv, rcvID)
	if q == nil {
		return nil
	}
	c.op = &op{recv: &recvRecord{qk: qk, smpID: m.MsgID}}
	defer func() { c.op = nil }()
	if err := a.process(ctx, c, q, m); err != nil {
		c.emit(Event{ConnID: c.ID, Kind: EventErr, Err: err})
	}
	if err := a.commit(ctx, c); err != nil {
		a.reload(c.ID)
		return err
	}
	a.mu.Lock()
	delete(a.retries, qk)
	a.mu.Unlock()
	return nil
}

// retrySub subscribes the queue again after a pause that doubles with each
// failure, so that the relay delivers the unacknowledged message again.
func (a *Agent) retrySub(srv smp.Server, e rcvEntry) {
	qk := queueKey(srv, e.id)
	a.mu.Lock()
	d := a.retries[qk]
	d = min(max(2*d, a.cfg.ReconnectMin), a.cfg.ReconnectMax)
	a.retries[qk] = d
	a.mu.Unlock()
	if !a.track() {
		return
	}
	go func() {
		defer a.wg.Done()
		select {
		case <-time.After(d):
		case <-a.ctx.Done():
			return
		}
		ctx, cancel := context.WithTimeout(a.ctx, 30*time.Second)
		defer cancel()
		a.pool.do(ctx, srv, client.Request{Key: e.key, EntityID: e.id, Command: smp.CmdSUB{}})
	}()
}

// queue adds an envelope for a sending queue to the operation under way;
// it is sent once the operation is committed. msgID names the agent
// message it holds, if any, in a delivery failure.
func (c *Conn) queue(q *SndQueue, env []byte, notify bool, msgID int64) {
	c.op.outbox = append(c.op.outbox, outMsg{qk: queueKey(q.Server, q.SndID), srv: q.Server, env: env, notify: notify, msgID: msgID})
}

// emitWhenSent makes e the event of the envelope queued last: emitted
// once the relay accepted it.
func (c *Conn) emitWhenSent(e Event) {
	c.op.outbox[len(c.op.outbox)-1].sentEvent = &e
}

// deliver makes sure a worker sends the queue's outbox.
func (a *Agent) deliver(qk string, srv smp.Server) {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	if kick, ok := a.senders[qk]; ok {
		select {
		case kick <- struct{}{}:
		default:
		}
		a.mu.Unlock()
		return
	}
	kick := make(chan struct{}, 1)
	a.senders[qk] = kick
	a.dwg.Add(1)
	a.mu.Unlock()
	go func() {
		defer a.dwg.Done()
		a.deliveryLoop(qk, srv, kick)
	}()
}

// deliveryLoop sends a queue's outbox in order, one envelope at a time,
// waiting for the relay while it is down and while the queue is full.
func (a *Agent) deliveryLoop(qk string, srv smp.Server, kick chan struct{}) {
	backoff := a.cfg.ReconnectMin
	a.mu.Lock()
	after := a.after[qk] // sent up to here, in this run
	a.mu.Unlock()
	for a.closing.Err() == nil {
		row, err := nextOutbox(a.ctx, a.db, qk, after)
		if err == nil && row == nil {
			a.mu.Lock()
			select {
			case <-kick:
				a.mu.Unlock()
				continue
			default:
			}
			delete(a.senders, qk)
			a.mu.Unlock()
			return
		}
		if err == nil {
			err = a.sendRow(qk, srv, row)
		}
		if err == nil {
			after = row.seq
			a.mu.Lock()
			a.after[qk] = after
			a.mu.Unlock()
			backoff = a.cfg.ReconnectMin
			continue
		}
		select {
		case <-time.After(backoff):
		case <-a.closing.Done():
			return
		}
		backoff = min(2*backoff, a.cfg.ReconnectMax)
	}
}

// sendRow sends one envelope: the per-queue layer is applied with the
// queue's state now, the SEND waits for the relay, and the row leaves the
// outbox in the transaction that records the queue's new state.
func (a *Agent) sendRow(qk string, srv smp.Server, row *outboxRow) error {
	c, unlock, err := a.lockConn(row.conn)
	if errors.Is(err, ErrClosed) {
		// Closing, not a connection gone: the envelope stays for the
		// next run (deleting it here lost a message sent just before
		// Close).
		return err
	}
	var snap SndQueue
	var q *SndQueue
	if err == nil {
		if q = c.sndQueue(qk); q != nil {
			snap = *q
		}
		unlock()
	}
	if q == nil { // the connection or the queue is gone
		return a.db.Update(context.Background(), func(tx *db.Tx) error {
			_, err := tx.Exec(`DELETE FROM agent_outbox WHERE seq = ?`, row.seq)
			return err
		})
	}
	req, err := a.seal(&snap, row.env, row.notify)
	if err != nil {
		return err
	}
	for {
		// Waiting for the relay stops when Close starts; a SEND under way
		// is let finish, so that its outcome is recorded.
		var cl *client.Client
		if cl, err = a.pool.waitUp(a.closing, srv); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, err = cl.Do(ctx, req)
			cancel()
		}
		var se *client.ServerError
		if errors.As(err, &se) && se.Err.Kind == smp.ErrQUOTA {
			// The recipient is behind; upstream waits for A_QCONT, this
			// agent retries.
			select {
			case <-time.After(50 * time.Millisecond):
				continue
			case <-a.closing.Done():
				return a.closing.Err()
			}
		}
		break
	}
	var se *client.ServerError
	if err != nil && !errors.As(err, &se) {
		return err // the relay is unreachable: try again
	}
	if err == nil && snap.Confirmed && row.sentEvent == nil {
		// Accepted, and the queue's state does not change: the row is
		// deleted with the next commit, not with a sync of its own. After
		// a crash before that, it is sent again, and the peer reports the
		// copy as a replay (at least once, never lost).
		a.mu.Lock()
		a.sent[row.seq] = true
		a.mu.Unlock()
		a.flushSoon()
		return nil
	}
	return a.update(context.Background(), row.conn, func(c *Conn) error {
		c.op.keep = true // unchanged unless this is the queue's first envelope
		if err != nil {
			// Refused for good (AUTH: the queue was deleted or secured by
			// someone else): the application hears of it.
			c.emit(Event{ConnID: c.ID, Kind: EventErr, MsgID: row.msgID, Err: fmt.Errorf("agent: message %d not delivered: %w", row.msgID, err)})
		} else if q := c.sndQueue(qk); q != nil && !q.Confirmed {
			q.Confirmed = true
			c.op.keep = false
		}
		if err == nil && row.sentEvent != nil {
			if e, derr := decodeEvent(row.sentEvent); derr == nil {
				c.emit(e)
			}
		}
		c.op.sent = append(c.op.sent, row.seq)
		return nil
	})
}

// seal applies the per-queue layer (GC-QUEUE-1..3) to an envelope. The
// first envelope on a queue carries our key and the confirmation padding.
func (a *Agent) seal(q *SndQueue, env []byte, notify bool) (client.Request, error) {
	secret, err := q.E2E.DH(q.PeerE2E)
	if err != nil {
		return client.Request{}, err
	}
	var nonce smpcrypto.Nonce
	if _, err := io.ReadFull(a.cfg.Rand, nonce[:]); err != nil {
		return client.Request{}, err
	}
	ce := smp.ClientMsgEnvelope{Version: q.Version, Nonce: nonce}
	pad := messagePadded
	if !q.Confirmed {
		k := q.E2E.Public()
		ce.DHKey = &k
		pad = confirmationPadded
	}
	// Private header (GC-QUEUE-2): our sender key when the recipient is to
	// secure the queue with it, else '_'.
	plain := append([]byte{'_'}, env...)
	if !q.Secured && !q.Confirmed {
		b := wire.NewBuilder([]byte{'K'})
		b.Short(q.SndKey.Public().SPKI())
		hdr, _ := b.Bytes()
		plain = append(hdr, env...)
	}
	if ce.Body, err = smpcrypto.SealPadded(secret, nonce, plain, pad); err != nil {
		return client.Request{}, err
	}
	body, err := smp.EncodeClientMsgEnvelope(ce)
	if err != nil {
		return client.Request{}, err
	}
	req := client.Request{EntityID: q.SndID, Command: smp.CmdSEND{Notify: notify, Body: body}}
	if q.Secured || q.Confirmed {
		// Unsecured until our first envelope has been answered by the
		// recipient securing the queue (standard) or SKEY (fast).
		req.Key = q.SndKey
	}
	return req, nil
}

// forgetSent deletes, in tx, the outbox rows given and those accepted
// since the last commit.
func (a *Agent) forgetSent(tx *db.Tx, rows []int64) error {
	a.mu.Lock()
	pending := make([]int64, 0, len(a.sent))
	for seq := range a.sent {
		pending = append(pending, seq)
	}
	a.mu.Unlock()
	for _, seq := range append(rows, pending...) {
		if _, err := tx.Exec(`DELETE FROM agent_outbox WHERE seq = ?`, seq); err != nil {
			return err
		}
	}
	if len(pending) > 0 {
		tx.AfterCommit(func() {
			a.mu.Lock()
			for _, seq := range pending {
				delete(a.sent, seq)
			}
			a.mu.Unlock()
		})
	}
	return nil
}

func (a *Agent) flushSoon() {
	select {
	case a.flush <- struct{}{}:
	default:
	}
}

// flusher deletes accepted outbox rows that no commit took along within a
// short while.
func (a *Agent) flusher() {
	defer a.wg.Done()
	for {
		select {
		case <-a.flush:
		case <-a.ctx.Done():
			return
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-a.ctx.Done():
			return
		}
		a.mu.Lock()
		n := len(a.sent)
		a.mu.Unlock()
		if n > 0 {
			a.db.Update(a.ctx, func(tx *db.Tx) error { return a.forgetSent(tx, nil) })
		}
	}
}

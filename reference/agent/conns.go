package agent

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/db"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
)

// Each connection has its own lock, held for the whole of an operation on
// it (a command of the application, one received message, one delivered
// envelope), network round trips included: operations on one connection
// happen in order, operations on different connections in parallel. The
// agent's mutex guards only its maps and is never held across I/O.
//
// An operation changes the Conn in memory and collects what it sends and
// emits in its op; commit then writes the connection, the message record,
// the outbox and the events in one transaction. If the operation or the
// commit fails, the connection is reloaded from the database, as if the
// operation never ran.

// op is what an operation on a connection produced, committed with it.
type op struct {
	outbox  []outMsg
	events  []Event
	recv    *recvRecord
	sent    []int64 // outbox rows the relay accepted
	deleted bool
	keep    bool      // the connection did not change: no need to write it
	unacked []unacked // MSGs received, until the application acknowledges them
	acked   []int64   // their ids, acknowledged
	sentMsg []unacked // A_MSGs sent: id and hash, for their receipts
	rcpts   []rcpt    // receipts checked
}

// rcpt is the checked status of a sent message's receipt.
type rcpt struct {
	id     int64
	status ReceiptStatus
}

// unacked is a received message's id and hash, kept for its receipt.
type unacked struct {
	id   int64
	hash []byte
}

type outMsg struct {
	qk     string
	srv    smp.Server
	env    []byte
	notify bool
	msgID  int64
	// sentEvent is emitted when the relay accepted the envelope (CON once
	// the confirmation is sent, as upstream).
	sentEvent *Event
}

type recvRecord struct {
	qk            string
	smpID, ctHash []byte
}

// rcvEntry indexes a receiving queue: what SUB and message routing need,
// none of it changing while the queue exists.
type rcvEntry struct {
	conn string
	srv  smp.Server
	id   []byte
	key  smpcrypto.PrivateKey
}

// emit records an event of the operation under way.
func (c *Conn) emit(e Event) { c.op.events = append(c.op.events, e) }

func (c *Conn) rcvQueues() []*RcvQueue {
	var qs []*RcvQueue
	for _, q := range append([]*RcvQueue{c.Rcv, c.NextRcv, c.OldRcv}, c.ExtraRcv...) {
		if q != nil {
			qs = append(qs, q)
		}
	}
	return qs
}

func (c *Conn) sndQueue(qk string) *SndQueue {
	for _, q := range append([]*SndQueue{c.Snd, c.NextSnd}, c.ExtraSnd...) {
		if q != nil && queueKey(q.Server, q.SndID) == qk {
			return q
		}
	}
	return nil
}

func (c *Conn) rcvQueue(srv smp.Server, id []byte) *RcvQueue {
	for _, q := range c.rcvQueues() {
		if bytes.Equal(q.RcvID, id) && q.Server.String() == srv.String() {
			return q
		}
	}
	return nil
}

// addConn registers a new connection and returns it locked.
func (a *Agent) addConn(c *Conn) (func(), error) {
	l := &sync.Mutex{}
	l.Lock()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, ErrClosed
	}
	a.conns[c.ID] = c
	a.locks[c.ID] = l
	return l.Unlock, nil
}

// lockConn locks a connection for an operation.
func (a *Agent) lockConn(id string) (*Conn, func(), error) {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil, nil, ErrClosed
	}
	l := a.locks[id]
	a.mu.Unlock()
	if l == nil {
		return nil, nil, fmt.Errorf("agent: no connection %s", id)
	}
	l.Lock()
	a.mu.Lock()
	c := a.conns[id]
	a.mu.Unlock()
	if c == nil {
		l.Unlock()
		return nil, nil, fmt.Errorf("agent: no connection %s", id)
	}
	return c, l.Unlock, nil
}

// update runs fn as one operation on the connection.
func (a *Agent) update(ctx context.Context, id string, fn func(c *Conn) error) error {
	c, unlock, err := a.lockConn(id)
	if err != nil {
		return err
	}
	defer unlock()
	return a.run(ctx, c, fn)
}

// run runs fn as one operation on c, which the caller has locked.
func (a *Agent) run(ctx context.Context, c *Conn, fn func(c *Conn) error) error {
	c.op = &op{}
	defer func() { c.op = nil }()
	if err := fn(c); err != nil {
		a.reload(c.ID)
		return err
	}
	if err := a.commit(ctx, c); err != nil {
		a.reload(c.ID)
		return err
	}
	return nil
}

// commit writes the operation under way on c in one transaction and, once
// it is on disk, starts delivery of what it queued.
func (a *Agent) commit(ctx context.Context, c *Conn) error {
	o := c.op
	err := a.db.Update(ctx, func(tx *db.Tx) error {
		if !o.keep {
			if err := saveConn(tx, c); err != nil {
				return err
			}
		}
		if r := o.recv; r != nil {
			if err := recordReceived(tx, c.ID, r.qk, r.smpID, r.ctHash); err != nil {
				return err
			}
		}
		for _, m := range o.outbox {
			if err := addOutbox(tx, c.ID, m); err != nil {
				return err
			}
		}
		if err := a.forgetSent(tx, o.sent); err != nil {
			return err
		}
		for _, u := range o.unacked {
			if _, err := tx.Exec(`INSERT OR REPLACE INTO agent_unacked (conn, msg_id, hash) VALUES (?, ?, ?)`, c.ID, u.id, u.hash); err != nil {
				return err
			}
		}
		for _, id := range o.acked {
			if _, err := tx.Exec(`DELETE FROM agent_unacked WHERE conn = ? AND msg_id = ?`, c.ID, id); err != nil {
				return err
			}
		}
		for _, m := range o.sentMsg {
			if _, err := tx.Exec(`INSERT OR REPLACE INTO agent_sent (conn, msg_id, hash) VALUES (?, ?, ?)`, c.ID, m.id, m.hash); err != nil {
				return err
			}
			if _, err := tx.Exec(`DELETE FROM agent_sent WHERE conn = ? AND msg_id <= ?`, c.ID, m.id-keepSent); err != nil {
				return err
			}
		}
		for _, r := range o.rcpts {
			if _, err := tx.Exec(`UPDATE agent_sent SET rcpt = ? WHERE conn = ? AND msg_id = ?`, string(r.status), c.ID, r.id); err != nil {
				return err
			}
		}
		if o.deleted {
			if _, err := tx.Exec(`DELETE FROM agent_conns WHERE id = ?`, c.ID); err != nil {
				return err
			}
		}
		for _, e := range o.events {
			if err := a.events.add(tx, e); err != nil {
				return err
			}
		}
		if err := a.events.trim(tx); err != nil {
			return err
		}
		outbox := o.outbox
		tx.AfterCommit(func() {
			for _, m := range outbox {
				a.deliver(m.qk, m.srv)
			}
		})
		return nil
	})
	if err != nil {
		return fmt.Errorf("agent: save: %w", err)
	}
	a.index(c, o.deleted)
	return nil
}

// reload replaces the connection in memory by its committed state.
func (a *Agent) reload(id string) {
	c, err := loadConn(context.Background(), a.db, id)
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case err != nil:
		// The database cannot be read: keep what is in memory; the next
		// commit writes it or fails again.
	case c == nil:
		delete(a.conns, id)
	default:
		a.conns[id] = c
	}
}

// index updates the routing of the connection's receiving queues.
func (a *Agent) index(c *Conn, deleted bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	keys := map[string]bool{}
	if !deleted {
		for _, q := range c.rcvQueues() {
			k := queueKey(q.Server, q.RcvID)
			keys[k] = true
			if _, ok := a.rcv[k]; !ok {
				a.rcv[k] = rcvEntry{conn: c.ID, srv: q.Server, id: q.RcvID, key: q.RcvKey}
			}
		}
	}
	for _, k := range a.rcvKeys[c.ID] {
		if !keys[k] {
			delete(a.rcv, k)
		}
	}
	if deleted {
		delete(a.rcvKeys, c.ID)
		delete(a.conns, c.ID)
		return
	}
	ks := make([]string, 0, len(keys))
	for k := range keys {
		ks = append(ks, k)
	}
	a.rcvKeys[c.ID] = ks
}

// subs lists the SUB requests for the queues on srv.
func (a *Agent) subs(srv smp.Server) []client.Request {
	s := srv.String()
	a.mu.Lock()
	defer a.mu.Unlock()
	var reqs []client.Request
	for _, e := range a.rcv {
		if e.srv.String() == s {
			reqs = append(reqs, client.Request{Key: e.key, EntityID: e.id, Command: smp.CmdSUB{}})
		}
	}
	return reqs
}

// track counts a goroutine that Close waits for; false once closed.
func (a *Agent) track() bool { return a.trackIn(&a.wg) }

func (a *Agent) trackIn(wg *sync.WaitGroup) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return false
	}
	wg.Add(1)
	return true
}

func (a *Agent) isClosed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closed
}

// create registers a new connection and commits it with what fn (if any)
// queues, as one operation.
func (a *Agent) create(ctx context.Context, c *Conn, fn func(c *Conn) error) error {
	unlock, err := a.addConn(c)
	if err != nil {
		return err
	}
	defer unlock()
	return a.run(ctx, c, func(c *Conn) error {
		if fn != nil {
			return fn(c)
		}
		return nil
	})
}

package relay

import (
	"bytes"
	"fmt"
	"io"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/store"
)

// Subscription and delivery state (spec §9.3-9.5). Everything here runs
// under r.qmu, which orders the store updates and the subscription maps of
// one queue; lock order is r.qmu, then the store's own lock.

// newID returns a fresh 24-byte id from the relay's CSPRNG (SMP-ID-1, ID-2).
func (r *Relay) newID() ([]byte, error) {
	id := make([]byte, 24)
	if _, err := io.ReadFull(r.cfg.Rand, id); err != nil {
		return nil, fmt.Errorf("relay: random id: %w", err)
	}
	return id, nil
}

// protoErr is an SMP error from the delivery functions.
func protoErr(t smp.ErrorType) error { return smp.Errorf(t, "%s", t.String()) }

// subscribe makes c the queue's subscriber (SMP-SUBS-1..3) and returns the
// head message to deliver, if any, marking it in flight. The previous
// subscriber, if another connection, loses the subscription and gets END.
func (r *Relay) subscribe(c *conn, q *store.Queue) (*store.Message, error) {
	rid := string(q.RecipientID)
	s := c.queues[rid]
	if s != nil && s.get {
		r.stats.qSubProhibited.Add(1)
		return nil, protoErr(smp.CMDProhibited)
	}
	dup := s != nil
	if dup {
		r.stats.qSubDuplicate.Add(1)
	} else {
		s = &qsub{}
		c.queues[rid] = s
	}
	if old := r.subs[rid]; old != nil && old != c {
		if os := old.queues[rid]; os != nil {
			delete(old.queues, rid)
		}
		old.event(old.encodeTx(nil, q.RecipientID, smp.RspEND{}))
	}
	r.subs[rid] = c
	s.delivered = nil
	m, ok := r.store.Head(q.RecipientID)
	if !ok {
		return nil, nil
	}
	r.setDelivered(s, &m)
	if !dup {
		r.stats.subscriptions.Add(1) // upstream qSub: only new subscriptions that deliver
	}
	return &m, nil
}

// setDelivered marks m in flight in s (SMP-DLV-1).
func (r *Relay) setDelivered(s *qsub, m *store.Message) {
	s.delivered, s.deliveredAt = m.ID, r.cfg.Now().Unix()
	s.deliveredQuota, s.deliveredNotify = m.Quota, m.Notify
}

// get implements GET (SMP-DLV-5): the head, in flight, or nil.
func (r *Relay) get(c *conn, q *store.Queue) (*store.Message, error) {
	rid := string(q.RecipientID)
	s := c.queues[rid]
	if s != nil && !s.get {
		r.stats.msgGetProhibited.Add(1)
		return nil, protoErr(smp.CMDProhibited)
	}
	if s == nil {
		s = &qsub{get: true}
		c.queues[rid] = s
	}
	again := s.delivered != nil
	s.delivered = nil
	m, ok := r.store.Head(q.RecipientID)
	if !ok {
		r.stats.msgGetNoMsg.Add(1)
		return nil, nil
	}
	if again {
		r.stats.msgGetDuplicate.Add(1)
	} else {
		r.stats.msgGet.Add(1)
	}
	r.setDelivered(s, &m)
	return &m, nil
}

// ack implements ACK (SMP-DLV-3, DLV-4, DLV-5). It returns the next message
// to deliver in subscription use (nil for OK).
func (r *Relay) ack(c *conn, q *store.Queue, msgID []byte) (*store.Message, error) {
	rid := string(q.RecipientID)
	s := c.queues[rid]
	if s == nil || s.delivered == nil || (len(msgID) > 0 && !bytes.Equal(msgID, s.delivered)) {
		return nil, protoErr(smp.ErrorType{Kind: smp.ErrNOMSG})
	}
	s.delivered = nil
	if len(msgID) > 0 {
		done, err := r.store.DeleteHead(q.RecipientID, msgID)
		if err != nil {
			r.log.Error("delete message", "err", err)
			return nil, protoErr(smp.ErrorType{Kind: smp.ErrSTORE, Store: "delete"})
		}
		if done {
			r.stats.countRecv(q.RecipientID, s, r.cfg.Now())
		}
	}
	if s.get {
		return nil, nil
	}
	m, ok := r.store.Head(q.RecipientID)
	if !ok {
		return nil, nil
	}
	r.setDelivered(s, &m)
	return &m, nil
}

// storeMessage writes a message or, at the quota, the QUOTA marker
// (SMP-QUOTA-1..3). It returns what was stored and the subscriber it must
// be pushed to now, if any (SMP-DLV-2); err is ERR QUOTA when the message
// was refused, with or without a marker stored.
func (r *Relay) storeMessage(q *store.Queue, notify bool, body []byte) (stored *store.Message, to *conn, err error) {
	if r.cfg.ExpireOnSend {
		r.expireQueue(q.RecipientID)
	}
	n, quotaLast := r.store.Size(q.RecipientID)
	if quotaLast {
		r.stats.msgSentQuota.Add(1)
		return nil, nil, protoErr(smp.ErrorType{Kind: smp.ErrQUOTA})
	}
	id, err := r.newID()
	if err != nil {
		return nil, nil, protoErr(smp.ErrorType{Kind: smp.ErrINTERNAL})
	}
	m := store.Message{ID: id, Timestamp: r.cfg.Now().Unix()}
	full := n >= r.cfg.Quota
	if full {
		m.Quota = true
	} else {
		m.Notify, m.Body = notify, body
	}
	if err := r.store.AddMessage(q.RecipientID, m); err != nil {
		r.log.Error("store message", "err", err)
		return nil, nil, protoErr(smp.ErrorType{Kind: smp.ErrSTORE, Store: "write"})
	}
	if n == 0 {
		if sub := r.subs[string(q.RecipientID)]; sub != nil {
			if s := sub.queues[string(q.RecipientID)]; s != nil && s.delivered == nil {
				r.setDelivered(s, &m)
				to = sub
			}
		}
	}
	if full {
		r.stats.msgSentQuota.Add(1)
		return &m, to, protoErr(smp.ErrorType{Kind: smp.ErrQUOTA})
	}
	r.stats.countSent(q.RecipientID, notify, r.cfg.Now())
	return &m, to, nil
}

// endQueue removes every subscription to a deleted queue: the deleting
// connection's silently, others' with DELD (END below v10) (SMP-SUBS-7).
func (r *Relay) endQueue(by *conn, q *store.Queue) {
	rid := string(q.RecipientID)
	if sub := r.subs[rid]; sub != nil {
		delete(r.subs, rid)
		if sub != by {
			sub.event(sub.encodeTx(nil, q.RecipientID, sub.deletedEvent()))
		}
	}
	delete(by.queues, rid)
	if q.Notifier != nil {
		r.endNotifier(by, q.Notifier.ID)
	}
}

// endNotifier drops a notifier's subscription and pending notifications,
// sending DELD to its subscriber if that is another connection (SMP-SUBS-7,
// SMP-NTF-4).
func (r *Relay) endNotifier(by *conn, nid []byte) {
	delete(r.ntfs, string(nid))
	if sub := r.nsubs[string(nid)]; sub != nil {
		delete(r.nsubs, string(nid))
		delete(sub.ntfs, string(nid))
		if sub != by {
			sub.event(sub.encodeTx(nil, nid, sub.deletedEvent()))
		}
	}
}

// deletedEvent is DELD, or END for clients below v10.
func (c *conn) deletedEvent() smp.Response {
	if c.v < smp.VersionDeletedEvent {
		return smp.RspEND{}
	}
	return smp.RspDELD{}
}

// expireQueue deletes a queue's messages older than MessageTTL from its
// head before SEND adds one (upstream expire_messages_on_send), so expired
// messages stop counting against the quota. A message in flight to a
// subscriber stays until it is acknowledged. Called with r.qmu held.
func (r *Relay) expireQueue(rid []byte) {
	cut := r.cfg.Now().Add(-r.cfg.MessageTTL).Unix()
	var inFlight []byte
	if sub := r.subs[string(rid)]; sub != nil {
		if s := sub.queues[string(rid)]; s != nil {
			inFlight = s.delivered
		}
	}
	for {
		m, ok := r.store.Head(rid)
		if !ok || m.Quota || m.Timestamp >= cut || (inFlight != nil && bytes.Equal(m.ID, inFlight)) {
			return
		}
		if done, err := r.store.DeleteHead(rid, m.ID); err != nil || !done {
			if err != nil {
				r.log.Error("message expiry on send failed", "err", err)
			}
			return
		}
		r.stats.messagesExpired.Add(1)
	}
}

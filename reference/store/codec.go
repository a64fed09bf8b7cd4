package store

import (
	"bytes"

	"github.com/smpkit/smpkit/reference/wire"
)

// Records use the SMP primitives (package wire). A format change must keep
// reading old records or bump a version byte here. Version 2 adds the
// notifier's service id at the end, version 3 the blocking notice after it.
const (
	queueRecordVersion   = 3
	serviceRecordVersion = 1
)

func encodeQueue(q *Queue) []byte {
	b := wire.NewBuilder(make([]byte, 0, 320))
	b.Byte(opPutQueue)
	b.Byte(queueRecordVersion)
	b.Short(q.RecipientID)
	b.Count(len(q.RecipientKeys), true)
	for _, k := range q.RecipientKeys {
		b.Short(k)
	}
	b.Short(q.RcvDHSecret)
	b.Short(q.SenderID)
	b.Maybe(q.SenderKey != nil)
	if q.SenderKey != nil {
		b.Short(q.SenderKey)
	}
	b.Byte(q.Mode)
	b.Maybe(q.LinkID != nil)
	if q.LinkID != nil {
		b.Short(q.LinkID)
		b.Large(q.LinkFixed)
		b.Large(q.LinkUser)
	}
	b.Maybe(q.Notifier != nil)
	if n := q.Notifier; n != nil {
		b.Short(n.ID)
		b.Short(n.Key)
		b.Short(n.DHSecret)
	}
	b.Byte(byte(q.Status))
	b.Large([]byte(q.BlockInfo.Reason))
	b.Int64(q.UpdatedAt)
	var nsrv []byte
	if q.Notifier != nil {
		nsrv = q.Notifier.ServiceID
	}
	b.Maybe(nsrv != nil)
	if nsrv != nil {
		b.Short(nsrv)
	}
	n := q.BlockInfo.Notice
	b.Maybe(n != nil)
	if n != nil {
		b.Maybe(n.TTL != nil)
		if n.TTL != nil {
			b.Int64(*n.TTL)
		}
	}
	out, err := b.Bytes()
	if err != nil {
		// Only over-long fields fail, and the relay validated them on the wire.
		panic("store: encode queue: " + err.Error())
	}
	return out
}

func decodeQueue(rec []byte) (*Queue, error) {
	if len(rec) < 2 || rec[1] < 1 || rec[1] > queueRecordVersion {
		return nil, errDamaged
	}
	version := rec[1]
	p := wire.NewParser(rec[2:])
	q := &Queue{RecipientID: clone(p.Short())}
	n := p.Count(true)
	for i := 0; i < n && p.Err() == nil; i++ {
		q.RecipientKeys = append(q.RecipientKeys, clone(p.Short()))
	}
	q.RcvDHSecret = clone(p.Short())
	q.SenderID = clone(p.Short())
	if p.Maybe() {
		q.SenderKey = clone(p.Short())
	}
	q.Mode = p.Byte()
	if p.Maybe() {
		q.LinkID = clone(p.Short())
		q.LinkFixed = clone(p.Large())
		q.LinkUser = clone(p.Large())
	}
	if p.Maybe() {
		q.Notifier = &Notifier{ID: clone(p.Short()), Key: clone(p.Short()), DHSecret: clone(p.Short())}
	}
	q.Status = Status(p.Byte())
	q.BlockInfo.Reason = string(p.Large())
	q.UpdatedAt = p.Int64()
	if version >= 2 && p.Maybe() {
		sid := clone(p.Short())
		if q.Notifier == nil {
			return nil, errDamaged
		}
		q.Notifier.ServiceID = sid
	}
	if version >= 3 && p.Maybe() {
		n := &Notice{}
		if p.Maybe() {
			ttl := p.Int64()
			n.TTL = &ttl
		}
		q.BlockInfo.Notice = n
	}
	if err := p.Finish(); err != nil {
		return nil, err
	}
	return q, nil
}

func encodeService(sv *Service) []byte {
	b := wire.NewBuilder(nil)
	b.Byte(opService)
	b.Byte(serviceRecordVersion)
	b.Short(sv.ID)
	b.Byte(sv.Role)
	b.Short(sv.Fingerprint)
	b.Int64(sv.CreatedAt)
	out, err := b.Bytes()
	if err != nil {
		panic("store: encode service: " + err.Error())
	}
	return out
}

func decodeService(rec []byte) (*Service, error) {
	p := wire.NewParser(rec)
	p.Literal(string([]byte{opService, serviceRecordVersion}))
	sv := &Service{ID: clone(p.Short()), Role: p.Byte(), Fingerprint: clone(p.Short()), CreatedAt: p.Int64()}
	if err := p.Finish(); err != nil {
		return nil, err
	}
	return sv, nil
}

func encodeAddMessage(rid []byte, m *Message) []byte {
	b := wire.NewBuilder(make([]byte, 0, 40+len(rid)+len(m.Body)))
	b.Byte(opAddMessage)
	b.Short(rid)
	b.Short(m.ID)
	b.Int64(m.Timestamp)
	b.Bool(m.Notify)
	b.Bool(m.Quota)
	b.Large(m.Body)
	out, err := b.Bytes()
	if err != nil {
		panic("store: encode message: " + err.Error())
	}
	return out
}

func decodeMessage(p *wire.Parser) Message {
	return Message{
		ID:        clone(p.Short()),
		Timestamp: p.Int64(),
		Notify:    p.Bool(),
		Quota:     p.Bool(),
		Body:      clone(p.Large()),
	}
}

func encodeDelMessage(rid, msgID []byte) []byte {
	b := wire.NewBuilder(nil)
	b.Byte(opDelMessage)
	b.Short(rid)
	b.Short(msgID)
	out, _ := b.Bytes()
	return out
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return bytes.Clone(b)
}

// cloneQueue copies a queue deeply. Its byte fields share one new backing
// array (each capped at its own length, so an append cannot run into the
// next): callers get a copy per lookup, two on every command.
func cloneQueue(q *Queue) *Queue {
	c := *q
	n := len(q.RecipientID) + len(q.RcvDHSecret) + len(q.SenderID) + len(q.SenderKey) +
		len(q.LinkID) + len(q.LinkFixed) + len(q.LinkUser)
	for _, k := range q.RecipientKeys {
		n += len(k)
	}
	if nf := q.Notifier; nf != nil {
		n += len(nf.ID) + len(nf.Key) + len(nf.DHSecret) + len(nf.ServiceID)
	}
	arena := make([]byte, 0, n)
	cp := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		i := len(arena)
		arena = append(arena, b...)
		return arena[i:len(arena):len(arena)]
	}
	c.RecipientID = cp(q.RecipientID)
	c.RecipientKeys = make([][]byte, len(q.RecipientKeys))
	for i, k := range q.RecipientKeys {
		c.RecipientKeys[i] = cp(k)
	}
	c.RcvDHSecret = cp(q.RcvDHSecret)
	c.SenderID = cp(q.SenderID)
	c.SenderKey = cp(q.SenderKey)
	c.LinkID = cp(q.LinkID)
	c.LinkFixed = cp(q.LinkFixed)
	c.LinkUser = cp(q.LinkUser)
	if q.Notifier != nil {
		n := *q.Notifier
		n.ID, n.Key, n.DHSecret, n.ServiceID = cp(n.ID), cp(n.Key), cp(n.DHSecret), cp(n.ServiceID)
		c.Notifier = &n
	}
	if bn := q.BlockInfo.Notice; bn != nil {
		n := Notice{}
		if bn.TTL != nil {
			ttl := *bn.TTL
			n.TTL = &ttl
		}
		c.BlockInfo.Notice = &n
	}
	return &c
}

func cloneMessage(m Message) Message {
	m.ID = clone(m.ID)
	m.Body = clone(m.Body)
	return m
}

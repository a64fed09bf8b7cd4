package relay

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/transport"
)

// Notifications (spec §9.8) and service sessions (§11.2). Everything here
// runs under r.qmu except registerService and sessionService.

// pendingNtf is a notification waiting for the notifier's subscriber.
type pendingNtf struct {
	rsp smp.RspNMSG
	ts  int64 // the message timestamp, for expiry (SMP-EXP-3)
}

// service is the service of a service session.
type service struct {
	id          []byte
	role        smp.ServiceRole
	key         smpcrypto.PublicKey // the per-session Ed25519 key from the hello
	fingerprint []byte              // SHA-256 of the service identity certificate
}

// registerService finds or creates the service id of a fingerprint
// (SMP-SVC-2). Services are stored, so a service keeps its id, and its
// notifiers their association, across restarts.
func (r *Relay) registerService(role smp.ServiceRole, _ [][]byte, fp []byte) ([]byte, error) {
	r.qmu.Lock()
	if s := r.services[string(fp)]; s != nil {
		r.qmu.Unlock()
		if s.role != role {
			return nil, fmt.Errorf("service registered with role %c", s.role)
		}
		return s.id, nil
	}
	id, err := r.newID()
	if err == nil {
		err = r.store.PutService(store.Service{ID: id, Role: byte(role), Fingerprint: fp, CreatedAt: r.cfg.Now().Unix()})
	}
	if err == nil {
		r.services[string(fp)] = &service{id: id, role: role, fingerprint: fp}
	}
	seq := r.store.Written()
	r.qmu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := r.durable(seq); err != nil {
		return nil, err
	}
	return id, nil
}

// sessionService returns the service of a session, or nil.
func (r *Relay) sessionService(sess *transport.Session) *service {
	if sess.Service == nil {
		return nil
	}
	sk, err := smpcrypto.ParseSignedKey(sess.Service.Key.SignedKey)
	if err != nil {
		return nil // verified in the handshake; cannot happen
	}
	r.qmu.Lock()
	defer r.qmu.Unlock()
	for _, s := range r.services {
		if string(s.id) == string(sess.ServiceID) {
			return &service{id: s.id, role: s.role, key: sk.Key, fingerprint: s.fingerprint}
		}
	}
	return nil
}

// notify stores or delivers the notification of an accepted message
// (SMP-NTF-1, NTF-2, SMP-NMSG-1).
func (r *Relay) notify(q *store.Queue, m *store.Message) {
	if m == nil || m.Quota || !m.Notify || q.Notifier == nil {
		return
	}
	var nonce smpcrypto.Nonce
	if _, err := io.ReadFull(r.cfg.Rand, nonce[:]); err != nil {
		r.log.Error("notification nonce", "err", err)
		return
	}
	enc, err := smp.SealNtfMeta(q.Notifier.DHSecret, nonce, smp.NtfMeta{MsgID: m.ID, Timestamp: m.Timestamp})
	if err != nil {
		r.log.Error("notification", "err", err)
		return
	}
	nid := string(q.Notifier.ID)
	r.ntfs[nid] = append(r.ntfs[nid], pendingNtf{rsp: smp.RspNMSG{Nonce: nonce, EncMeta: enc}, ts: m.Timestamp})
	if to := r.ntfTarget(q.Notifier); to != nil {
		r.flushNtfs(nid, to)
	}
}

// ntfTarget is the connection notifications of a notifier go to: its own
// subscriber, else its service's subscriber.
func (r *Relay) ntfTarget(n *store.Notifier) *conn {
	if c := r.nsubs[string(n.ID)]; c != nil {
		return c
	}
	if n.ServiceID != nil {
		return r.svcSubs[string(n.ServiceID)]
	}
	return nil
}

// flushNtfs sends a notifier's pending notifications, oldest first, and
// forgets them.
func (r *Relay) flushNtfs(nid string, to *conn) {
	list := r.ntfs[nid]
	if len(list) == 0 {
		return
	}
	delete(r.ntfs, nid)
	group := make([][]byte, len(list))
	for i, n := range list {
		group[i] = to.encodeTx(nil, []byte(nid), n.rsp)
	}
	to.event(group...)
	r.stats.countNtfs(len(list))
}

// subscribeNotifier executes NSUB (SMP-CMD-NSUB-2, SMP-NTF-3, SMP-SVC-7).
func (r *Relay) subscribeNotifier(c *conn, env *cmdEnv, q *store.Queue) smp.Response {
	nid := string(q.Notifier.ID)
	// The association is stored with the notifier (SMP-SVC-7): NSUB in a
	// service session makes it, NSUB outside one removes it.
	var sid []byte
	if env.svc != nil {
		sid = env.svc.id
	}
	oldSID := q.Notifier.ServiceID
	if !bytes.Equal(q.Notifier.ServiceID, sid) {
		nq, err := r.store.UpdateQueue(q.RecipientID, func(q *store.Queue) error {
			if q.Notifier == nil || string(q.Notifier.ID) != nid {
				return store.ErrNoQueue
			}
			q.Notifier.ServiceID = sid
			return nil
		})
		if err != nil {
			if errors.Is(err, store.ErrNoQueue) {
				return smp.RspERR{Err: smp.AUTH}
			}
			r.log.Error("associate notifier", "err", err)
			return smp.RspERR{Err: smp.ErrorType{Kind: smp.ErrSTORE, Store: "write"}}
		}
		*q = *nq
	}
	if old := r.nsubs[nid]; old != nil && old != c {
		delete(old.ntfs, nid)
		old.event(old.encodeTx(nil, q.Notifier.ID, smp.RspEND{}))
	}
	r.stats.countNSUB(oldSID, sid, len(c.ntfs) > 0 || r.svcSubs[string(sid)] == c, c.ntfs[nid])
	r.nsubs[nid] = c
	c.ntfs[nid] = true
	r.flushNtfs(nid, c)
	if env.svc != nil {
		return smp.RspSOK{ServiceID: env.svc.id}
	}
	return smp.RspSOK{}
}

// subscribeService executes NSUBS (SMP-SVC-8, SMP-SUBS-8) and returns the
// number of notifiers of the service.
func (r *Relay) subscribeService(c *conn, svc *service) int64 {
	sid := string(svc.id)
	var nids []string
	for _, nid := range r.store.ServiceNotifiers(svc.id) {
		nids = append(nids, string(nid))
	}
	n := int64(len(nids))
	if old := r.svcSubs[sid]; old != nil && old != c {
		old.event(old.encodeTx(nil, svc.id, smp.RspENDS{Count: n}))
	}
	r.svcSubs[sid] = c
	for _, nid := range nids {
		// The service subscription replaces single subscriptions that
		// other connections of the service made with NSUB.
		if old := r.nsubs[nid]; old != nil && old != c {
			delete(old.ntfs, nid)
			delete(r.nsubs, nid)
		}
		if r.nsubs[nid] == nil {
			r.flushNtfs(nid, c)
		}
	}
	return n
}

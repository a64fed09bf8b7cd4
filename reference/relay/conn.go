package relay

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/transport"
)

type tlsConfig = tls.Config

// conn is one client connection after the handshake. Its reader goroutine
// parses, verifies and executes commands; its writer goroutine sends what
// the reader and other connections queue on out.
type conn struct {
	r    *Relay
	sess *transport.Session
	v    smp.Version

	out       chan outGroup // groups of transmissions, one batch each
	done      chan struct{}
	closeOnce sync.Once
	lastUsed  atomic.Int64 // Unix nanoseconds of the last block either way

	// Guarded by r.qmu.
	queues map[string]*qsub // recipient id → SUB or GET use (SMP-SUBS-3)
	ntfs   map[string]bool  // notifier ids this connection is subscribed to

	svc *service // the session's service, nil for ordinary clients
}

// outGroup is one batch for the writer: encoded transmissions, or fill,
// which makes them in the writer goroutine. A MSG pushed to a subscriber is
// sealed there (outside r.qmu) after its record is durable, yet in the order
// it was queued among the connection's other events.
type outGroup struct {
	txs  [][]byte
	fill func() [][]byte
}

// qsub is a connection's use of one queue.
type qsub struct {
	get       bool   // GET use rather than a subscription
	delivered []byte // id of the message in flight, nil when none (SMP-DLV-1)
}

func (r *Relay) serveSession(sess *transport.Session) {
	c := &conn{
		r: r, sess: sess, v: sess.Version,
		out:    make(chan outGroup, r.cfg.EventBuffer),
		done:   make(chan struct{}),
		queues: map[string]*qsub{},
		ntfs:   map[string]bool{},
		svc:    r.sessionService(sess),
	}
	c.touch()
	r.mu.Lock()
	r.sessions = append(r.sessions, c)
	r.mu.Unlock()
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writer()
	}()
	c.reader()
	c.close()
	<-writerDone
	r.dropConn(c)
}

func (c *conn) touch() { c.lastUsed.Store(time.Now().UnixNano()) }

// close ends the connection once; safe from any goroutine.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		c.sess.Close()
	})
}

func (c *conn) writer() {
	for {
		select {
		case <-c.done:
			return
		case g := <-c.out:
			group := g.txs
			if g.fill != nil {
				if group = g.fill(); len(group) == 0 {
					continue
				}
			}
			if err := c.sess.WriteTransmissions(group); err != nil {
				if !errors.Is(err, io.EOF) {
					c.r.log.Debug("write failed", "err", err)
				}
				c.close()
				return
			}
			c.touch()
		}
	}
}

// send queues the connection's own responses, waiting for room: a client
// that does not read its responses slows down only itself.
func (c *conn) send(group [][]byte) {
	if len(group) == 0 {
		return
	}
	select {
	case c.out <- outGroup{txs: group}:
	case <-c.done:
	}
}

// sendFill is send with the transmissions made later by the writer.
func (c *conn) sendFill(fill func() [][]byte) {
	select {
	case c.out <- outGroup{fill: fill}:
	case <-c.done:
	}
}

// event queues a transmission for this connection from anywhere (usually
// under r.qmu). It never blocks: a connection that lets its events pile up
// is closed.
func (c *conn) event(group ...[]byte) { c.queueEvent(outGroup{txs: group}) }

// eventFill is event with the transmissions made later by the writer.
func (c *conn) eventFill(fill func() [][]byte) { c.queueEvent(outGroup{fill: fill}) }

func (c *conn) queueEvent(g outGroup) {
	select {
	case c.out <- g:
	case <-c.done:
	default:
		c.r.log.Warn("closing a connection that does not read its events")
		c.close()
	}
}

// reader processes blocks until the connection ends.
func (c *conn) reader() {
	for {
		content, err := c.sess.ReadBlock()
		if err != nil {
			if errors.Is(err, transport.ErrBlock) {
				// SMP-BLOCK-2: answer and carry on with the next block.
				c.send([][]byte{c.errTx(nil, nil, smp.BLOCK)})
				continue
			}
			return
		}
		c.touch()
		// content aliases the session's read buffer; commands keep slices
		// of it beyond the next read only through copies, but the proxy
		// goroutines keep whole transmissions.
		txs, err := smp.ParseBlockContent(bytes.Clone(content))
		if err != nil {
			c.send([][]byte{c.errTx(nil, nil, smp.BLOCK)})
			continue
		}
		c.processBlock(txs)
		select {
		case <-c.done:
			return
		default:
		}
	}
}

// encodeTx frames an unauthorized response or event (SMP-TX-3).
func (c *conn) encodeTx(corrID, entityID []byte, rsp smp.Response) []byte {
	if p, ok := rsp.(pendingMSG); ok {
		rsp = msgResponse(p.q, p.m)
	}
	if h := c.r.hooks; h != nil && h.reply != nil {
		rsp = h.reply(c, corrID, entityID, rsp)
	}
	if _, isMsg := rsp.(smp.RspMSG); isMsg {
		c.r.stats.messagesOut.Add(1)
	}
	body, err := smp.EncodeResponse(c.v, rsp)
	if err != nil {
		// Our own responses always encode; a failure is a bug, reported
		// to the client as an internal error rather than dropped.
		c.r.log.Error("encode response", "tag", rsp.Tag(), "err", err)
		body, _ = smp.EncodeResponse(c.v, smp.RspERR{Err: smp.ErrorType{Kind: smp.ErrINTERNAL}})
	}
	tx, err := smp.EncodeTransmission(c.v, smp.Transmission{SessionID: c.sess.SessionID, CorrID: corrID, EntityID: entityID, Command: body})
	if err != nil {
		c.r.log.Error("encode transmission", "err", err)
	}
	return tx
}

func (c *conn) errTx(corrID, entityID []byte, e smp.ErrorType) []byte {
	return c.encodeTx(corrID, entityID, smp.RspERR{Err: e})
}

// dropConn ends the connection's subscriptions without events (SMP-SUBS-4).
func (r *Relay) dropConn(c *conn) {
	r.qmu.Lock()
	for rid := range c.queues {
		if r.subs[rid] == c {
			delete(r.subs, rid)
		}
	}
	for nid := range c.ntfs {
		if r.nsubs[nid] == c {
			delete(r.nsubs, nid)
		}
	}
	if c.svc != nil && r.svcSubs[string(c.svc.id)] == c {
		delete(r.svcSubs, string(c.svc.id))
	}
	c.queues, c.ntfs = map[string]*qsub{}, map[string]bool{}
	r.qmu.Unlock()
	r.mu.Lock()
	for i, s := range r.sessions {
		if s == c {
			r.sessions = append(r.sessions[:i], r.sessions[i+1:]...)
			break
		}
	}
	r.mu.Unlock()
}

// closeIdle closes connections without subscriptions that have seen no
// traffic for IdleTimeout (SMP-EXP-4).
func (r *Relay) closeIdle() {
	cut := time.Now().Add(-r.cfg.IdleTimeout).UnixNano()
	r.mu.Lock()
	sessions := append([]*conn(nil), r.sessions...)
	r.mu.Unlock()
	for _, c := range sessions {
		if c.lastUsed.Load() >= cut {
			continue
		}
		r.qmu.Lock()
		busy := false
		for _, q := range c.queues {
			if !q.get {
				busy = true
			}
		}
		busy = busy || len(c.ntfs) > 0
		r.qmu.Unlock()
		if !busy {
			c.close()
		}
	}
}

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
	"github.com/smpkit/smpkit/reference/wire"
)

type tlsConfig = tls.Config

// conn is one client connection after the handshake. Its reader goroutine
// parses, verifies and executes commands; a writer goroutine, started when
// something is queued and ending when the queue is empty, sends what the
// reader and other connections queue. An idle connection thus has one
// goroutine and no buffers beyond TLS's own.
type conn struct {
	r    *Relay
	sess *transport.Session
	v    smp.Version

	omu     sync.Mutex
	ocond   sync.Cond  // the queue shrank or the connection closed
	queue   []outGroup // one batch each
	writing bool       // a writer goroutine is running
	closed  bool
	writers sync.WaitGroup

	done      chan struct{}
	closeOnce sync.Once
	lastUsed  atomic.Int64 // Unix nanoseconds of the last block either way

	// For the control port's clients: a number in order of arrival, and
	// Unix seconds of the start and of the last block each way.
	id                   int64
	createdAt            int64
	rcvActive, sndActive atomic.Int64

	// Guarded by r.qmu.
	queues map[string]*qsub // recipient id → SUB or GET use (SMP-SUBS-3)
	ntfs   map[string]bool  // notifier ids this connection is subscribed to

	svc *service // the session's service, nil for ordinary clients

	// proxySem bounds the proxy commands in flight (ProxyConfig.Concurrency);
	// made on first use, by the reader goroutine only.
	proxySem chan struct{}

	cmdEnv *cmdEnv // made by env on the first block

	// delivering is set by the reader when a command of its block started
	// another connection's writer to push a message (see processBlock).
	delivering bool
}

// proxySlot waits for room for one more proxy command and returns the
// function that frees it.
func (c *conn) proxySlot() (release func()) {
	if c.proxySem == nil {
		c.proxySem = make(chan struct{}, c.r.proxyConfig().Concurrency)
	}
	select {
	case c.proxySem <- struct{}{}:
		return func() { <-c.proxySem }
	case <-c.done:
		return func() {}
	}
}

// outGroup is one batch for the writer: encoded transmissions, or fill,
// which makes them in the writer goroutine. A MSG pushed to a subscriber is
// sealed there (outside r.qmu) after its record is durable, yet in the order
// it was queued among the connection's other events. seq is the store
// record the fill waits for (0: none), so that the writer can send what is
// ready before it waits.
type outGroup struct {
	txs  [][]byte
	fill func() [][]byte
	seq  uint64
}

// qsub is a connection's use of one queue.
type qsub struct {
	get       bool   // GET use rather than a subscription
	delivered []byte // id of the message in flight, nil when none (SMP-DLV-1)
	// Of the message in flight, for the metrics: when it was delivered
	// (Unix seconds) and its flags.
	deliveredAt                     int64
	deliveredQuota, deliveredNotify bool
}

func (r *Relay) serveSession(sess *transport.Session) {
	c := &conn{
		r: r, sess: sess, v: sess.Version,
		done:   make(chan struct{}),
		queues: map[string]*qsub{},
		ntfs:   map[string]bool{},
		svc:    r.sessionService(sess),
		id:     r.clientSeq.Add(1) - 1,
	}
	c.ocond.L = &c.omu
	c.touch()
	c.createdAt = c.lastUsed.Load() / 1e9
	c.rcvActive.Store(c.createdAt)
	c.sndActive.Store(c.createdAt)
	r.mu.Lock()
	r.sessions = append(r.sessions, c)
	r.mu.Unlock()
	c.reader()
	c.close()
	c.writers.Wait()
	r.dropConn(c)
}

func (c *conn) touch() { c.lastUsed.Store(time.Now().UnixNano()) }

// touchRcv and touchSnd are touch for a block received and sent.
func (c *conn) touchRcv() { c.touchWay(&c.rcvActive) }
func (c *conn) touchSnd() { c.touchWay(&c.sndActive) }

func (c *conn) touchWay(at *atomic.Int64) {
	now := time.Now().UnixNano()
	c.lastUsed.Store(now)
	at.Store(now / 1e9)
}

// close ends the connection once; safe from any goroutine.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		c.sess.Close()
		c.omu.Lock()
		c.closed = true
		c.queue = nil
		c.ocond.Broadcast()
		c.omu.Unlock()
	})
}

// enqueueLocked adds a group and starts the writer if none runs, reporting
// whether it did. The caller holds c.omu.
func (c *conn) enqueueLocked(g outGroup) bool {
	c.queue = append(c.queue, g)
	if c.writing {
		return false
	}
	c.writing = true
	c.writers.Add(1)
	go c.writer()
	return true
}

// writer sends queued groups until the queue is empty or the connection
// closes. It takes every group queued at once and packs their
// transmissions into as few blocks as they fit (SMP-TX-6), so that under
// load one block encryption and one write carry several responses and an
// event; a group that must wait for an fsync first lets the ones before
// it go out.
func (c *conn) writer() {
	defer c.writers.Done()
	var taken []outGroup
	var batch [][]byte
	for {
		c.omu.Lock()
		if c.closed || len(c.queue) == 0 {
			c.writing = false
			c.queue = nil // let an idle connection's queue go
			c.omu.Unlock()
			return
		}
		taken = append(taken[:0], c.queue...)
		clear(c.queue)
		c.queue = c.queue[:0]
		c.ocond.Broadcast()
		c.omu.Unlock()
		batch = batch[:0]
		ok := true
		for _, g := range taken {
			if g.fill == nil {
				batch = append(batch, g.txs...)
				continue
			}
			if len(batch) > 0 && g.seq > 0 && !c.r.store.Settled(g.seq) {
				if ok = c.write(batch); !ok {
					break
				}
				batch = batch[:0]
			}
			batch = append(batch, g.fill()...)
		}
		if ok && len(batch) > 0 {
			c.write(batch)
		}
		clear(taken)
		clear(batch)
	}
}

// write sends one batch for the writer and recycles its buffers; false if
// the connection failed (and is now closed).
func (c *conn) write(batch [][]byte) bool {
	write := c.sess.WriteTransmissions
	if h := c.r.hooks; h != nil && h.write != nil {
		write = func(g [][]byte) error { return h.write(c, g) }
	}
	err := write(batch)
	putTxBufs(batch)
	if err != nil {
		if !errors.Is(err, io.EOF) {
			c.r.log.Debug("write failed", "err", err)
		}
		c.close()
		return false
	}
	c.touchSnd()
	return true
}

// send queues the connection's own responses, waiting for room: a client
// that does not read its responses slows down only itself.
func (c *conn) send(group [][]byte) {
	if len(group) == 0 {
		return
	}
	c.enqueueWait(outGroup{txs: group})
}

// sendFill is send with the transmissions made later by the writer, once
// the store's record seq is durable (0: none).
func (c *conn) sendFill(seq uint64, fill func() [][]byte) {
	c.enqueueWait(outGroup{fill: fill, seq: seq})
}

// enqueueWait queues g once there is room.
func (c *conn) enqueueWait(g outGroup) {
	c.omu.Lock()
	defer c.omu.Unlock()
	for !c.closed && len(c.queue) >= c.r.cfg.EventBuffer {
		c.ocond.Wait()
	}
	if !c.closed {
		c.enqueueLocked(g)
	}
}

// event queues a transmission for this connection from anywhere (usually
// under r.qmu). It never blocks: a connection that lets its events pile up
// is closed.
func (c *conn) event(group ...[]byte) { c.queueEvent(outGroup{txs: group}) }

// eventFill is event with the transmissions made later by the writer, once
// the store's record seq is durable. It reports whether it started the
// connection's writer goroutine.
func (c *conn) eventFill(seq uint64, fill func() [][]byte) bool {
	return c.queueEvent(outGroup{fill: fill, seq: seq})
}

func (c *conn) queueEvent(g outGroup) (started bool) {
	c.omu.Lock()
	if c.closed {
		c.omu.Unlock()
		return false
	}
	if len(c.queue) >= c.r.cfg.EventBuffer {
		c.omu.Unlock()
		c.r.log.Warn("closing a connection that does not read its events")
		c.close()
		return false
	}
	started = c.enqueueLocked(g)
	c.omu.Unlock()
	return started
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
		c.touchRcv()
		if h := c.r.hooks; h != nil && h.block != nil {
			content = h.block(c, content)
		}
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

// encodeTx frames an unauthorized response or event (SMP-TX-3). MSG
// transmissions are built in pooled buffers, which the writer returns after
// sending them, and the MSG body goes back to its pool once copied.
func (c *conn) encodeTx(corrID, entityID []byte, rsp smp.Response) []byte {
	if p, ok := rsp.(pendingMSG); ok {
		rsp = msgResponse(p.q, p.m)
	}
	if h := c.r.hooks; h != nil && h.reply != nil {
		rsp = h.reply(c, corrID, entityID, rsp)
	}
	var buf []byte
	msg, isMsg := rsp.(smp.RspMSG)
	if isMsg {
		c.r.stats.messagesOut.Add(1)
		buf = getTxBuf()
	}
	switch rsp.(type) {
	case smp.RspEND, smp.RspDELD, smp.RspENDS: // each an event group of its own
		c.r.stats.qSubEnd.Add(1)
		c.r.stats.qSubEndB.Add(1)
	}
	t := smp.Transmission{SessionID: c.sess.SessionID, CorrID: corrID, EntityID: entityID}
	b := wire.NewBuilder(buf)
	smp.AppendTransmission(b, c.v, t) // the command is the tail: the response follows
	smp.AppendResponse(b, c.v, rsp)
	tx, err := b.Bytes()
	if isMsg {
		putMsgBody(msg.Body)
	}
	if err != nil {
		// Our own responses always encode; a failure is a bug, reported
		// to the client as an internal error rather than dropped.
		c.r.log.Error("encode response", "tag", rsp.Tag(), "err", err)
		body, _ := smp.EncodeResponse(c.v, smp.RspERR{Err: smp.ErrorType{Kind: smp.ErrINTERNAL}})
		t.Command = body
		if tx, err = smp.EncodeTransmission(c.v, t); err != nil {
			c.r.log.Error("encode transmission", "err", err)
		}
	}
	return tx
}

// Buffers for MSG transmissions and bodies, the 16 KiB allocations of
// every delivery. A transmission queued on c.out belongs to the writer, so
// the writer may recycle it once sent.
var (
	txPool      sync.Pool
	msgBodyPool sync.Pool
)

const txBufSize = smp.BlockSize

func getTxBuf() []byte {
	if p, _ := txPool.Get().(*[]byte); p != nil {
		return (*p)[:0]
	}
	return make([]byte, 0, txBufSize)
}

func putTxBufs(group [][]byte) {
	for _, tx := range group {
		if cap(tx) == txBufSize {
			tx = tx[:0]
			txPool.Put(&tx)
		}
	}
}

func getMsgBody() []byte {
	if p, _ := msgBodyPool.Get().(*[]byte); p != nil {
		return (*p)[:0]
	}
	return make([]byte, 0, smp.MsgBodySize)
}

func putMsgBody(b []byte) {
	if cap(b) == smp.MsgBodySize {
		b = b[:0]
		msgBodyPool.Put(&b)
	}
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

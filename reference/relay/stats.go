package relay

import (
	"bytes"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/store"
)

// stats are the relay's counters, exported at /metrics and in the
// metrics file. They count events, never identify queues or carry content.
//
// The simplex_smp_* ones count what upstream's ServerStats count, at the
// same events (simplexmq src/Simplex/Messaging/Server/Stats.hs, and the
// incStat calls in Server.hs): the comment after a field names upstream's.
// Upstream resets its counters when it appends a line to the daily stats
// CSV (log_stats); smpkit writes no CSV, so its counters only grow.
type stats struct {
	startedAt time.Time // upstream fromTime

	connections atomic.Int64 // open now
	accepted    atomic.Int64
	refused     atomic.Int64 // by connection limits
	tlsFailures atomic.Int64
	commands    atomic.Int64
	messagesIn  atomic.Int64 // msgSent: SEND stored a message (not at the quota)
	messagesOut atomic.Int64

	messagesAcked   atomic.Int64 // msgRecv: ACK deleted a message (not a QUOTA marker), by SUB or GET
	notifications   atomic.Int64 // msgNtfs: NMSG sent to notifier subscribers
	messagesExpired atomic.Int64 // msgExpired
	queuesCreated   atomic.Int64 // qCreated
	queuesDeleted   atomic.Int64 // qDeletedAll, with qDeletedNew + qDeletedSecured (countDeleted)
	queuesSecured   atomic.Int64 // qSecured: KEY, SKEY, LKEY
	queuesBlocked   atomic.Int64 // qBlocked: control-port block
	subscriptions   atomic.Int64 // qSub: a new SUB that delivered a waiting message

	commandErrors, authFailures atomic.Int64
	storeErrors                 atomic.Int64
	pRelays, pRelaysOwn         proxyCounts // PRXY: sessions with destination relays
	pMsgFwds, pMsgFwdsOwn       proxyCounts // PFWD: forwarded messages
	pMsgFwdsRecv                atomic.Int64
	socketsMu                   sync.Mutex
	sockets                     map[string]*socketCounts // by listening port

	qDeletedNew, qDeletedSecured atomic.Int64 // by whether the queue had a sender key
	qDeletedAllB                 atomic.Int64 // blocks of several recipient commands, the first DEL
	qSubAllB                     atomic.Int64 // ... the first SUB
	qSubAuth                     atomic.Int64 // SUB failed verification with AUTH
	qSubDuplicate                atomic.Int64 // SUB of a queue the connection is subscribed to
	qSubProhibited               atomic.Int64 // SUB of a queue the connection used GET on
	qSubEnd, qSubEndB            atomic.Int64 // END, DELD and ENDS events sent; their batches

	ntfCreated, ntfNewCreated atomic.Int64 // NKEY; NEW with notifier credentials
	ntfDeleted, ntfDeletedB   atomic.Int64 // NDEL of an existing notifier; blocks led by NDEL
	ntfSub, ntfSubB           atomic.Int64 // new NSUB outside service sessions; blocks led by NSUB
	ntfSubAuth                atomic.Int64 // NSUB failed verification with AUTH
	ntfSubDuplicate           atomic.Int64 // NSUB of a notifier the connection is subscribed to

	msgSentAuth, msgSentQuota  atomic.Int64 // SEND: AUTH (verification, or queue off); QUOTA
	msgSentLarge, msgSentBlock atomic.Int64 // SEND: LARGE_MSG; BLOCKED
	msgRecvGet                 atomic.Int64 // msgRecv of messages taken by GET
	msgGet, msgGetDuplicate    atomic.Int64 // GET returned a message: first time; again, unacknowledged
	msgGetNoMsg, msgGetAuth    atomic.Int64 // GET: no message; AUTH
	msgGetProhibited           atomic.Int64 // GET on a subscribed queue
	msgSentNtf, msgRecvNtf     atomic.Int64 // msgSent and msgRecv of messages with the notification flag
	msgNtfsB, msgNtfExpired    atomic.Int64 // NMSG batches (up to 80 each); notifications expired undelivered
	activeQueues, activeNtfs   periodStats  // queues with msgSent or msgRecv; the same with the flag
	ackTimes                   timeBuckets  // msgRecvAckTimes: delivery to ACK, in seconds
	ntfSrv                     serviceCounts
}

// serviceCounts are upstream's ServiceStats of notifier services (NSUB in
// service sessions).
type serviceCounts struct {
	assocNew, assocDuplicate, assocUpdated, assocRemoved atomic.Int64
	subCount, subQueues                                  atomic.Int64
}

// proxyCounts are upstream's ProxyStats: requests and their outcomes.
type proxyCounts struct {
	requests, successes, errConnect, errCompat, errOther atomic.Int64
}

// proxyPair is the counters one proxy event updates: all, and own when
// the destination is one of the operator's relays.
type proxyPair []*proxyCounts

func (s *stats) proxyFor(all, own *proxyCounts, isOwn bool) proxyPair {
	if isOwn {
		return proxyPair{all, own}
	}
	return proxyPair{all}
}

func (p proxyPair) inc(field func(*proxyCounts) *atomic.Int64) {
	for _, c := range p {
		field(c).Add(1)
	}
}

type socketCounts struct{ accepted, closed, active atomic.Int64 }

func (s *stats) socketsFor(port string) *socketCounts {
	s.socketsMu.Lock()
	defer s.socketsMu.Unlock()
	if s.sockets == nil {
		s.sockets = map[string]*socketCounts{}
	}
	c := s.sockets[port]
	if c == nil {
		c = &socketCounts{}
		s.sockets[port] = c
	}
	return c
}

// countResult updates the counters that depend on how a command ended.
func (s *stats) countResult(cmd smp.Command, err error) {
	if err != nil {
		if e, ok := smp.ErrorTypeOf(err); ok && e.Kind == smp.ErrSTORE {
			s.storeErrors.Add(1)
		}
		return
	}
	switch cmd.(type) {
	case smp.CmdKEY, smp.CmdSKEY, smp.CmdLKEY:
		s.queuesSecured.Add(1)
	}
}

// countAuthFailure counts a transmission that failed verification with
// AUTH, as upstream's receive does for SEND, SUB, NSUB and GET.
func (s *stats) countAuthFailure(cmd smp.Command, err error) {
	if e, ok := smp.ErrorTypeOf(err); !ok || e != smp.AUTH {
		return
	}
	switch cmd.(type) {
	case smp.CmdSEND:
		s.msgSentAuth.Add(1)
	case smp.CmdSUB:
		s.qSubAuth.Add(1)
	case smp.CmdNSUB:
		s.ntfSubAuth.Add(1)
	case smp.CmdGET:
		s.msgGetAuth.Add(1)
	}
}

// countBatch counts a block of several verified commands of one
// recipient or notifier, by its first command, as upstream's
// updateBatchStats. (Upstream looks at the parsed transmissions before
// verification; here those that failed verification are not seen.)
func (s *stats) countBatch(rcs []received) {
	if len(rcs) < 2 {
		return
	}
	p := rcs[0].cmd.Party()
	if p != smp.Recipient && p != smp.Notifier {
		return
	}
	for _, rc := range rcs[1:] {
		if rc.cmd.Party() != p {
			return
		}
	}
	switch rcs[0].cmd.(type) {
	case smp.CmdSUB:
		s.qSubAllB.Add(1)
	case smp.CmdDEL:
		s.qDeletedAllB.Add(1)
	case smp.CmdNDEL:
		s.ntfDeletedB.Add(1)
	case smp.CmdNSUB:
		s.ntfSubB.Add(1)
	}
}

// countNoSession counts a PFWD without a proxy session, as upstream does:
// a request and a connect error, never own.
func (s *stats) countNoSession() {
	s.pMsgFwds.requests.Add(1)
	s.pMsgFwds.errConnect.Add(1)
}

// countDeleted counts a deleted queue (upstream updateDeletedStats).
func (s *stats) countDeleted(q *store.Queue) {
	s.queuesDeleted.Add(1)
	if q.SenderKey == nil {
		s.qDeletedNew.Add(1)
	} else {
		s.qDeletedSecured.Add(1)
	}
}

// countSent counts a message SEND stored (upstream sendMessage).
func (s *stats) countSent(rid []byte, notify bool, now time.Time) {
	s.messagesIn.Add(1)
	s.activeQueues.update(rid, now)
	if notify {
		s.msgSentNtf.Add(1)
		s.activeNtfs.update(rid, now)
	}
}

// countRecv counts a message ACK deleted (upstream acknowledgeMsg's
// updateStats): sub is the use it was delivered in, before it is cleared.
func (s *stats) countRecv(rid []byte, sub *qsub, now time.Time) {
	if sub.deliveredQuota {
		return
	}
	s.messagesAcked.Add(1)
	if sub.get {
		s.msgRecvGet.Add(1)
	}
	s.activeQueues.update(rid, now)
	if sub.deliveredNotify {
		s.msgRecvNtf.Add(1)
		s.activeNtfs.update(rid, now)
	}
	s.ackTimes.add(now.Unix() - sub.deliveredAt)
}

// countNSUB counts a successful NSUB as upstream's
// subscribeNotifications: oldSID and sid are the notifier's service before
// and the session's (nil: none); svcSub whether the connection had
// service-associated notifier subscriptions already (upstream: its
// service queue count is not 0), subscribed whether it had this one. In
// service sessions only the service counters move.
func (s *stats) countNSUB(oldSID, sid []byte, svcSub, subscribed bool) {
	switch {
	case sid != nil && bytes.Equal(oldSID, sid):
		if !svcSub {
			s.ntfSrv.subCount.Add(1)
			s.ntfSrv.subQueues.Add(1)
		}
		s.ntfSrv.assocDuplicate.Add(1)
		return
	case sid != nil:
		if !svcSub {
			s.ntfSrv.subCount.Add(1)
		}
		s.ntfSrv.subQueues.Add(1)
		if oldSID == nil {
			s.ntfSrv.assocNew.Add(1)
		} else {
			s.ntfSrv.assocUpdated.Add(1)
		}
		return
	case oldSID != nil:
		s.ntfSrv.assocRemoved.Add(1)
	}
	if subscribed {
		s.ntfSubDuplicate.Add(1)
	} else {
		s.ntfSub.Add(1)
	}
}

// countNtfs counts notifications sent in one event group (upstream
// updateNtfStats: a batch per 80).
func (s *stats) countNtfs(n int) {
	s.notifications.Add(int64(n))
	s.msgNtfsB.Add(int64(n/80 + 1))
}

// periodStats count the distinct queues active in the current UTC day,
// Monday-started week and month: upstream's PeriodStats, whose sets of
// queue-id hashes its daily stats log resets (the day set every day, the
// week set on Mondays, the month set on the 1st).
//
// Instead of three sets, one map holds, for each queue seen, the last day,
// week and month it was counted in; a queue already counted today costs a
// lookup and no allocation. The map keeps only queues seen in the current
// month or week: entries older than both are dropped when a week starts
// (one pass over the map, under its lock, once a week), so it holds at
// most the monthly plus weekly active queues, about 40 bytes each
// (upstream's sets hold a hash per queue per period).
type periodStats struct {
	mu      sync.Mutex
	seed    maphash.Seed
	marks   map[uint64]periodMark
	week    int32 // of the last prune
	current periodMark
	counts  [3]int64 // day, week, month
}

type periodMark struct{ day, week, month int32 }

// periodsOf is the UTC day number, Monday-started week number and month
// number of t (1970-01-01 was a Thursday).
func periodsOf(t time.Time) periodMark {
	t = t.UTC()
	d := int32(t.Unix() / 86400)
	return periodMark{day: d, week: (d + 3) / 7, month: int32(t.Year()*12 + int(t.Month()) - 1)}
}

func (p *periodStats) update(id []byte, now time.Time) {
	cur := periodsOf(now)
	p.mu.Lock()
	if p.marks == nil {
		p.seed = maphash.MakeSeed()
		p.marks = map[uint64]periodMark{}
	}
	p.roll(cur)
	h := maphash.Bytes(p.seed, id)
	old := p.marks[h]
	m := old
	if m.day != cur.day {
		m.day = cur.day
		p.counts[0]++
	}
	if m.week != cur.week {
		m.week = cur.week
		p.counts[1]++
	}
	if m.month != cur.month {
		m.month = cur.month
		p.counts[2]++
	}
	if m != old {
		p.marks[h] = m
	}
	p.mu.Unlock()
}

// roll starts the periods that ended before now; called with p.mu held.
func (p *periodStats) roll(now periodMark) {
	if p.current.day != now.day {
		p.counts[0] = 0
	}
	if p.current.week != now.week {
		p.counts[1] = 0
	}
	if p.current.month != now.month {
		p.counts[2] = 0
	}
	if p.week != now.week {
		p.week = now.week
		for h, m := range p.marks {
			if m.week != now.week && m.month != now.month {
				delete(p.marks, h)
			}
		}
	}
	p.current = now
}

// get returns the day, week and month counts at now.
func (p *periodStats) get(now time.Time) (day, week, month int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.roll(periodsOf(now))
	return p.counts[0], p.counts[1], p.counts[2]
}

// timeBuckets are upstream's TimeBuckets: the sum and maximum of delays
// (seconds) and a count per delay, rounded up to 5 s up to 30 s, to 10 s
// up to a minute, to 30 s up to 3 minutes and to a minute beyond.
type timeBuckets struct {
	mu       sync.Mutex
	sum, max int64
	counts   map[int64]int64 // at most one key per minute of the message TTL
}

func bucketOf(t int64) int64 {
	up := func(m int64) int64 { return (t + m - 1) / m * m }
	switch {
	case t <= 5:
		return t
	case t <= 30:
		return up(5)
	case t <= 60:
		return up(10)
	case t <= 180:
		return up(30)
	}
	return up(60)
}

func (b *timeBuckets) add(t int64) {
	k := bucketOf(t)
	b.mu.Lock()
	if b.counts == nil {
		b.counts = map[int64]int64{}
	}
	b.sum += t
	b.max = max(b.max, t)
	b.counts[k]++
	b.mu.Unlock()
}

// snapshot returns a copy.
func (b *timeBuckets) snapshot() (sum, maxT int64, counts map[int64]int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	counts = make(map[int64]int64, len(b.counts))
	for k, v := range b.counts {
		counts[k] = v
	}
	return b.sum, b.max, counts
}

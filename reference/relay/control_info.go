package relay

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/smpkit/smpkit/reference/smp"
)

// The control port's commands that report on the running relay, and save.
// Each prints upstream's lines (Server.hs runCPClient) with smpkit's
// equivalent of each quantity; where smpkit has none, the answer says so.

// controlInfo runs the commands without an argument.
func (r *Relay) controlInfo(cmd string, role cpRole, say func(string, ...any)) {
	switch cmd {
	case "stats":
		r.controlStats(say)
	case "stats-rts":
		controlRuntime(say)
	case "clients":
		r.controlClients(say)
	case "sockets":
		r.controlSockets(say)
	case "threads":
		controlThreads(say)
	case "server-info":
		r.controlServerInfo(role, say)
	case "save":
		say("saving server state...")
		if err := r.store.Save(); err != nil {
			say("error: %v", err)
			return
		}
		queues, messages := r.store.Counts()
		say("store: queues.log and messages.log rewritten and synced (%d queues, %d messages)", queues, messages)
		say("not saved: pending notifications and counters (smpkit keeps them in memory only)")
		say("server state saved!")
	case "suspend", "resume":
		// Upstream parses these but does not implement them either.
		say("%s not implemented", cmd)
	case "socket-threads":
		say("error: socket-threads is not supported by smpkit: Go gives goroutines no ids or labels to list per socket; see sockets, clients and threads")
	}
}

// controlStats prints counters with upstream's labels where they mean the
// same, then smpkit's.
func (r *Relay) controlStats(say func(string, ...any)) {
	st := &r.stats
	queues, messages := r.store.Counts()
	// Upstream prints fromTime with Haskell's show of a UTCTime.
	say("fromTime: %s", r.started.UTC().Format("2006-01-02 15:04:05.999999999 UTC"))
	say("qCreated: %d", st.queuesCreated.Load())
	say("qSecured: %d", st.queuesSecured.Load())
	say("qDeletedAll: %d", st.queuesDeleted.Load())
	say("qBlocked: %d", st.queuesBlocked.Load())
	say("qSub: %d", st.subscriptions.Load())
	say("msgSent: %d", st.messagesIn.Load())
	say("msgRecv: %d", st.messagesAcked.Load())
	say("msgExpired: %d", st.messagesExpired.Load())
	say("msgNtfs: %d", st.notifications.Load())
	say("qCount: %d", queues)
	say("msgCount: %d", messages)
	proxy := func(label string, c *proxyCounts) {
		say("%s: requests=%d, successes=%d, errorsConnect=%d, errorsCompat=%d, errorsOther=%d", label,
			c.requests.Load(), c.successes.Load(), c.errConnect.Load(), c.errCompat.Load(), c.errOther.Load())
	}
	proxy("pRelays", &st.pRelays)
	proxy("pRelaysOwn", &st.pRelaysOwn)
	proxy("pMsgFwds", &st.pMsgFwds)
	proxy("pMsgFwdsOwn", &st.pMsgFwdsOwn)
	say("pMsgFwdsRecv: %d", st.pMsgFwdsRecv.Load())
	say("connections: %d", st.connections.Load())
	say("storeErrors: %d", st.storeErrors.Load())
}

// controlRuntime answers stats-rts, upstream's GHC runtime statistics,
// with the Go runtime's.
func controlRuntime(say func(string, ...any)) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	say("runtime: %s (Go runtime statistics; smpkit has no GHC RTS)", runtime.Version())
	say("goroutines: %d", runtime.NumGoroutine())
	say("gcs: %d", m.NumGC)
	say("allocated_bytes: %d", m.TotalAlloc)
	say("heap_live_bytes: %d", m.HeapAlloc)
	say("heap_sys_bytes: %d", m.HeapSys)
	say("sys_bytes: %d", m.Sys)
	say("gc_pause_total_ns: %d", m.PauseTotalNs)
}

// sessionsNow is a copy of the connections after the handshake.
func (r *Relay) sessionsNow() []*conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sessions)
}

// controlClients lists the connections with upstream's columns. Times are
// Unix seconds; subscriptions counts the queues the connection subscribed
// to or used with GET, as upstream's map of them does.
func (r *Relay) controlClients(say func(string, ...any)) {
	say("clientId,sessionId,connected,createdAt,rcvActiveAt,sndActiveAt,age,subscriptions")
	now := time.Now().Unix() // the clock of createdAt
	for _, c := range r.sessionsNow() {
		c.omu.Lock()
		connected := !c.closed
		c.omu.Unlock()
		r.qmu.Lock()
		subs := len(c.queues)
		r.qmu.Unlock()
		say("%d,%s,%s,%d,%d,%d,%d,%d", c.id, base64.StdEncoding.EncodeToString(c.sess.SessionID), showBool(connected),
			c.createdAt, c.rcvActive.Load(), c.sndActive.Load(), now-c.createdAt, subs)
	}
}

func showBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// controlSockets prints, per listening port, the connections accepted,
// closed and open; leaked (accepted, neither closed nor open) is computed
// as upstream computes it, and stays 0 here: every connection's goroutine
// counts its close.
func (r *Relay) controlSockets(say func(string, ...any)) {
	st := &r.stats
	st.socketsMu.Lock()
	ports := make([]string, 0, len(st.sockets))
	counts := map[string]*socketCounts{}
	for p, c := range st.sockets {
		ports = append(ports, p)
		counts[p] = c
	}
	st.socketsMu.Unlock()
	sort.Strings(ports)
	for _, p := range ports {
		c := counts[p]
		closed, active := c.closed.Load(), c.active.Load()
		accepted := c.accepted.Load()
		say("Sockets for port %s:", p)
		say("accepted: %d", accepted)
		say("closed: %d", closed)
		say("active: %d", active)
		say("leaked: %d", max(accepted-closed-active, 0))
	}
}

// controlThreads answers threads, upstream's list of GHC threads, with the
// goroutines: "goroutine N (state) function", function being the one the
// goroutine was started with (the nearest to a GHC thread's label).
func controlThreads(say func(string, ...any)) {
	say("Threads: %d", runtime.NumGoroutine())
	for _, g := range goroutines() {
		say("goroutine %d (%s) %s", g.id, g.state, g.fn)
	}
}

type goroutine struct {
	id        int
	state, fn string
}

// goroutines parses runtime.Stack's dump of every goroutine.
func goroutines() []goroutine {
	buf := make([]byte, 256<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) || len(buf) >= 64<<20 {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var gs []goroutine
	for _, block := range bytes.Split(buf, []byte("\n\n")) {
		lines := strings.Split(strings.TrimSpace(string(block)), "\n")
		// "goroutine 7 [IO wait, 2 minutes]:", maybe with more
		// fields before the state.
		head, ok := strings.CutPrefix(lines[0], "goroutine ")
		i, j := strings.IndexByte(head, '['), strings.LastIndexByte(head, ']')
		if !ok || i < 0 || j < i {
			continue
		}
		num, _, _ := strings.Cut(head, " ")
		id, err := strconv.Atoi(num)
		if err != nil {
			continue
		}
		g := goroutine{id: id, state: head[i+1 : j]}
		// Frames are a function line then a tab-indented file line; the
		// last frame before "created by" is the goroutine's own function.
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, "created by ") {
				break
			}
			if !strings.HasPrefix(l, "\t") {
				g.fn = l
			}
		}
		if i := strings.LastIndexByte(g.fn, '('); i > 0 && strings.HasSuffix(g.fn, ")") {
			g.fn = g.fn[:i] // the arguments
		}
		if i := strings.LastIndexByte(g.fn, '/'); i >= 0 {
			g.fn = g.fn[i+1:] // the package path
		}
		gs = append(gs, g)
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].id < gs[j].id })
	return gs
}

// controlServerInfo prints upstream's server-info lines. smpkit's
// connections have one queue each, for what they send (responses, MSG and
// NMSG alike): a reader executes commands as they arrive, so upstream's
// rcvQ and msgQ lengths are 0 here. Subscriptions are all in upstream's
// NoSub state (no delivery thread), GET uses in ProhibitSub.
func (r *Relay) controlServerInfo(role cpRole, say func(string, ...any)) {
	for _, l := range r.serverInfo(role) {
		say("%s", l)
	}
}

// serverInfo makes server-info's lines under r.qmu; they are written after,
// so that a control client that does not read cannot hold the lock.
func (r *Relay) serverInfo(role cpRole) []string {
	var lines []string
	say := func(format string, a ...any) { lines = append(lines, fmt.Sprintf(format, a...)) }
	sessions := r.sessionsNow()
	say("Threads: %d", runtime.NumGoroutine())
	say("Clients: %d", len(sessions))
	r.qmu.Lock()
	defer r.qmu.Unlock()
	sndQ := func(c *conn) int {
		c.omu.Lock()
		defer c.omu.Unlock()
		return len(c.queue)
	}
	if role == cpAdmin {
		var all, smpQ, ntfQ int
		var subs, gets, smpClients, ntfSubs, ntfClients int
		for _, c := range sessions {
			n := sndQ(c)
			all += n
			for _, q := range c.queues {
				if q.get {
					gets++
				} else {
					subs++
				}
			}
			if len(c.queues) > 0 {
				smpClients++
				smpQ += n
			}
			ntfSubs += len(c.ntfs)
			if len(c.ntfs) > 0 {
				ntfClients++
				ntfQ += n
			}
		}
		say("Client queues (rcvQ, sndQ, msgQ): (0,%d,0)", all)
		say("SMP subscriptions (via clients): %d", subs+gets)
		say("SMP subscriptions (by group: NoSub, SubPending, SubThread, ProhibitSub): (%d,0,0,%d)", subs, gets)
		say("SMP subscribed clients (via clients): %d", smpClients)
		say("SMP subscribed clients queues (via clients, rcvQ, sndQ, msgQ): (0,%d,0)", smpQ)
		say("Ntf subscriptions (via clients): %d", ntfSubs)
		say("Ntf subscribed clients (via clients): %d", ntfClients)
		say("Ntf subscribed clients queues (via clients, rcvQ, sndQ, msgQ): (0,%d,0)", ntfQ)
	}
	subscribers := func(proto string, subs map[string]*conn, role smp.ServiceRole, showIDs bool) {
		ids := map[int64]bool{}
		for _, c := range subs {
			ids[c.id] = true
		}
		say("%s subscriptions: %d", proto, len(subs))
		say("%s subscribed clients: %d%s", proto, len(ids), showIDList(ids, showIDs, ""))
		// Upstream's second count is its set of clients with any
		// subscription, service subscriptions included.
		for _, c := range r.svcSubs {
			if c.svc != nil && c.svc.role == role {
				ids[c.id] = true
			}
		}
		say("%s subscribed clients count 2: %d%s", proto, len(ids), showIDList(ids, showIDs, "fromList "))
	}
	subscribers("SMP", r.subs, smp.RoleMessaging, false)
	subscribers("Ntf", r.nsubs, smp.RoleNotifier, true)
	return lines
}

// showIDList is " [1,2]" (Haskell's show of a list, or of an IntSet with
// prefix "fromList "), or "" unless show.
func showIDList(ids map[int64]bool, show bool, prefix string) string {
	if !show {
		return ""
	}
	list := make([]int64, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	slices.Sort(list)
	s := make([]string, len(list))
	for i, id := range list {
		s[i] = strconv.FormatInt(id, 10)
	}
	return " " + prefix + "[" + strings.Join(s, ",") + "]"
}

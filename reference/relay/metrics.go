package relay

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/smpkit/smpkit/internal/buildinfo"
	"github.com/smpkit/smpkit/reference/smp"
)

// stats are the relay's counters, exported at /metrics and in the
// metrics file. They count events, never identify queues or carry content.
type stats struct {
	connections atomic.Int64 // open now
	accepted    atomic.Int64
	refused     atomic.Int64 // by connection limits
	tlsFailures atomic.Int64
	commands    atomic.Int64
	messagesIn  atomic.Int64
	messagesOut atomic.Int64

	messagesAcked, notifications atomic.Int64
	messagesExpired              atomic.Int64
	queuesCreated, queuesDeleted atomic.Int64
	queuesSecured, queuesBlocked atomic.Int64
	subscriptions                atomic.Int64
	commandErrors, authFailures  atomic.Int64
	storeErrors                  atomic.Int64
	pRelays, pRelaysOwn          proxyCounts // PRXY: sessions with destination relays
	pMsgFwds, pMsgFwdsOwn        proxyCounts // PFWD: forwarded messages
	pMsgFwdsRecv                 atomic.Int64
	socketsMu                    sync.Mutex
	sockets                      map[string]*socketCounts // by listening port
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
	case smp.CmdKEY, smp.CmdSKEY:
		s.queuesSecured.Add(1)
	case smp.CmdSUB:
		s.subscriptions.Add(1)
	}
}

// MetricsHandler serves the metrics in the Prometheus text format.
func (r *Relay) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		r.WriteMetrics(w)
	})
}

// WriteMetrics writes the metrics in the Prometheus text format. Names
// and meanings follow upstream's (Server/Prometheus.hs, simplex_smp_*)
// where smpkit has the same quantity; smpkit's own are named smpkit_*.
func (r *Relay) WriteMetrics(out io.Writer) error {
	w := bufio.NewWriter(out)
	head := func(name, typ, help string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	metric := func(name, typ, help string, v int64) {
		head(name, typ, help)
		fmt.Fprintf(w, "%s %d\n\n", name, v)
	}
	st := &r.stats
	queues, messages := r.store.Counts()
	r.mu.Lock()
	clients := len(r.sessions)
	r.mu.Unlock()
	r.qmu.Lock()
	subs, nsubs := len(r.subs), len(r.nsubs)
	r.qmu.Unlock()

	metric("simplex_smp_queues_created", "counter", "Created queues", st.queuesCreated.Load())
	metric("simplex_smp_queues_secured", "counter", "Secured queues", st.queuesSecured.Load())
	head("simplex_smp_queues_deleted", "counter", "Deleted queues")
	fmt.Fprintf(w, "simplex_smp_queues_deleted{type=\"all\"} %d\n\n", st.queuesDeleted.Load())
	metric("simplex_smp_queues_blocked", "counter", "Blocked queues", st.queuesBlocked.Load())
	metric("simplex_smp_queues_total1", "gauge", "Total number of stored queues (first type of count).", int64(queues))
	metric("simplex_smp_queues_total2", "gauge", "Total number of stored queues (second type of count).", int64(queues))
	metric("simplex_smp_subscribtion_successes", "counter", "Successful subscriptions.", st.subscriptions.Load())
	metric("simplex_smp_messages_sent", "counter", "Sent messages.", st.messagesIn.Load())
	metric("simplex_smp_messages_received", "counter", "Received messages.", st.messagesAcked.Load())
	metric("simplex_smp_messages_expired", "counter", "Expired messages.", st.messagesExpired.Load())
	metric("simplex_smp_messages_total", "gauge", "Total number of messages stored.", int64(messages))
	metric("simplex_smp_messages_ntf_successes", "counter", "Successful events with notification messages (to ntf server).", st.notifications.Load())

	proxy := func(name, help string, all, own *proxyCounts) {
		head(name+"_requests", "counter", help+" requests.")
		fmt.Fprintf(w, "%s_requests{source=\"all\"} %d\n%s_requests{source=\"own\"} %d\n\n", name, all.requests.Load(), name, own.requests.Load())
		head(name+"_successes", "counter", help+" successes.")
		fmt.Fprintf(w, "%s_successes{source=\"all\"} %d\n%s_successes{source=\"own\"} %d\n\n", name, all.successes.Load(), name, own.successes.Load())
		head(name+"_errors", "counter", help+" errors.")
		for _, src := range []struct {
			label string
			c     *proxyCounts
		}{{"all", all}, {"own", own}} {
			fmt.Fprintf(w, "%s_errors{source=%q,type=\"connect\"} %d\n", name, src.label, src.c.errConnect.Load())
			fmt.Fprintf(w, "%s_errors{source=%q,type=\"compat\"} %d\n", name, src.label, src.c.errCompat.Load())
			fmt.Fprintf(w, "%s_errors{source=%q,type=\"other\"} %d\n", name, src.label, src.c.errOther.Load())
		}
		w.WriteString("\n")
	}
	proxy("simplex_smp_relay_sessions", "Session", &st.pRelays, &st.pRelaysOwn)
	proxy("simplex_smp_relay_messages", "Message", &st.pMsgFwds, &st.pMsgFwdsOwn)
	metric("simplex_smp_relay_messages_received", "counter", "Relay messages statistics.", st.pMsgFwdsRecv.Load())

	head("simplex_smp_info", "gauge", "Server information.")
	fmt.Fprintf(w, "simplex_smp_info{version=%q} 1\n\n", buildinfo.Version())
	st.socketsMu.Lock()
	ports := make([]string, 0, len(st.sockets))
	for p := range st.sockets {
		ports = append(ports, p)
	}
	sort.Strings(ports)
	sockets := func(name, help string, v func(*socketCounts) int64) {
		head(name, "gauge", help)
		for _, p := range ports {
			fmt.Fprintf(w, "%s{port=%q} %d\n", name, p, v(st.sockets[p]))
		}
		w.WriteString("\n")
	}
	sockets("simplex_smp_sockets_accepted", "Accepted sockets", func(c *socketCounts) int64 { return c.accepted.Load() })
	sockets("simplex_smp_sockets_closed", "Closed sockets", func(c *socketCounts) int64 { return c.closed.Load() })
	sockets("simplex_smp_sockets_active", "Active sockets", func(c *socketCounts) int64 { return c.active.Load() })
	st.socketsMu.Unlock()
	metric("simplex_smp_clients_total", "gauge", "Clients", int64(clients))
	metric("simplex_smp_subscribtion_total", "gauge", "Total SMP subscriptions", int64(subs))
	metric("simplex_smp_subscription_ntf_total", "gauge", "Total notification subscripbtions (from ntf server)", int64(nsubs))

	head("smpkit_build_info", "gauge", "The smpkit build: module version and revision, Go version.")
	fmt.Fprintf(w, "smpkit_build_info{version=%q,goversion=%q} 1\n\n", buildinfo.Version(), runtime.Version())
	metric("smpkit_connections", "gauge", "Open client connections, before and after the handshake.", st.connections.Load())
	metric("smpkit_connections_accepted_total", "counter", "Connections accepted.", st.accepted.Load())
	metric("smpkit_connections_refused_total", "counter", "Connections refused by connection limits.", st.refused.Load())
	metric("smpkit_tls_handshake_failures_total", "counter", "TLS handshakes that failed.", st.tlsFailures.Load())
	metric("smpkit_commands_total", "counter", "SMP commands processed.", st.commands.Load())
	metric("smpkit_command_errors_total", "counter", "Transmissions rejected before execution.", st.commandErrors.Load())
	metric("smpkit_auth_failures_total", "counter", "Transmissions that failed verification.", st.authFailures.Load())
	metric("smpkit_messages_delivered_total", "counter", "Messages delivered by MSG.", st.messagesOut.Load())
	metric("smpkit_store_errors_total", "counter", "Commands answered ERR STORE (a store read or write failed).", st.storeErrors.Load())
	metric("smpkit_store_write_errors_total", "counter", "Store writes, fsyncs and compactions that failed (each fails only the commands made meanwhile).", r.store.Stats().WriteErrors)
	return w.Flush()
}

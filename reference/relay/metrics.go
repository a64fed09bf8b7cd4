package relay

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/smpkit/smpkit/internal/buildinfo"
	"github.com/smpkit/smpkit/reference/smp"
)

// MetricsHandler serves the metrics in the Prometheus text format.
func (r *Relay) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		r.WriteMetrics(w)
	})
}

// notifierCounter is the store's count of notifier credentials, where the
// store has it.
type notifierCounter interface{ NotifierCount() int }

// snapshot is what the gauges are made of, read under the relay's locks.
type snapshot struct {
	queues, messages, notifiers int
	pendingNtfs                 int // notifications waiting for a subscriber (upstream ntfCount)
	subs, subClients            int
	nsubs, ntfClients           int
	ntfServiceSubs              int
	rcvServices, ntfServices    int
	ntfServiceQueues            int
	clients                     int
	delivered, deliveredClients int // subscriptions (and GET uses) with a message in flight
	pending                     map[int64]int64
	pendingMax                  int64
}

func (r *Relay) snapshot(now time.Time) snapshot {
	var s snapshot
	s.queues, s.messages = r.store.Counts()
	if nc, ok := any(r.store).(notifierCounter); ok {
		s.notifiers = nc.NotifierCount()
	}
	r.mu.Lock()
	sessions := slices.Clone(r.sessions)
	r.mu.Unlock()
	s.clients = len(sessions)
	s.pending = map[int64]int64{}
	r.qmu.Lock()
	defer r.qmu.Unlock()
	s.subs, s.nsubs, s.ntfServiceSubs = len(r.subs), len(r.nsubs), len(r.svcSubs)
	distinct := func(m map[string]*conn, more map[string]*conn) int {
		set := map[*conn]bool{}
		for _, c := range m {
			set[c] = true
		}
		for _, c := range more {
			set[c] = true
		}
		return len(set)
	}
	s.subClients = distinct(r.subs, nil)
	s.ntfClients = distinct(r.nsubs, r.svcSubs)
	for _, list := range r.ntfs {
		s.pendingNtfs += len(list)
	}
	for _, sv := range r.services {
		switch sv.role {
		case smp.RoleNotifier:
			s.ntfServices++
			s.ntfServiceQueues += len(r.store.ServiceNotifiers(sv.id))
		case smp.RoleMessaging:
			s.rcvServices++
		}
	}
	for _, c := range sessions {
		n := 0
		for _, q := range c.queues {
			if q.delivered == nil {
				continue
			}
			n++
			t := now.Unix() - q.deliveredAt
			s.pending[bucketOf(t)]++
			s.pendingMax = max(s.pendingMax, t)
		}
		if n > 0 {
			s.delivered += n
			s.deliveredClients++
		}
	}
	return s
}

// rtsOptions is what simplex_smp_info reports as rts_options: upstream
// puts its GHC runtime options there; smpkit the Go runtime's settings.
func rtsOptions() string {
	opts := []string{fmt.Sprintf("GOMAXPROCS=%d", runtime.GOMAXPROCS(0))}
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		if v := os.Getenv(env); v != "" {
			opts = append(opts, env+"="+v)
		}
	}
	return strings.Join(opts, " ")
}

// WriteMetrics writes the metrics in the Prometheus text format: every
// series upstream's smp-server writes, with its names, types and labels
// (simplexmq src/Simplex/Messaging/Server/Prometheus.hs, prometheusMetrics,
// including its spellings such as "subscribtion"), then smpkit's own,
// named smpkit_*. Unlike upstream, samples carry no timestamps. Series for
// events that cannot happen in this relay are written as 0, so that
// dashboards find them; their comments below say why.
func (r *Relay) WriteMetrics(out io.Writer) error {
	w := bufio.NewWriter(out)
	head := func(name, typ, help string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	metric := func(name, typ, help string, v int64) {
		head(name, typ, help)
		fmt.Fprintf(w, "%s %d\n\n", name, v)
	}
	// labeled writes one series per label value.
	labeled := func(name, typ, help, label string, vals ...any) {
		head(name, typ, help)
		for i := 0; i < len(vals); i += 2 {
			fmt.Fprintf(w, "%s{%s=%q} %d\n", name, label, vals[i], vals[i+1])
		}
		w.WriteString("\n")
	}
	st := &r.stats
	now := r.cfg.Now()
	sn := r.snapshot(now)
	// Upstream's file starts with "# Recorded at:" (smp-server's metrics
	// file writer adds that line) and "# Stats from:".
	fmt.Fprintf(w, "# Stats from: %s\n\n", st.startedAt.UTC().Format(time.RFC3339))

	// Queues.
	metric("simplex_smp_queues_created", "counter", "Created queues", st.queuesCreated.Load())
	metric("simplex_smp_queues_secured", "counter", "Secured queues", st.queuesSecured.Load())
	labeled("simplex_smp_queues_deleted", "counter", "Deleted queues", "type",
		"all", st.queuesDeleted.Load(), "new", st.qDeletedNew.Load(), "secured", st.qDeletedSecured.Load())
	metric("simplex_smp_queues_blocked", "counter", "Queues blocked by the operator", st.queuesBlocked.Load())
	metric("simplex_smp_queues_deleted_batch", "counter", "Blocks of several recipient commands led by DEL", st.qDeletedAllB.Load())
	// Upstream has two counts of stored queues (a counter it keeps and the
	// store's); smpkit has one, the store's.
	metric("simplex_smp_queues_total1", "gauge", "Total number of stored queues (first type of count).", int64(sn.queues))
	metric("simplex_smp_queues_total2", "gauge", "Total number of stored queues (second type of count).", int64(sn.queues))
	day, week, month := st.activeQueues.get(now)
	metric("simplex_smp_queues_daily", "gauge", "Daily active queues (a message sent or received this UTC day).", day)
	metric("simplex_smp_queues_weekly", "gauge", "Weekly active queues (since Monday, UTC).", week)
	metric("simplex_smp_queues_monthly", "gauge", "Monthly active queues (since the 1st, UTC).", month)
	day, week, month = st.activeNtfs.get(now)
	metric("simplex_smp_queues_notify_daily", "gauge", "Daily active queues with notifications.", day)
	metric("simplex_smp_queues_notify_weekly", "gauge", "Weekly active queues with notifications.", week)
	metric("simplex_smp_queues_notify_monthly", "gauge", "Monthly active queues with notifications.", month)

	// Subscriptions.
	metric("simplex_smp_subscribtion_successes", "counter", "Successful subscriptions (new ones that delivered a waiting message).", st.subscriptions.Load())
	metric("simplex_smp_subscribtion_successes_batch", "counter", "Blocks of several recipient commands led by SUB.", st.qSubAllB.Load())
	metric("simplex_smp_subscribtion_end", "counter", "Ended subscriptions (END, DELD and ENDS sent).", st.qSubEnd.Load())
	metric("simplex_smp_subscribtion_end_batch", "counter", "Batches of ended subscriptions.", st.qSubEndB.Load())
	labeled("simplex_smp_subscribtion_errors", "counter", "Subscription errors.", "type",
		"auth", st.qSubAuth.Load(), "duplicate", st.qSubDuplicate.Load(), "prohibited", st.qSubProhibited.Load())

	// Messages.
	metric("simplex_smp_messages_sent", "counter", "Sent messages.", st.messagesIn.Load())
	labeled("simplex_smp_messages_sent_errors", "counter", "Messages refused, by error.", "type",
		"auth", st.msgSentAuth.Load(), "quota", st.msgSentQuota.Load(), "large", st.msgSentLarge.Load(), "block", st.msgSentBlock.Load())
	metric("simplex_smp_messages_received", "counter", "Received (acknowledged) messages.", st.messagesAcked.Load())
	metric("simplex_smp_messages_expired", "counter", "Expired messages.", st.messagesExpired.Load())
	metric("simplex_smp_messages_total", "gauge", "Total number of messages stored.", int64(sn.messages))

	// Messages with the notification flag, and notifier credentials.
	metric("simplex_smp_messages_notify_sent", "counter", "Sent messages with the notification flag.", st.msgSentNtf.Load())
	metric("simplex_smp_messages_notify_received", "counter", "Received messages with the notification flag.", st.msgRecvNtf.Load())
	// Upstream's names say "notify", but these count every GET.
	metric("simplex_smp_messages_notify_get_sent", "counter", "GET requests that returned a message.", st.msgGet.Load())
	metric("simplex_smp_messages_notify_get_received", "counter", "Messages taken by GET and acknowledged.", st.msgRecvGet.Load())
	labeled("simplex_smp_messages_notify_get_errors", "counter", "GET requests without a new message, by kind.", "type",
		"nomsg", st.msgGetNoMsg.Load(), "auth", st.msgGetAuth.Load(), "duplicate", st.msgGetDuplicate.Load(), "prohibited", st.msgGetProhibited.Load())
	metric("simplex_smp_queues_notify_created", "counter", "Notifier credentials created (NKEY).", st.ntfCreated.Load())
	metric("simplex_smp_queues_notify_new_created", "counter", "Queues created with notifier credentials.", st.ntfNewCreated.Load())
	metric("simplex_smp_queues_notify_deleted", "counter", "Notifier credentials deleted (NDEL).", st.ntfDeleted.Load())
	metric("simplex_smp_queues_notify_deleted_batch", "counter", "Blocks of several recipient commands led by NDEL.", st.ntfDeletedB.Load())
	// Upstream's help says queues, but its first count is its ntfCount:
	// notifications stored, waiting for the notification server.
	metric("simplex_smp_queues_notify_total1", "gauge", "Notifications stored, waiting for delivery to the notification server (upstream ntfCount).", int64(sn.pendingNtfs))
	metric("simplex_smp_queues_notify_total2", "gauge", "Total number of stored queues with notifier credentials.", int64(sn.notifiers))

	// Notifications to notification servers.
	metric("simplex_smp_messages_ntf_successes", "counter", "Notifications delivered to notification servers.", st.notifications.Load())
	metric("simplex_smp_messages_ntf_successes_batch", "counter", "Batches of notifications delivered (up to 80 each).", st.msgNtfsB.Load())
	// nosub and lost are never counted upstream either (Server.hs has no
	// increment of msgNtfNoSub or msgNtfLost): 0.
	labeled("simplex_smp_messages_ntf_errors", "counter", "Notifications not delivered, by reason.", "type",
		"nosub", int64(0), "lost", int64(0), "expired", st.msgNtfExpired.Load())
	metric("simplex_smp_subscription_ntf_requests", "counter", "New notifier subscriptions (NSUB).", st.ntfSub.Load())
	metric("simplex_smp_subscription_ntf_requests_batch", "counter", "Blocks of several notifier commands led by NSUB.", st.ntfSubB.Load())
	labeled("simplex_smp_subscribtion_ntf_errors", "counter", "Notifier subscription errors.", "type",
		"auth", st.ntfSubAuth.Load(), "duplicate", st.ntfSubDuplicate.Load())

	// Proxy.
	proxy := func(name, what string, all, own *proxyCounts) {
		labeled(name+"_requests", "counter", what+" requests through this proxy.", "source",
			"all", all.requests.Load(), "own", own.requests.Load())
		labeled(name+"_successes", "counter", what+" requests that succeeded.", "source",
			"all", all.successes.Load(), "own", own.successes.Load())
		head(name+"_errors", "counter", what+" requests that failed, by error.")
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
	proxy("simplex_smp_relay_sessions", "Session (PRXY)", &st.pRelays, &st.pRelaysOwn)
	proxy("simplex_smp_relay_messages", "Message (PFWD)", &st.pMsgFwds, &st.pMsgFwdsOwn)
	metric("simplex_smp_relay_messages_received", "counter", "Messages forwarded to this relay by proxies (RFWD).", st.pMsgFwdsRecv.Load())

	// Services. Receiving services cannot subscribe here (SUBS is
	// reserved, SMP-CMD-SUBS-2) and their queues are not associated with
	// them, so their queue counts and all rcv_services_* counters are 0;
	// upstream counts none of the rcv ones either, nor the sub_duplicate
	// and sub_end of notifier services.
	metric("simplex_smp_rcv_services_count", "gauge", "Receiving services.", int64(sn.rcvServices))
	metric("simplex_smp_rcv_services_queues_count", "gauge", "Queues associated with receiving services.", 0)
	metric("simplex_smp_ntf_services_count", "gauge", "Notification services.", int64(sn.ntfServices))
	metric("simplex_smp_ntf_services_queues_count", "gauge", "Notifiers associated with notification services.", int64(sn.ntfServiceQueues))
	services := func(pfx, name string, c *serviceCounts) {
		metric("simplex_smp_"+pfx+"_services_assoc_new", "counter", "New queue associations with "+name+" services.", c.assocNew.Load())
		metric("simplex_smp_"+pfx+"_services_assoc_duplicate", "counter", "Repeated queue associations with "+name+" services.", c.assocDuplicate.Load())
		metric("simplex_smp_"+pfx+"_services_assoc_updated", "counter", "Queue associations moved to another of the "+name+" services.", c.assocUpdated.Load())
		metric("simplex_smp_"+pfx+"_services_assoc_removed", "counter", "Queue associations with "+name+" services removed.", c.assocRemoved.Load())
		metric("simplex_smp_"+pfx+"_services_sub_count", "counter", "Service subscriptions by "+name+" services.", c.subCount.Load())
		metric("simplex_smp_"+pfx+"_services_sub_duplicate", "counter", "Repeated service subscriptions by "+name+" services.", 0)
		metric("simplex_smp_"+pfx+"_services_sub_queues", "gauge", "Queues subscribed by "+name+" services.", c.subQueues.Load())
		metric("simplex_smp_"+pfx+"_services_sub_end", "gauge", "Ended subscriptions of "+name+" services.", 0)
	}
	services("rcv", "receiving", &serviceCounts{})
	services("ntf", "notification", &st.ntfSrv)

	// Information and the relay's state now.
	head("simplex_smp_info", "gauge", "Server information; rts_options are the Go runtime's settings.")
	fmt.Fprintf(w, "simplex_smp_info{version=%q,rts_options=%q} 1\n\n", buildinfo.Version(), rtsOptions())
	st.socketsMu.Lock()
	ports := make([]string, 0, len(st.sockets))
	for p := range st.sockets {
		ports = append(ports, p)
	}
	slices.Sort(ports)
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
	sockets("simplex_smp_sockets_leaked", "Leaked sockets (accepted, neither closed nor active)", func(c *socketCounts) int64 {
		return c.accepted.Load() - c.closed.Load() - c.active.Load()
	})
	st.socketsMu.Unlock()
	metric("simplex_smp_threads_total", "gauge", "Goroutines", int64(runtime.NumGoroutine()))
	metric("simplex_smp_clients_total", "gauge", "Clients", int64(sn.clients))
	metric("simplex_smp_delivered_total", "gauge", "Subscriptions with a message delivered and not yet acknowledged", int64(sn.delivered))
	metric("simplex_smp_delivered_clients_total", "gauge", "Clients with such subscriptions", int64(sn.deliveredClients))

	sum, _, confirmed := st.ackTimes.snapshot()
	acked := st.messagesAcked.Load() + st.msgRecvGet.Load() // upstream's count: msgRecv + msgRecvGet
	const ackTime = "simplex_smp_delivery_ack_confirmed_time"
	head(ackTime, "histogram", "Seconds from delivery to acknowledgement, of acknowledged messages")
	fmt.Fprintf(w, "%s_sum %d\n%s_count %d\n", ackTime, sum, ackTime, acked)
	keys := slices.Sorted(maps.Keys(confirmed))
	var prev, total int64
	for _, k := range keys {
		// As upstream's showTimeBuckets: a bucket a minute below one
		// that follows a gap, so that rates between them interpolate.
		if k-60 > prev {
			fmt.Fprintf(w, "%s_bucket{le=\"%d\"} %d\n", ackTime, k-60, total)
		}
		total += confirmed[k]
		fmt.Fprintf(w, "%s_bucket{le=\"%d\"} %d\n", ackTime, k, total)
		prev = k
	}
	fmt.Fprintf(w, "%s_bucket{le=\"+Inf\"} %d\n\n", ackTime, acked)
	periods := func(name, typ, help string, counts map[int64]int64) {
		head(name, typ, help)
		for _, p := range []struct {
			label    string
			min, max int64
		}{{"0-60", 0, 60}, {"60-300", 60, 300}, {"300-1200", 300, 1200}, {"1200-3600", 1200, 3600}, {"3600+", 3600, 1 << 62}} {
			// By delay. (Upstream's showBucketSums filters the map by
			// its values, the counts, not by its keys, the delays.)
			var n int64
			for k, c := range counts {
				if k >= p.min && k < p.max {
					n += c
				}
			}
			fmt.Fprintf(w, "%s{period=%q} %d\n", name, p.label, n)
		}
		w.WriteString("\n")
	}
	periods("simplex_smp_delivery_ack_confirmed_count", "counter", "Acknowledged deliveries, by seconds to acknowledgement", confirmed)
	periods("simplex_smp_delivery_ack_pending_count", "gauge", "Deliveries not yet acknowledged, by seconds since delivery", sn.pending)
	metric("simplex_smp_delivery_ack_time_max", "gauge", "Longest time (s) a delivered message has waited for acknowledgement", sn.pendingMax)
	metric("simplex_smp_subscribtion_total", "gauge", "Total SMP subscriptions", int64(sn.subs))
	metric("simplex_smp_subscribtion_clients_total", "gauge", "Subscribed clients", int64(sn.subClients))
	metric("simplex_smp_subscribtion_services_total", "gauge", "Subscribed receiving services (none: SUBS is reserved)", 0)
	metric("simplex_smp_subscription_ntf_total", "gauge", "Total notifier subscriptions (NSUB)", int64(sn.nsubs))
	metric("simplex_smp_subscription_ntf_clients_total", "gauge", "Clients with notifier or notifier service subscriptions", int64(sn.ntfClients))
	metric("simplex_smp_subscribtion_nts_services_total", "gauge", "Subscribed notification services (NSUBS)", int64(sn.ntfServiceSubs))
	// The store holds every queue in memory and keeps no per-queue
	// journals or locks: upstream's memory-store values.
	metric("simplex_smp_loaded_queues_queue_count", "gauge", "Queues loaded in memory (all)", int64(sn.queues))
	metric("simplex_smp_loaded_queues_ntf_count", "gauge", "Notifier credentials loaded in memory (all)", int64(sn.notifiers))
	metric("simplex_smp_loaded_queues_open_journal_count", "gauge", "Open queue journals (none: the store has two logs)", 0)
	metric("simplex_smp_loaded_queues_queue_lock_count", "gauge", "Queue locks (none: one store lock)", 0)
	metric("simplex_smp_loaded_queues_ntf_lock_count", "gauge", "Notifier locks (none)", 0)

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

package relay

import (
	"fmt"
	"net/http"
	"sync/atomic"
)

// stats are the relay's counters, exported at /metrics. They count events,
// never identify queues or carry content.
type stats struct {
	connections atomic.Int64 // open now
	accepted    atomic.Int64
	refused     atomic.Int64 // by connection limits
	tlsFailures atomic.Int64
	commands    atomic.Int64
	messagesIn  atomic.Int64
	messagesOut atomic.Int64

	messagesAcked, notifications  atomic.Int64
	queuesCreated, queuesDeleted  atomic.Int64
	commandErrors, authFailures   atomic.Int64
	proxyConnects, proxyForwarded atomic.Int64
}

// MetricsHandler serves the counters in the Prometheus text format.
func (r *Relay) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		metric := func(name, typ, help string, v int64) {
			fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", name, help, name, typ, name, v)
		}
		metric("smp_connections", "gauge", "Open client connections.", r.stats.connections.Load())
		metric("smp_connections_accepted_total", "counter", "Connections accepted.", r.stats.accepted.Load())
		metric("smp_connections_refused_total", "counter", "Connections refused by connection limits.", r.stats.refused.Load())
		metric("smp_tls_handshake_failures_total", "counter", "TLS handshakes that failed.", r.stats.tlsFailures.Load())
		metric("smp_commands_total", "counter", "SMP commands processed.", r.stats.commands.Load())
		metric("smp_messages_received_total", "counter", "Messages accepted by SEND.", r.stats.messagesIn.Load())
		metric("smp_messages_delivered_total", "counter", "Messages delivered by MSG.", r.stats.messagesOut.Load())
		metric("smp_messages_acknowledged_total", "counter", "Messages deleted by ACK.", r.stats.messagesAcked.Load())
		metric("smp_notifications_total", "counter", "NMSG notifications delivered.", r.stats.notifications.Load())
		metric("smp_queues_created_total", "counter", "Queues created by NEW.", r.stats.queuesCreated.Load())
		metric("smp_queues_deleted_total", "counter", "Queues deleted by DEL.", r.stats.queuesDeleted.Load())
		metric("smp_command_errors_total", "counter", "Transmissions rejected before execution.", r.stats.commandErrors.Load())
		metric("smp_auth_failures_total", "counter", "Transmissions that failed verification.", r.stats.authFailures.Load())
		metric("smp_proxy_sessions_total", "counter", "PRXY requests answered with PKEY.", r.stats.proxyConnects.Load())
		metric("smp_proxy_forwarded_total", "counter", "PFWD commands forwarded.", r.stats.proxyForwarded.Load())
		metric("simplex_smp_store_write_errors_total", "counter", "Store writes, fsyncs and compactions that failed (each fails only the commands made meanwhile).", r.store.Stats().WriteErrors)
	})
}

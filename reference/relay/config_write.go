package relay

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/smpkit/smpkit/reference/store"
)

// WriteSettings writes s as a commented smp-server.ini in upstream's
// layout and syntax (Main/Init.hs iniFileContent: "key = value", the same
// sections in the same order), with smpkit's keys marked. Keys left at
// "off" (empty) are written commented out, as upstream does.
func WriteSettings(w io.Writer, s Settings) error {
	var b strings.Builder
	onOff := func(v bool) string {
		if v {
			return "on"
		}
		return "off"
	}
	opt := func(key, v string) {
		if v == "" {
			fmt.Fprintf(&b, "# %s =\n", key)
		} else {
			fmt.Fprintf(&b, "%s = %s\n", key, v)
		}
	}
	secs := func(d time.Duration) string { return fmt.Sprint(int64(d / time.Second)) }

	b.WriteString("[INFORMATION]\n# Server information, written to the page in [WEB] static_path.\n")
	keys := make([]string, 0, len(s.Information))
	for k := range s.Information {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		b.WriteString("# source_code = URI\n")
	}
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = %s\n", k, s.Information[k])
	}

	fsync := map[store.SyncPolicy]string{store.SyncEachWrite: "each", store.SyncInterval: "interval", store.SyncNever: "never"}[s.Fsync]
	fmt.Fprintf(&b, `
[STORE_LOG]
# Keep queues and undelivered messages on disk (the store log).
enable = %s
# smpkit keeps queues and messages in its store log: only memory is accepted.
store_queues = memory
store_messages = memory
restore_messages = %s
# smpkit: when writes reach the disk: each (a message answered OK survives
# kill -9), interval (every fsync_interval_ms), or never.
fsync = %s
fsync_interval_ms = %d
# smpkit: previous generations of each log kept in backups/ at start
# (0 = none; they hold delivered message bodies until they rotate out), and
# the size in bytes below which messages.log is not compacted while running.
backups = %d
compact_min = %d
# Messages and notifications expiration periods (0 = at every check).
expire_messages_days = %d
expire_messages_on_start = %s
expire_messages_on_send = %s
expire_ntfs_hours = %d
log_stats = off
# Write Prometheus metrics to smp-server-metrics.txt every this many seconds.
`, onOff(s.StoreEnabled), onOff(s.RestoreMessages), fsync, s.FsyncInterval.Milliseconds(), s.Backups, s.CompactMin, s.ExpireMessagesDays,
		onOff(s.ExpireOnStart), onOff(s.ExpireOnSend), s.ExpireNtfsHours)
	if s.PrometheusInterval > 0 {
		opt("prometheus_interval", secs(s.PrometheusInterval))
	} else {
		b.WriteString("# prometheus_interval = 60\n")
	}

	fmt.Fprintf(&b, `
[AUTH]
# Set new_queues to off to stop creating queues (to decommission a relay).
new_queues = %s
# Password for creating queues (NEW) and for the sending proxy (PRXY); it is
# part of the server address: smp://fingerprint:password@host.
`, onOff(s.NewQueues))
	opt("create_password", s.CreatePassword)
	b.WriteString("# Passwords for the control port ([TRANSPORT] control_port).\n")
	opt("control_port_admin_password", s.ControlAdminPassword)
	opt("control_port_user_password", s.ControlUserPassword)
	fmt.Fprintf(&b, `# Queues the control port may block per day (0 = no limit, -1 = none).
daily_block_queue_quota = %d

[TRANSPORT]
# host is only used to print the server address; several ports may be given.
host = %s
port = %s
# smpkit: the IP address the ports listen on (default: all interfaces).
`, s.DailyBlockQuota, s.Host, strings.Join(s.Ports, ","))
	opt("listen_address", s.ListenAddress)
	fmt.Fprintf(&b, "log_tls_errors = %s\nwebsockets = off\n", onOff(s.LogTLSErrors))
	fmt.Fprintf(&b, "accept_service_credentials = %s\n", onOff(s.AcceptServiceCredentials))
	b.WriteString("# Operator commands on 127.0.0.1 (smp-server block and stats; cert reloads).\n")
	opt("control_port", s.ControlPort)
	fmt.Fprintf(&b, `# smpkit: connection limits (0 = no limit) and handshake time limit (s).
# The per-IP limit is off by default: behind an onion service or a reverse
# proxy every client has the same address.
max_connections = %d
max_connections_per_ip = %d
handshake_timeout = %d

[PROXY]
# smpkit: serve as a sending proxy (PRXY/PFWD; with create_password when set).
enable = %s
# smpkit: allow destinations on loopback, private, link-local and other
# special-purpose networks (CGNAT, multicast, ...).
allow_private_destinations = %s
# Domain suffixes of relays you operate, counted apart in proxy metrics.
`, s.MaxConnections, s.MaxConnectionsPerIP, int64(s.HandshakeTimeout/time.Second),
		onOff(s.ProxyEnabled), onOff(s.ProxyAllowPrivate))
	opt("own_server_domains", strings.Join(s.ProxyOwnDomains, " "))
	hostMode := "public"
	if s.ProxyHostOnion {
		hostMode = "onion"
	}
	socksMode := "onion"
	if s.ProxySOCKSAlways {
		socksMode = "always"
	}
	fmt.Fprintf(&b, `# Which host of a destination relay with several to connect to: public
# (the first that is not .onion), or onion (its .onion host, when
# socks_proxy is set). With required_host_mode = on, a destination without
# such a host is refused; otherwise its first host is used.
host_mode = %s
required_host_mode = %s
# SOCKS5 proxy (e.g. Tor) for connections to destination relays, as
# [user:password@ or @]ip[:port]: without "@" each run of the relay sends
# its own username, so Tor keeps its circuits apart; "@" sends none.
`, hostMode, onOff(s.ProxyRequiredHostMode))
	if s.ProxySOCKS != "" {
		opt("socks_proxy", s.ProxySOCKS)
	} else {
		b.WriteString("# socks_proxy = 127.0.0.1:9050\n")
	}
	fmt.Fprintf(&b, `# Use socks_proxy for .onion hosts only (onion), or for every host (always).
socks_mode = %s
# Proxy commands a client may have in flight.
client_concurrency = %d

[INACTIVE_CLIENTS]
# Close connections without subscriptions idle for ttl seconds, checked
# every check_interval seconds.
disconnect = %s
ttl = %s
check_interval = %s

[WEB]
# Where the server information page (index.html) is written at start.
`, socksMode, s.ProxyConcurrency, onOff(s.DisconnectInactive), secs(s.InactiveTTL), secs(s.InactiveCheck))
	opt("static_path", s.WebStaticPath)
	b.WriteString("# Serve static_path over HTTP, and over HTTPS with a certificate and key;\n# on an SMP port, clients that send SNI get HTTPS, as upstream.\n")
	opt("http", s.WebHTTP)
	opt("https", s.WebHTTPS)
	opt("cert", s.WebCert)
	opt("key", s.WebKey)
	fmt.Fprintf(&b, `
[QUEUES]
# smpkit: messages a queue holds before SEND gets ERR QUOTA.
msg_queue_quota = %d

[METRICS]
# smpkit: serve Prometheus metrics at http://<listen>/metrics.
`, s.MsgQueueQuota)
	opt("listen", s.MetricsListen)
	_, err := io.WriteString(w, b.String())
	return err
}

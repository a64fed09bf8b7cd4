package relay

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/transport"
)

// Settings are what an operator configures in smp-server.ini. Key names
// follow the upstream smp-server.ini where the meaning is the same; keys
// marked smpkit are ours.
type Settings struct {
	// [STORE_LOG]
	StoreEnabled       bool             // enable: keep queues and messages on disk
	Fsync              store.SyncPolicy // fsync (smpkit): each | interval | never
	FsyncInterval      time.Duration    // fsync_interval_ms (smpkit)
	ExpireMessagesDays int              // expire_messages_days
	// [AUTH]
	NewQueues      bool   // new_queues: allow NEW
	CreatePassword string // create_password: basic auth for NEW and PRXY
	// [TRANSPORT]
	Host                string        // host: printed in the server address
	Ports               []string      // port: comma-separated listen ports
	MaxConnections      int           // max_connections (smpkit), 0 = no limit
	MaxConnectionsPerIP int           // max_connections_per_ip (smpkit), 0 = no limit
	HandshakeTimeout    time.Duration // handshake_timeout (smpkit, seconds)
	// [INACTIVE_CLIENTS]
	DisconnectInactive bool          // disconnect
	InactiveTTL        time.Duration // ttl (seconds)
	InactiveCheck      time.Duration // check_interval (seconds)
	// [QUEUES] (smpkit)
	MsgQueueQuota int // msg_queue_quota
	// [METRICS] (smpkit)
	MetricsListen string // listen: host:port of the /metrics endpoint; empty = off
}

// DefaultSettings are the values used for keys a file does not set.
func DefaultSettings() Settings {
	return Settings{
		StoreEnabled:        true,
		Fsync:               store.SyncEachWrite,
		FsyncInterval:       time.Second,
		ExpireMessagesDays:  21,
		NewQueues:           true,
		Host:                "localhost",
		Ports:               []string{"5223"},
		MaxConnections:      10000,
		MaxConnectionsPerIP: 200,
		HandshakeTimeout:    60 * time.Second,
		DisconnectInactive:  true,
		InactiveTTL:         6 * time.Hour,
		InactiveCheck:       time.Hour,
		MsgQueueQuota:       128,
	}
}

// ini is a parsed INI file: section → key → value.
type ini map[string]map[string]string

func parseINI(r io.Reader) (ini, error) {
	out := ini{}
	sec := ""
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: unterminated section header %q", n, line)
			}
			sec = strings.TrimSpace(line[1 : len(line)-1])
			if out[sec] == nil {
				out[sec] = map[string]string{}
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: want key = value, got %q", n, line)
		}
		if sec == "" {
			return nil, fmt.Errorf("line %d: key %q outside a section", n, strings.TrimSpace(k))
		}
		out[sec][strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, sc.Err()
}

// known lists every key Settings reads, to report the others.
var known = map[string][]string{
	"STORE_LOG":        {"enable", "fsync", "fsync_interval_ms", "expire_messages_days", "restore_messages", "expire_messages_on_start", "expire_messages_on_send"},
	"AUTH":             {"new_queues", "create_password"},
	"TRANSPORT":        {"host", "port", "max_connections", "max_connections_per_ip", "handshake_timeout", "log_tls_errors"},
	"INACTIVE_CLIENTS": {"disconnect", "ttl", "check_interval"},
	"QUEUES":           {"msg_queue_quota"},
	"METRICS":          {"listen"},
	"INFORMATION":      nil, // upstream server information: accepted, not used
	"WEB":              nil,
	"PROXY":            nil,
}

// LoadSettings reads an INI file over the defaults. Unknown keys are
// returned as warnings, not errors, so upstream files load.
func LoadSettings(path string) (Settings, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return Settings{}, nil, err
	}
	defer f.Close()
	return ReadSettings(f)
}

// ReadSettings is LoadSettings from a reader.
func ReadSettings(r io.Reader) (Settings, []string, error) {
	f, err := parseINI(r)
	if err != nil {
		return Settings{}, nil, fmt.Errorf("config: %w", err)
	}
	s := DefaultSettings()
	var warnings []string
	secs := make([]string, 0, len(f))
	for sec := range f {
		secs = append(secs, sec)
	}
	sort.Strings(secs)
	for _, sec := range secs {
		keys, ok := known[sec]
		if !ok {
			warnings = append(warnings, fmt.Sprintf("unknown section [%s] ignored", sec))
			continue
		}
		for k := range f[sec] {
			if keys != nil && !contains(keys, k) {
				warnings = append(warnings, fmt.Sprintf("unknown key %s in [%s] ignored", k, sec))
			}
		}
	}
	var errs []string
	get := func(sec, key string) (string, bool) {
		v, ok := f[sec][key]
		return v, ok && v != ""
	}
	onOff := func(sec, key string, dst *bool) {
		if v, ok := get(sec, key); ok {
			switch v {
			case "on", "true", "yes":
				*dst = true
			case "off", "false", "no":
				*dst = false
			default:
				errs = append(errs, fmt.Sprintf("[%s] %s = %q: want on or off", sec, key, v))
			}
		}
	}
	num := func(sec, key string, dst *int) {
		if v, ok := get(sec, key); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				errs = append(errs, fmt.Sprintf("[%s] %s = %q: want a whole number", sec, key, v))
				return
			}
			*dst = n
		}
	}
	dur := func(sec, key string, unit time.Duration, dst *time.Duration) {
		n := -1
		num(sec, key, &n)
		if n >= 0 {
			*dst = time.Duration(n) * unit
		}
	}
	onOff("STORE_LOG", "enable", &s.StoreEnabled)
	if v, ok := get("STORE_LOG", "fsync"); ok {
		p, err := store.ParseSyncPolicy(v)
		if err != nil {
			errs = append(errs, "[STORE_LOG] "+err.Error())
		}
		s.Fsync = p
	}
	dur("STORE_LOG", "fsync_interval_ms", time.Millisecond, &s.FsyncInterval)
	num("STORE_LOG", "expire_messages_days", &s.ExpireMessagesDays)
	onOff("AUTH", "new_queues", &s.NewQueues)
	if v, ok := get("AUTH", "create_password"); ok {
		if err := validPassword(v); err != nil {
			errs = append(errs, "[AUTH] create_password: "+err.Error())
		}
		s.CreatePassword = v
	}
	if v, ok := get("TRANSPORT", "host"); ok {
		s.Host = v
	}
	if v, ok := get("TRANSPORT", "port"); ok {
		s.Ports = nil
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 {
				errs = append(errs, fmt.Sprintf("[TRANSPORT] port %q: not a port number", p))
			}
			s.Ports = append(s.Ports, p)
		}
	}
	num("TRANSPORT", "max_connections", &s.MaxConnections)
	num("TRANSPORT", "max_connections_per_ip", &s.MaxConnectionsPerIP)
	dur("TRANSPORT", "handshake_timeout", time.Second, &s.HandshakeTimeout)
	onOff("INACTIVE_CLIENTS", "disconnect", &s.DisconnectInactive)
	dur("INACTIVE_CLIENTS", "ttl", time.Second, &s.InactiveTTL)
	dur("INACTIVE_CLIENTS", "check_interval", time.Second, &s.InactiveCheck)
	num("QUEUES", "msg_queue_quota", &s.MsgQueueQuota)
	if v, ok := get("METRICS", "listen"); ok {
		s.MetricsListen = v
	}
	if len(errs) > 0 {
		return Settings{}, warnings, fmt.Errorf("config: %s", strings.Join(errs, "; "))
	}
	return s, warnings, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// validPassword applies the basic-auth character rule: printable ASCII,
// no spaces, and none of '@', ':' and '/' (they delimit the address).
func validPassword(p string) error {
	for _, c := range []byte(p) {
		if c <= ' ' || c >= 0x7f || c == '@' || c == ':' || c == '/' {
			return fmt.Errorf("character %q not allowed (printable ASCII without space, '@', ':' or '/')", c)
		}
	}
	return nil
}

// WriteSettings writes s as a commented INI file.
func WriteSettings(w io.Writer, s Settings) error {
	onOff := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	fsync := map[store.SyncPolicy]string{store.SyncEachWrite: "each", store.SyncInterval: "interval", store.SyncNever: "never"}[s.Fsync]
	_, err := fmt.Fprintf(w, `# smp-server configuration (smpkit reference relay).
# Keys follow the upstream smp-server.ini where the meaning is the same;
# keys marked "smpkit" are ours.

[STORE_LOG]
# Keep queues and undelivered messages on disk in this directory.
enable = %s
# smpkit: when writes reach the disk: each (a message answered OK survives
# kill -9), interval, or never.
fsync = %s
fsync_interval_ms = %d
expire_messages_days = %d

[AUTH]
# Allow creating queues (NEW).
new_queues = %s
# Password required by NEW and by the sending proxy (PRXY); empty = none.
create_password = %s

[TRANSPORT]
# Host name or IP printed in the server address.
host = %s
port = %s
# smpkit: connection limits (0 = no limit) and handshake time limit (s).
max_connections = %d
max_connections_per_ip = %d
handshake_timeout = %d

[INACTIVE_CLIENTS]
# Close connections without subscriptions idle for ttl seconds.
disconnect = %s
ttl = %d
check_interval = %d

[QUEUES]
# smpkit: messages a queue holds before SEND gets ERR QUOTA.
msg_queue_quota = %d

[METRICS]
# smpkit: serve Prometheus metrics at http://<listen>/metrics; empty = off.
listen = %s
`, onOff(s.StoreEnabled), fsync, s.FsyncInterval.Milliseconds(), s.ExpireMessagesDays,
		onOff(s.NewQueues), s.CreatePassword,
		s.Host, strings.Join(s.Ports, ","), s.MaxConnections, s.MaxConnectionsPerIP, int(s.HandshakeTimeout.Seconds()),
		onOff(s.DisconnectInactive), int(s.InactiveTTL.Seconds()), int(s.InactiveCheck.Seconds()),
		s.MsgQueueQuota, s.MetricsListen)
	return err
}

// ConfigFromSettings builds a relay configuration from operator settings,
// credentials and an open store (nil when the store is disabled).
func ConfigFromSettings(s Settings, creds *transport.Credentials, st *store.Store, log *slog.Logger) Config {
	cfg := Config{
		Credentials:         creds,
		Store:               st,
		Password:            s.CreatePassword,
		NoNewQueues:         !s.NewQueues,
		Quota:               s.MsgQueueQuota,
		MessageTTL:          time.Duration(s.ExpireMessagesDays) * 24 * time.Hour,
		HandshakeTimeout:    s.HandshakeTimeout,
		MaxConnections:      s.MaxConnections,
		MaxConnectionsPerIP: s.MaxConnectionsPerIP,
		Logger:              log,
	}
	if s.DisconnectInactive {
		cfg.IdleTimeout = s.InactiveTTL
	}
	return cfg
}

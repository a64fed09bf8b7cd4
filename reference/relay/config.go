package relay

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/transport"
)

// Settings are what an operator configures in smp-server.ini. Keys are
// upstream's (simplexmq Server/Main.hs, Main/Init.hs) with upstream's
// meaning, defaults and zero values; keys marked smpkit are ours. Every
// upstream key either works as upstream documents or is refused when the
// file is read (configKeys lists which and why).
type Settings struct {
	// [STORE_LOG]
	StoreEnabled       bool             // enable: keep queues and messages on disk
	RestoreMessages    bool             // restore_messages: off only with enable = off
	Fsync              store.SyncPolicy // fsync (smpkit): each | interval | never
	FsyncInterval      time.Duration    // fsync_interval_ms (smpkit)
	ExpireMessagesDays int              // expire_messages_days; 0 = expire at every check
	ExpireOnStart      bool             // expire_messages_on_start
	ExpireOnSend       bool             // expire_messages_on_send
	ExpireNtfsHours    int              // expire_ntfs_hours; 0 = expire at every check
	PrometheusInterval time.Duration    // prometheus_interval (s): write smp-server-metrics.txt; 0 = off
	Backups            int              // backups (smpkit): log generations kept in backups/; 0 = none
	CompactMin         int64            // compact_min (smpkit): bytes below which messages.log is not compacted
	// [AUTH]
	NewQueues            bool   // new_queues: allow NEW
	CreatePassword       string // create_password: basic auth for NEW and PRXY
	ControlAdminPassword string // control_port_admin_password
	ControlUserPassword  string // control_port_user_password
	DailyBlockQuota      int    // daily_block_queue_quota: 0 = no limit, -1 = blocking prohibited
	// [TRANSPORT]
	Host                     string        // host: printed in the server address
	Ports                    []string      // port: comma-separated listen ports
	ListenAddress            string        // listen_address (smpkit): IP the SMP ports bind; empty = all
	ControlPort              string        // control_port: on 127.0.0.1; empty = off
	LogTLSErrors             bool          // log_tls_errors
	AcceptServiceCredentials bool          // accept_service_credentials
	MaxConnections           int           // max_connections (smpkit), 0 = no limit
	MaxConnectionsPerIP      int           // max_connections_per_ip (smpkit), 0 = no limit
	HandshakeTimeout         time.Duration // handshake_timeout (smpkit, seconds)
	// [PROXY]
	ProxyEnabled      bool     // enable (smpkit): serve PRXY/PFWD
	ProxyAllowPrivate bool     // allow_private_destinations (smpkit)
	ProxyOwnDomains   []string // own_server_domains: counted apart in metrics
	ProxyConcurrency  int      // client_concurrency: proxy commands in flight per client
	// socks_proxy as written ([user:pass@|@][ip][:port]); empty = none
	ProxySOCKS            string
	ProxySOCKSAlways      bool // socks_mode = always (default onion: .onion hosts only)
	ProxyHostOnion        bool // host_mode = onion (default public)
	ProxyRequiredHostMode bool // required_host_mode
	// [INACTIVE_CLIENTS]
	DisconnectInactive bool          // disconnect
	InactiveTTL        time.Duration // ttl (seconds); 0 = any idle client at the next check
	InactiveCheck      time.Duration // check_interval (seconds)
	// [QUEUES] (smpkit)
	MsgQueueQuota int // msg_queue_quota
	// [METRICS] (smpkit)
	MetricsListen string // listen: host:port of the /metrics endpoint; empty = off
	// [WEB]
	WebStaticPath string // static_path: where the server information page is written
	WebHTTP       string // http: port serving static_path over HTTP
	WebHTTPS      string // https: port serving static_path over HTTPS, with cert and key; an SMP port serves both (by SNI)
	WebCert       string // cert: PEM certificate (chain) for https
	WebKey        string // key: PEM private key for https
	// [INFORMATION]: server information, by upstream key name.
	Information map[string]string
}

// DefaultSettings are the values used for keys a file does not set:
// upstream's code defaults (Server/Main.hs serverConfig, Env/STM.hs), except
// the per-IP limit, which smpkit adds and keeps off (behind an onion service
// or a reverse proxy every client has the same address).
func DefaultSettings() Settings {
	return Settings{
		StoreEnabled:             true,
		RestoreMessages:          true,
		Fsync:                    store.SyncEachWrite,
		FsyncInterval:            time.Second,
		Backups:                  3,
		CompactMin:               1 << 20,
		ExpireMessagesDays:       21,
		ExpireOnStart:            true,
		ExpireOnSend:             true,
		ExpireNtfsHours:          24,
		NewQueues:                true,
		DailyBlockQuota:          20,
		Host:                     "localhost",
		Ports:                    []string{"5223"},
		AcceptServiceCredentials: true,
		MaxConnections:           10000,
		HandshakeTimeout:         60 * time.Second,
		ProxyEnabled:             true,
		ProxyConcurrency:         32,
		DisconnectInactive:       true,
		InactiveTTL:              6 * time.Hour,
		InactiveCheck:            time.Hour,
		MsgQueueQuota:            128,
	}
}

// LoadSettings reads an INI file over the defaults. Keys upstream does not
// have and smpkit does not know are returned as warnings; upstream keys
// smpkit cannot honour, and bad values, are errors.
func LoadSettings(path string) (Settings, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return Settings{}, nil, err
	}
	defer f.Close()
	return ReadSettings(f)
}

// ErrRefused marks a key smpkit refuses: upstream has it, smpkit cannot do
// what it means.
var ErrRefused = errors.New("not supported by smpkit")

// ReadSettings is LoadSettings from a reader.
func ReadSettings(r io.Reader) (Settings, []string, error) {
	f, err := parseINI(r)
	if err != nil {
		return Settings{}, nil, fmt.Errorf("config: %w", err)
	}
	s := DefaultSettings()
	var warnings, errs []string
	secs := make([]string, 0, len(f.values))
	for sec := range f.values {
		secs = append(secs, sec)
	}
	sort.Strings(secs)
	for _, sec := range secs {
		if _, ok := configKeys[sec]; !ok {
			warnings = append(warnings, fmt.Sprintf("unknown section [%s] ignored", sec))
		}
	}
	for _, id := range f.order {
		sec, key, _ := strings.Cut(id, ".")
		keys, ok := configKeys[sec]
		if !ok {
			continue
		}
		apply, ok := keys[key]
		if !ok {
			warnings = append(warnings, fmt.Sprintf("line %d: unknown key %s in [%s] ignored", f.lines[id], key, sec))
			continue
		}
		v, _ := f.get(sec, key)
		if v == "" {
			continue // "key =" leaves the default, as a commented-out key does
		}
		if err := apply(&s, v); err != nil {
			var note noEffectError
			if errors.As(err, &note) {
				warnings = append(warnings, fmt.Sprintf("line %d: [%s] %s %v", f.lines[id], sec, key, err))
				continue
			}
			errs = append(errs, fmt.Sprintf("line %d: [%s] %s = %s: %v", f.lines[id], sec, key, v, err))
		}
	}
	if err := s.check(); err != nil {
		errs = append(errs, err.Error())
	}
	if err := checkInformation(s.Information); err != nil {
		errs = append(errs, err.Error())
	}
	warnings = append(warnings, publishedInformation(s.Information)...)
	if len(s.Information) == 0 {
		s.Information = nil
	}
	if s.ProxySOCKS == "" && (s.ProxySOCKSAlways || s.ProxyHostOnion) {
		// As upstream: both only choose how socks_proxy is used.
		warnings = append(warnings, "[PROXY] socks_mode = always and host_mode = onion have no effect without socks_proxy")
	}
	if len(errs) > 0 {
		return Settings{}, warnings, fmt.Errorf("config: %s", strings.Join(errs, "; "))
	}
	return s, warnings, nil
}

// check applies the rules between keys.
func (s *Settings) check() error {
	if s.StoreEnabled && !s.RestoreMessages {
		return fmt.Errorf("[STORE_LOG] restore_messages = off: %w: smpkit always restores undelivered messages on restart (off works only with enable = off)", ErrRefused)
	}
	if s.ControlPort != "" && s.ControlAdminPassword == "" && s.ControlUserPassword == "" {
		return errors.New("[TRANSPORT] control_port needs [AUTH] control_port_admin_password or control_port_user_password")
	}
	if s.ControlPort != "" && contains(s.Ports, s.ControlPort) {
		return fmt.Errorf("[TRANSPORT] control_port %s is also an SMP port", s.ControlPort)
	}
	if (s.WebHTTP != "" || s.WebHTTPS != "") && s.WebStaticPath == "" {
		return errors.New("[WEB] http and https serve static_path, which is not set")
	}
	if (s.WebHTTPS != "") != (s.WebCert != "" && s.WebKey != "") {
		return errors.New("[WEB] https needs cert and key, and cert and key are only used by https")
	}
	return nil
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

// ConfigFromSettings builds a relay configuration from operator settings,
// credentials and an open store (nil when the store is disabled).
func ConfigFromSettings(s Settings, creds *transport.Credentials, st *store.Store, log *slog.Logger) Config {
	cfg := Config{
		Credentials:          creds,
		Store:                st,
		Password:             s.CreatePassword,
		NoNewQueues:          !s.NewQueues,
		Quota:                s.MsgQueueQuota,
		MessageTTL:           literal(time.Duration(s.ExpireMessagesDays) * 24 * time.Hour),
		NotificationTTL:      literal(time.Duration(s.ExpireNtfsHours) * time.Hour),
		NoExpireOnStart:      !s.ExpireOnStart,
		ExpireOnSend:         s.ExpireOnSend,
		HandshakeTimeout:     s.HandshakeTimeout,
		MaxConnections:       s.MaxConnections,
		MaxConnectionsPerIP:  s.MaxConnectionsPerIP,
		LogTLSErrors:         s.LogTLSErrors,
		NoServiceCredentials: !s.AcceptServiceCredentials,
		DailyBlockQuota:      s.DailyBlockQuota,
		Proxy: &ProxyConfig{
			Disabled:     !s.ProxyEnabled,
			AllowPrivate: s.ProxyAllowPrivate,
			OwnDomains:   s.ProxyOwnDomains,
			Concurrency:  s.ProxyConcurrency,
			SOCKSAlways:  s.ProxySOCKSAlways,
			HostOnion:    s.ProxyHostOnion,
			// Upstream's name: required_host_mode.
			RequiredHostMode: s.ProxyRequiredHostMode,
		},
		Logger: log,
	}
	if s.ProxySOCKS != "" {
		// Checked when read; a Settings built in code with a bad value
		// gets proxying refused rather than direct connections.
		if sp, err := ParseSOCKSProxy(s.ProxySOCKS); err == nil {
			cfg.Proxy.SOCKS = sp.proxy(time.Now())
		} else {
			cfg.Proxy.Disabled = true
			if log != nil {
				log.Error("[PROXY] socks_proxy: sending proxy disabled", "err", err)
			}
		}
	}
	if s.DisconnectInactive {
		cfg.IdleTimeout = literal(s.InactiveTTL)
		cfg.IdleCheckInterval = s.InactiveCheck
	}
	return cfg
}

// literal keeps an INI zero meaning zero: Config reads 0 as "the default",
// so a configured 0 (upstream: expire at the next check) becomes the
// smallest positive duration, which behaves the same at second resolution.
func literal(d time.Duration) time.Duration {
	if d == 0 {
		return time.Nanosecond
	}
	return d
}

package relay

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/smpkit/smpkit/reference/store"
)

// keyFn applies one INI value to Settings, or says why it cannot.
type keyFn func(s *Settings, v string) error

// configKeys lists every key of upstream's smp-server.ini (the keys
// Server/Main.hs reads and Main/Init.hs writes) and smpkit's own. An
// upstream key smpkit cannot honour is refused with the reason, never
// accepted and ignored; one that does nothing upstream either in the only
// configuration smpkit accepts (noEffect) loads with a warning.
var configKeys = map[string]map[string]keyFn{
	"STORE_LOG": {
		"enable":            onOff(func(s *Settings) *bool { return &s.StoreEnabled }),
		"fsync":             setFsync,
		"fsync_interval_ms": duration(func(s *Settings) *time.Duration { return &s.FsyncInterval }, time.Millisecond, 1),
		// Upstream's storage back ends: smpkit has one, the store log,
		// which keeps queues and messages the way memory + store log +
		// restore_messages does upstream.
		"store_queues":   only("memory", "smpkit keeps queues in its store log (store_queues = memory); PostgreSQL is not available"),
		"store_messages": only("memory", "smpkit keeps messages in its store log (store_messages = memory); journal and PostgreSQL are not available"),
		// Upstream reads the db_* keys only with store_queues = database
		// (Main.hs iniStoreCfg SQSPostgres); with memory, the only queue
		// store smpkit accepts, they do nothing there either.
		"db_connection":  noEffect("used only with store_queues = database"),
		"db_schema":      noEffect("used only with store_queues = database"),
		"db_pool_size":   noEffect("used only with store_queues = database"),
		"db_store_log":   noEffect("used only with store_queues = database"),
		"db_deleted_ttl": noEffect("used only with store_queues = database"),
		// smpkit: how many previous generations of each log start keeps
		// in backups/ (0 = none), and the size in bytes below which
		// messages.log is not compacted while the relay runs.
		"backups":     whole(func(s *Settings) *int { return &s.Backups }, 0),
		"compact_min": bytesKey(func(s *Settings) *int64 { return &s.CompactMin }),
		// restore_messages = off drops undelivered messages on restart
		// upstream; smpkit's store always keeps them, so off is refused
		// unless the store log is off too (upstream's init writes it so),
		// where neither keeps anything (Settings.check).
		"restore_messages":         onOff(func(s *Settings) *bool { return &s.RestoreMessages }),
		"expire_messages_days":     whole(func(s *Settings) *int { return &s.ExpireMessagesDays }, 0),
		"expire_messages_on_start": onOff(func(s *Settings) *bool { return &s.ExpireOnStart }),
		"expire_messages_on_send":  onOff(func(s *Settings) *bool { return &s.ExpireOnSend }),
		"expire_ntfs_hours":        whole(func(s *Settings) *int { return &s.ExpireNtfsHours }, 0),
		"log_stats":                only("off", "the daily statistics CSV is not written; use prometheus_interval or [METRICS] listen"),
		// Upstream sleeps 0 s between writes at 0; smpkit wants at least 1.
		"prometheus_interval": duration(func(s *Settings) *time.Duration { return &s.PrometheusInterval }, time.Second, 1),
	},
	"AUTH": {
		"new_queues":                  onOff(func(s *Settings) *bool { return &s.NewQueues }),
		"create_password":             password(func(s *Settings) *string { return &s.CreatePassword }),
		"control_port_admin_password": password(func(s *Settings) *string { return &s.ControlAdminPassword }),
		"control_port_user_password":  password(func(s *Settings) *string { return &s.ControlUserPassword }),
		"daily_block_queue_quota":     whole(func(s *Settings) *int { return &s.DailyBlockQuota }, -1),
	},
	"TRANSPORT": {
		"host":                       text(func(s *Settings) *string { return &s.Host }),
		"port":                       setPorts,
		"listen_address":             setListen,
		"control_port":               port(func(s *Settings) *string { return &s.ControlPort }),
		"log_tls_errors":             onOff(func(s *Settings) *bool { return &s.LogTLSErrors }),
		"accept_service_credentials": onOff(func(s *Settings) *bool { return &s.AcceptServiceCredentials }),
		"websockets":                 only("off", "the WebSocket transport (deprecated upstream) is not available"),
		"max_connections":            whole(func(s *Settings) *int { return &s.MaxConnections }, 0),
		"max_connections_per_ip":     whole(func(s *Settings) *int { return &s.MaxConnectionsPerIP }, 0),
		"handshake_timeout":          duration(func(s *Settings) *time.Duration { return &s.HandshakeTimeout }, time.Second, 1),
	},
	"PROXY": {
		"enable":                     onOff(func(s *Settings) *bool { return &s.ProxyEnabled }),
		"allow_private_destinations": onOff(func(s *Settings) *bool { return &s.ProxyAllowPrivate }),
		// Upstream's init writes the list comma-separated and its start
		// splits it at spaces; both separators work here.
		"own_server_domains": func(s *Settings, v string) error {
			s.ProxyOwnDomains = strings.FieldsFunc(v, func(c rune) bool { return c == ',' || c == ' ' || c == '\t' })
			return nil
		},
		// Upstream waits for a free slot at 0, forever; smpkit wants 1 or more.
		"client_concurrency": whole(func(s *Settings) *int { return &s.ProxyConcurrency }, 1),
		// Upstream Client.hs textToHostMode: public, or onion (prefer a
		// destination's onion host when socks_proxy is set).
		"host_mode": func(s *Settings, v string) error {
			switch v {
			case "public", "onion":
				s.ProxyHostOnion = v == "onion"
				return nil
			}
			return fmt.Errorf("want public or onion")
		},
		"required_host_mode": onOff(func(s *Settings) *bool { return &s.ProxyRequiredHostMode }),
		"socks_proxy": func(s *Settings, v string) error {
			if _, err := ParseSOCKSProxy(v); err != nil {
				return err
			}
			s.ProxySOCKS = v
			return nil
		},
		// Upstream Client.hs SocksMode: onion (the default) uses the SOCKS
		// proxy for .onion hosts only, always for every host.
		"socks_mode": func(s *Settings, v string) error {
			switch v {
			case "onion", "always":
				s.ProxySOCKSAlways = v == "always"
				return nil
			}
			return fmt.Errorf("want onion or always")
		},
	},
	"INACTIVE_CLIENTS": {
		"disconnect": onOff(func(s *Settings) *bool { return &s.DisconnectInactive }),
		"ttl":        duration(func(s *Settings) *time.Duration { return &s.InactiveTTL }, time.Second, 0),
		// Upstream re-checks without a pause at 0; smpkit wants 1 s or more.
		"check_interval": duration(func(s *Settings) *time.Duration { return &s.InactiveCheck }, time.Second, 1),
	},
	"QUEUES": {
		"msg_queue_quota": whole(func(s *Settings) *int { return &s.MsgQueueQuota }, 1),
	},
	"METRICS": {
		"listen": text(func(s *Settings) *string { return &s.MetricsListen }),
	},
	"WEB": {
		"static_path": text(func(s *Settings) *string { return &s.WebStaticPath }),
		"http":        port(func(s *Settings) *string { return &s.WebHTTP }),
		"https":       port(func(s *Settings) *string { return &s.WebHTTPS }),
		"cert":        text(func(s *Settings) *string { return &s.WebCert }),
		"key":         text(func(s *Settings) *string { return &s.WebKey }),
	},
	"INFORMATION": informationKeys(),
}

// informationKeys are upstream's server information fields, checked as
// upstream checks them (Server/Main.hs serverPublicInfo): countries are
// ISO 3166 two-letter codes, hosting_type one of four words.
func informationKeys() map[string]keyFn {
	keys := map[string]keyFn{}
	plain := []string{"source_code", "usage_conditions", "condition_amendments", "operator", "website", "hosting",
		"admin_simplex", "admin_email", "admin_pgp", "admin_pgp_fingerprint",
		"complaints_simplex", "complaints_email", "complaints_pgp", "complaints_pgp_fingerprint"}
	for _, k := range plain {
		keys[k] = info(k, nil)
	}
	for _, k := range []string{"server_country", "operator_country", "hosting_country"} {
		keys[k] = info(k, func(v string) (string, error) {
			if len(v) != 2 || !isLetter(v[0]) || !isLetter(v[1]) {
				return "", fmt.Errorf("use an ISO 3166 two-letter code")
			}
			return strings.ToUpper(v), nil
		})
	}
	keys["hosting_type"] = info("hosting_type", func(v string) (string, error) {
		switch v {
		case "virtual", "dedicated", "colocation", "owned":
			return v, nil
		}
		return "", fmt.Errorf("want virtual, dedicated, colocation or owned")
	})
	return keys
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func info(key string, check func(string) (string, error)) keyFn {
	return func(s *Settings, v string) error {
		if check != nil {
			var err error
			if v, err = check(v); err != nil {
				return err
			}
		}
		if s.Information == nil {
			s.Information = map[string]string{}
		}
		s.Information[key] = v
		return nil
	}
}

func onOff(field func(*Settings) *bool) keyFn {
	return func(s *Settings, v string) error {
		switch v {
		case "on", "true", "yes":
			*field(s) = true
		case "off", "false", "no":
			*field(s) = false
		default:
			return fmt.Errorf("want on or off")
		}
		return nil
	}
}

func whole(field func(*Settings) *int, min int) keyFn {
	return func(s *Settings, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < min {
			return fmt.Errorf("want a whole number, at least %d", min)
		}
		*field(s) = n
		return nil
	}
}

func duration(field func(*Settings) *time.Duration, unit time.Duration, min int) keyFn {
	return func(s *Settings, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < min {
			return fmt.Errorf("want a whole number, at least %d", min)
		}
		*field(s) = time.Duration(n) * unit
		return nil
	}
}

func text(field func(*Settings) *string) keyFn {
	return func(s *Settings, v string) error {
		*field(s) = v
		return nil
	}
}

func password(field func(*Settings) *string) keyFn {
	return func(s *Settings, v string) error {
		if err := validPassword(v); err != nil {
			return err
		}
		*field(s) = v
		return nil
	}
}

// only accepts the one value smpkit does as upstream and refuses others.
func only(value, why string) keyFn {
	return func(_ *Settings, v string) error {
		if v == value {
			return nil
		}
		return fmt.Errorf("%w: %s", ErrRefused, why)
	}
}

func refuse(why string) keyFn {
	return func(*Settings, string) error { return fmt.Errorf("%w: %s", ErrRefused, why) }
}

// noEffectError marks a key that is accepted and does nothing, as it does
// upstream in the same configuration; ReadSettings reports it as a warning.
type noEffectError string

func (e noEffectError) Error() string { return "has no effect: " + string(e) }

func noEffect(why string) keyFn {
	return func(*Settings, string) error { return noEffectError(why) }
}

func bytesKey(field func(*Settings) *int64) keyFn {
	return func(s *Settings, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("want a whole number of bytes, at least 0")
		}
		*field(s) = n
		return nil
	}
}

func setFsync(s *Settings, v string) error {
	p, err := store.ParseSyncPolicy(v)
	if err != nil {
		return err
	}
	s.Fsync = p
	return nil
}

func port(field func(*Settings) *string) keyFn {
	return func(s *Settings, v string) error {
		if err := checkPort(v); err != nil {
			return err
		}
		*field(s) = v
		return nil
	}
}

func checkPort(p string) error {
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q is not a port number", p)
	}
	return nil
}

func setPorts(s *Settings, v string) error {
	var ports []string
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if err := checkPort(p); err != nil {
			return err
		}
		ports = append(ports, p)
	}
	s.Ports = ports
	return nil
}

func setListen(s *Settings, v string) error {
	if net.ParseIP(v) == nil {
		return fmt.Errorf("want an IP address")
	}
	s.ListenAddress = v
	return nil
}

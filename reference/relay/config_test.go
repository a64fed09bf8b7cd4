package relay

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smpkit/smpkit/reference/store"
)

func TestSettingsRoundTrip(t *testing.T) {
	s := DefaultSettings()
	s.CreatePassword = "s3cret!"
	s.ControlAdminPassword, s.ControlUserPassword, s.ControlPort = "adm", "usr", "5224"
	s.Ports = []string{"5223", "443"}
	s.ListenAddress = "192.0.2.1"
	s.Fsync = store.SyncInterval
	s.MetricsListen = "127.0.0.1:9090"
	s.ProxyOwnDomains = []string{"example.com", "example.net"}
	s.PrometheusInterval = time.Minute
	s.WebStaticPath = "/srv/www"
	s.WebHTTP, s.WebHTTPS, s.WebCert, s.WebKey = "8000", "8443", "/etc/web.crt", "/etc/web.key"
	s.Information = map[string]string{"source_code": "https://example.com/src", "hosting_type": "owned"}
	var buf bytes.Buffer
	if err := WriteSettings(&buf, s); err != nil {
		t.Fatal(err)
	}
	got, warn, err := ReadSettings(&buf)
	if err != nil || len(warn) != 0 {
		t.Fatalf("read back: %v %v", err, warn)
	}
	if d := cmp.Diff(s, got); d != "" {
		t.Fatalf("round trip (-want +got):\n%s", d)
	}
}

// TestSettingsUpstreamFile loads, unchanged, the smp-server.ini upstream's
// `smp-server init -y --fqdn smp.example.com --control-port --disable-web
// --source-code --operator "Example Ltd" --operator-country gb
// --server-country de --hosting-type dedicated --own-domains example.com`
// writes: testdata/upstream-smp-server.ini follows iniFileContent and
// informationIniContent in simplexmq src/Simplex/Messaging/Server/Main/Init.hs
// line by line (the passwords are random there: base64url of 32 and 18
// random bytes, padded, as strEncode writes them).
func TestSettingsUpstreamFile(t *testing.T) {
	f, err := os.Open("testdata/upstream-smp-server.ini")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, warn, err := ReadSettings(f)
	if err != nil || len(warn) != 0 {
		t.Fatalf("upstream file: %v, warnings %q", err, warn)
	}
	want := DefaultSettings()
	want.ExpireOnSend = false
	want.CreatePassword = "KHO0ZaSXEiaOqpHPKx2g6Ki0uFOkRqiQKp7RnzRGmjo="
	want.ControlAdminPassword = "RlyA3fYQ1SDbd9n3Yx5P0cEB"
	want.ControlUserPassword = "c4hzFxZ1NSKIDoT5gvjmHCYm"
	want.Host = "smp.example.com"
	want.Ports = []string{"5223", "443"}
	want.ControlPort = "5224"
	want.ProxyOwnDomains = []string{"example.com"}
	want.WebStaticPath = "/var/opt/simplex/www"
	want.Information = map[string]string{"source_code": "https://github.com/simplex-chat/simplexmq",
		"server_country": "DE", "operator": "Example Ltd", "operator_country": "GB", "hosting_type": "dedicated"}
	if d := cmp.Diff(want, s); d != "" {
		t.Fatalf("settings (-want +got):\n%s", d)
	}
}

// TestSettingsUpstreamDefaultFile loads what upstream's `smp-server init -y`
// writes with no other options (testdata/upstream-default-smp-server.ini,
// from the same generator): store log on, a random password, no control
// port, host "<hostnames>", and [WEB] https = 443 sharing the SMP port 443.
func TestSettingsUpstreamDefaultFile(t *testing.T) {
	f, err := os.Open("testdata/upstream-default-smp-server.ini")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, warn, err := ReadSettings(f)
	if err != nil || len(warn) != 0 {
		t.Fatalf("upstream default file: %v, warnings %q", err, warn)
	}
	if s.Host != "<hostnames>" || s.WebHTTPS != "443" || s.WebCert != "/etc/opt/simplex/web.crt" || s.WebKey != "/etc/opt/simplex/web.key" ||
		s.WebStaticPath != "/var/opt/simplex/www" || s.CreatePassword == "" || s.ControlPort != "" || s.Information["hosting_type"] != "virtual" {
		t.Fatalf("settings %+v", s)
	}
}

func TestSettingsColonSyntax(t *testing.T) {
	in := "[TRANSPORT]\nhost: relay.example\nport: 443\n[PROXY]\nsocks_mode = always\n"
	_, _, err := ReadSettings(strings.NewReader(in))
	if err == nil || !strings.Contains(err.Error(), "line 5: [PROXY] socks_mode") {
		t.Fatalf("want the refusal of socks_mode with its line, got %v", err)
	}
	s, _, err := ReadSettings(strings.NewReader("[TRANSPORT]\nhost: relay.example\nport: 443\n"))
	if err != nil || s.Host != "relay.example" || s.Ports[0] != "443" {
		t.Fatalf("key: value: %v %+v", err, s)
	}
}

// TestSettingsRefused: every upstream key (or value) smpkit cannot honour is
// an error naming it, never accepted and ignored.
func TestSettingsRefused(t *testing.T) {
	for _, in := range []string{
		"[STORE_LOG]\nstore_queues = database\n",
		"[STORE_LOG]\nstore_messages = journal\n",
		"[STORE_LOG]\nstore_messages = database\n",
		"[STORE_LOG]\ndb_connection = postgresql://smp@/smp_server_store\n",
		"[STORE_LOG]\ndb_schema = smp_server\n",
		"[STORE_LOG]\ndb_pool_size = 10\n",
		"[STORE_LOG]\ndb_store_log = on\n",
		"[STORE_LOG]\ndb_deleted_ttl = 21\n",
		"[STORE_LOG]\nrestore_messages = off\n",
		"[STORE_LOG]\nlog_stats = on\n",
		"[TRANSPORT]\nwebsockets = on\n",
		"[TRANSPORT]\nwebsockets = 443\n",
		"[PROXY]\nhost_mode = onion\n",
		"[PROXY]\nrequired_host_mode = on\n",
		"[PROXY]\nsocks_proxy = localhost:9050\n",
		"[PROXY]\nsocks_mode = onion\n",
	} {
		_, _, err := ReadSettings(strings.NewReader(in))
		key := strings.Fields(strings.SplitN(in, "\n", 2)[1])[0]
		if err == nil || !strings.Contains(err.Error(), ErrRefused.Error()) || !strings.Contains(err.Error(), key) {
			t.Errorf("%q: want a refusal naming %s, got %v", in, key, err)
		}
	}
	// The accepted values of the same keys.
	ok := "[STORE_LOG]\nstore_queues = memory\nstore_messages = memory\nrestore_messages = on\nlog_stats = off\n" +
		"[TRANSPORT]\nwebsockets = off\n[PROXY]\nhost_mode = public\nrequired_host_mode = off\n"
	if _, warn, err := ReadSettings(strings.NewReader(ok)); err != nil || len(warn) > 0 {
		t.Fatalf("accepted values: %v %q", err, warn)
	}
}

// TestSettingsZero: 0 means what it means upstream, not "the default".
func TestSettingsZero(t *testing.T) {
	in := `[STORE_LOG]
expire_messages_days = 0
expire_ntfs_hours = 0
expire_messages_on_start = off
[AUTH]
daily_block_queue_quota = 0
[INACTIVE_CLIENTS]
disconnect = on
ttl = 0
check_interval = 1
[TRANSPORT]
max_connections = 0
`
	s, _, err := ReadSettings(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if s.ExpireMessagesDays != 0 || s.ExpireNtfsHours != 0 || s.DailyBlockQuota != 0 || s.InactiveTTL != 0 || s.MaxConnections != 0 {
		t.Fatalf("zeros not kept: %+v", s)
	}
	cfg := ConfigFromSettings(s, nil, nil, nil)
	// Config reads 0 as its default; a configured 0 must arrive as "now".
	if cfg.MessageTTL != time.Nanosecond || cfg.NotificationTTL != time.Nanosecond || cfg.IdleTimeout != time.Nanosecond {
		t.Fatalf("zero durations became %v %v %v", cfg.MessageTTL, cfg.NotificationTTL, cfg.IdleTimeout)
	}
	if !cfg.NoExpireOnStart || cfg.IdleCheckInterval != time.Second || cfg.DailyBlockQuota != 0 {
		t.Fatalf("config %+v", cfg)
	}
	s, _, err = ReadSettings(strings.NewReader("[AUTH]\ndaily_block_queue_quota = -1\n"))
	if err != nil || s.DailyBlockQuota != -1 {
		t.Fatalf("quota -1 (blocking prohibited): %v %d", err, s.DailyBlockQuota)
	}
	// Where upstream's 0 would spin or stall, smpkit refuses it.
	for _, in := range []string{
		"[INACTIVE_CLIENTS]\ncheck_interval = 0\n",
		"[STORE_LOG]\nprometheus_interval = 0\n",
		"[PROXY]\nclient_concurrency = 0\n",
		"[QUEUES]\nmsg_queue_quota = 0\n",
		"[AUTH]\ndaily_block_queue_quota = -2\n",
	} {
		if _, _, err := ReadSettings(strings.NewReader(in)); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestSettingsDefaults(t *testing.T) {
	s := DefaultSettings()
	if s.MaxConnectionsPerIP != 0 {
		t.Errorf("per-IP limit on by default: %d", s.MaxConnectionsPerIP)
	}
	if !s.ProxyEnabled || s.ProxyAllowPrivate {
		t.Errorf("proxy defaults: enabled %v, private destinations %v", s.ProxyEnabled, s.ProxyAllowPrivate)
	}
	cfg := ConfigFromSettings(s, nil, nil, nil)
	if cfg.Proxy == nil || cfg.Proxy.Disabled || cfg.Proxy.AllowPrivate {
		t.Errorf("proxy config %+v", cfg.Proxy)
	}
}

func TestSettingsErrors(t *testing.T) {
	for _, in := range []string{
		"key = value\n",
		"[AUTH]\nnew_queues = maybe\n",
		"[AUTH]\ncreate_password = a@b\n",
		"[TRANSPORT]\nport = 70000\n",
		"[TRANSPORT]\nlisten_address = somewhere\n",
		"[TRANSPORT]\nport = 5223\nport = 443\n",
		"[TRANSPORT]\ncontrol_port = 5224\n", // no control password
		"[STORE_LOG]\nfsync = sometimes\n",
		"[INFORMATION]\nserver_country = Germany\n",
		"[INFORMATION]\nhosting_type = cloud\n",
		"[QUEUES\n",
		"[WEB]\nhttp = 8000\n",                                   // no static_path
		"[WEB]\nstatic_path = /srv\nhttps = 8443\n",              // no cert and key
		"[WEB]\nstatic_path = /srv\ncert = a.crt\nkey = a.key\n", // no https
		"[AUTH]\n= value\n",
	} {
		_, _, err := ReadSettings(strings.NewReader(in))
		if err == nil {
			t.Errorf("%q: no error", in)
		} else if errors.Is(err, ErrRefused) {
			t.Errorf("%q: bad value reported as a refusal: %v", in, err)
		}
	}
	_, warn, err := ReadSettings(strings.NewReader("[TRANSPORT]\nfrobnicate = 1\n[EXTRA]\nx = 1\n"))
	if err != nil || len(warn) != 2 {
		t.Fatalf("unknown key and section: %v %q", err, warn)
	}
}

// upstreamKeys are every key upstream's smp-server reads (simplexmq
// src/Simplex/Messaging/Server/Main.hs and Server/CLI.hs: lookupValue,
// iniOnOff, readIniDefault, strictIni, strDecodeIni, settingIsOn, and the
// [INFORMATION] fields of serverPublicInfo).
var upstreamKeys = map[string][]string{
	"STORE_LOG": {"enable", "store_queues", "store_messages", "db_connection", "db_schema", "db_pool_size", "db_store_log",
		"db_deleted_ttl", "restore_messages", "expire_messages_days", "expire_messages_on_start", "expire_messages_on_send",
		"expire_ntfs_hours", "log_stats", "prometheus_interval"},
	"AUTH":             {"new_queues", "create_password", "control_port_admin_password", "control_port_user_password", "daily_block_queue_quota"},
	"TRANSPORT":        {"host", "port", "log_tls_errors", "websockets", "control_port", "accept_service_credentials"},
	"PROXY":            {"host_mode", "required_host_mode", "own_server_domains", "socks_proxy", "socks_mode", "client_concurrency"},
	"INACTIVE_CLIENTS": {"disconnect", "ttl", "check_interval"},
	"WEB":              {"static_path", "http", "https", "cert", "key"},
	"INFORMATION": {"source_code", "usage_conditions", "condition_amendments", "server_country", "operator", "operator_country",
		"website", "admin_simplex", "admin_email", "admin_pgp", "admin_pgp_fingerprint", "complaints_simplex", "complaints_email",
		"complaints_pgp", "complaints_pgp_fingerprint", "hosting", "hosting_country", "hosting_type"},
}

// TestEveryUpstreamKeyKnown: no upstream key falls through to "unknown key
// ignored"; each is honoured or refused (TestSettingsRefused).
func TestEveryUpstreamKeyKnown(t *testing.T) {
	for sec, keys := range upstreamKeys {
		for _, k := range keys {
			if configKeys[sec][k] == nil {
				t.Errorf("[%s] %s is not in configKeys", sec, k)
			}
		}
	}
}

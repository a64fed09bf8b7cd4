package relay

import (
	"bytes"
	"errors"
	"os"
	"slices"
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
	s.Backups, s.CompactMin = 0, 4096
	s.ProxySOCKS, s.ProxySOCKSAlways, s.ProxyHostOnion, s.ProxyRequiredHostMode = "u:p@127.0.0.1:9150", true, true, true
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
	// Upstream's init writes hosting_type without source_code, and
	// upstream then publishes no information: nor does smpkit, and says so.
	if err != nil || len(warn) != 1 || !strings.Contains(warn[0], "no source_code") {
		t.Fatalf("upstream default file: %v, warnings %q", err, warn)
	}
	if s.Host != "<hostnames>" || s.WebHTTPS != "443" || s.WebCert != "/etc/opt/simplex/web.crt" || s.WebKey != "/etc/opt/simplex/web.key" ||
		s.WebStaticPath != "/var/opt/simplex/www" || s.CreatePassword == "" || s.ControlPort != "" || len(s.Information) != 0 {
		t.Fatalf("settings %+v", s)
	}
}

func TestSettingsColonSyntax(t *testing.T) {
	in := "[TRANSPORT]\nhost: relay.example\nport: 443\n[PROXY]\nsocks_mode = sometimes\n"
	_, _, err := ReadSettings(strings.NewReader(in))
	if err == nil || !strings.Contains(err.Error(), "line 5: [PROXY] socks_mode") {
		t.Fatalf("want the error of socks_mode with its line, got %v", err)
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
		"[STORE_LOG]\nrestore_messages = off\n",
		"[STORE_LOG]\nlog_stats = on\n",
		"[TRANSPORT]\nwebsockets = on\n",
		"[TRANSPORT]\nwebsockets = 443\n",
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
	// What upstream's init writes when the store log is declined:
	// enable = off and restore_messages = off, which keeps nothing there
	// either.
	s, _, err := ReadSettings(strings.NewReader(upstreamWith(t, nil, map[string]string{"enable": "enable = off", "restore_messages": "restore_messages = off"})))
	if err != nil || s.StoreEnabled || s.RestoreMessages {
		t.Fatalf("store log off, restore_messages off: %v %+v", err, s)
	}
}

// upstreamWith is upstream's default smp-server.ini with the given
// commented-out lines ("# key = value", as init writes them) uncommented,
// and the given lines replaced (key → new line).
func upstreamWith(t *testing.T, uncomment []string, replace map[string]string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/upstream-default-smp-server.ini")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	done := map[string]bool{}
	for i, l := range lines {
		for _, k := range uncomment {
			if strings.HasPrefix(l, "# "+k+" =") {
				lines[i], done[k] = strings.TrimPrefix(l, "# "), true
			}
		}
		for k, nl := range replace {
			if strings.HasPrefix(l, "# "+k+" =") || strings.HasPrefix(l, k+" =") {
				lines[i], done[k] = nl, true
			}
		}
	}
	for _, k := range append(uncomment, mapKeys(replace)...) {
		if !done[k] {
			t.Fatalf("upstream file has no line for %s", k)
		}
	}
	return strings.Join(lines, "\n")
}

func mapKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestSettingsUpstreamNoOps: upstream keys uncommented at values that do
// nothing upstream in this configuration load, as upstream loads them:
// the db_* keys with store_queues = memory (Main.hs reads them only for
// database), socks_mode without socks_proxy (Client.hs uses it only with a
// proxy), host_mode = public and required_host_mode = off (the defaults).
func TestSettingsUpstreamNoOps(t *testing.T) {
	dbKeys := []string{"db_connection", "db_schema", "db_pool_size", "db_store_log", "db_deleted_ttl"}
	in := upstreamWith(t, append(dbKeys, "socks_mode", "host_mode", "required_host_mode"), nil)
	s, warn, err := ReadSettings(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range dbKeys {
		if !slices.ContainsFunc(warn, func(w string) bool { return strings.Contains(w, k+" has no effect") }) {
			t.Errorf("no warning that %s has no effect: %q", k, warn)
		}
	}
	def, _, err := ReadSettings(strings.NewReader(upstreamWith(t, nil, nil)))
	if err != nil {
		t.Fatal(err)
	}
	def.CreatePassword = s.CreatePassword // random in each file; the same one here
	if d := cmp.Diff(def, s); d != "" {
		t.Fatalf("no-op keys changed settings (-default +got):\n%s", d)
	}
	cfg := ConfigFromSettings(s, nil, nil, nil)
	if cfg.Proxy.SOCKS != nil || cfg.Proxy.HostOnion || cfg.Proxy.RequiredHostMode || cfg.Proxy.SOCKSAlways {
		t.Fatalf("proxy config %+v", cfg.Proxy)
	}
}

// TestSettingsUpstreamOnion: an onion-hosted relay's file (upstream's with
// socks_proxy, host_mode = onion and socks_mode uncommented) loads and
// configures the sending proxy's SOCKS client.
func TestSettingsUpstreamOnion(t *testing.T) {
	in := upstreamWith(t, []string{"socks_mode"}, map[string]string{"socks_proxy": "socks_proxy = 127.0.0.1:9050", "host_mode": "host_mode = onion"})
	s, _, err := ReadSettings(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if s.ProxySOCKS != "127.0.0.1:9050" || !s.ProxyHostOnion || s.ProxySOCKSAlways {
		t.Fatalf("settings: socks %q, onion %v, always %v", s.ProxySOCKS, s.ProxyHostOnion, s.ProxySOCKSAlways)
	}
	p := ConfigFromSettings(s, nil, nil, nil).Proxy
	// No "@": a username of its own for each run, no password (isolation).
	if p.SOCKS == nil || p.SOCKS.Addr != "127.0.0.1:9050" || len(p.SOCKS.Username) != 44 || p.SOCKS.Password != "" || !p.HostOnion {
		t.Fatalf("proxy config %+v %+v", p, p.SOCKS)
	}
	// The example init writes, uncommented as it stands, also loads.
	s, _, err = ReadSettings(strings.NewReader(upstreamWith(t, []string{"socks_proxy"}, nil)))
	if err != nil || s.ProxySOCKS != "localhost:9050" {
		t.Fatalf("socks_proxy = localhost:9050: %v %q", err, s.ProxySOCKS)
	}
}

func TestParseSOCKSProxy(t *testing.T) {
	for in, want := range map[string]SOCKSSetting{
		"":                      {Addr: "127.0.0.1:9050"},
		":9150":                 {Addr: "127.0.0.1:9150"},
		"10.0.0.1":              {Addr: "10.0.0.1:9050"},
		"localhost:9050":        {Addr: "127.0.0.1:9050"},
		"[::1]:9050":            {Addr: "[::1]:9050"},
		"::1":                   {Addr: "[::1]:9050"},
		"@127.0.0.1:9050":       {Auth: SOCKSNoAuth, Addr: "127.0.0.1:9050"},
		"u:p@127.0.0.1:9050":    {Auth: SOCKSUserPass, Username: "u", Password: "p", Addr: "127.0.0.1:9050"},
		"user:@127.0.0.1:19050": {Auth: SOCKSUserPass, Username: "user", Addr: "127.0.0.1:19050"},
	} {
		got, err := ParseSOCKSProxy(in)
		if err != nil || got != want {
			t.Errorf("%q: got %+v %v, want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"tor.example:9050", "u@127.0.0.1", "127.0.0.1:0", "127.0.0.1:x", "[::1", "[::1]x"} {
		if _, err := ParseSOCKSProxy(in); err == nil {
			t.Errorf("%q accepted", in)
		}
		if _, _, err := ReadSettings(strings.NewReader("[PROXY]\nsocks_proxy = " + in + "\n")); err == nil || !strings.Contains(err.Error(), "socks_proxy") {
			t.Errorf("%q: settings error %v", in, err)
		}
	}
	_, warn, err := ReadSettings(strings.NewReader("[PROXY]\nsocks_mode = always\n"))
	if err != nil || len(warn) != 1 || !strings.Contains(warn[0], "without socks_proxy") {
		t.Errorf("socks_mode = always without socks_proxy: %v %q", err, warn)
	}
	for _, in := range []string{"[PROXY]\nhost_mode = tor\n", "[PROXY]\nsocks_mode = never\n", "[PROXY]\nrequired_host_mode = maybe\n"} {
		if _, _, err := ReadSettings(strings.NewReader(in)); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

// TestSettingsInformation: [INFORMATION] is published as upstream's
// serverPublicInfo builds it, and what it would drop is reported.
func TestSettingsInformation(t *testing.T) {
	read := func(body string) (map[string]string, []string, error) {
		s, warn, err := ReadSettings(strings.NewReader("[INFORMATION]\n" + body))
		return s.Information, warn, err
	}
	// No source_code: nothing at all, as upstream (and a warning).
	info, warn, err := read("operator = Example\nwebsite = https://example.com\n")
	if err != nil || len(info) != 0 || len(warn) != 1 || !strings.Contains(warn[0], "operator, website") {
		t.Fatalf("without source_code: %v %v %q", info, err, warn)
	}
	// Fields that need another are dropped without it.
	info, warn, err = read("source_code = https://example.com/src\ncondition_amendments = x\noperator_country = de\nhosting_country = fr\nhosting = H\n")
	want := map[string]string{"source_code": "https://example.com/src", "hosting": "H", "hosting_country": "FR"}
	if err != nil || !cmp.Equal(info, want) || len(warn) != 2 {
		t.Fatalf("dependent fields: %v %v %q", info, err, warn)
	}
	// A PGP key needs its fingerprint and the reverse.
	for _, body := range []string{"admin_pgp = https://example.com/key.asc\n", "complaints_pgp_fingerprint = ABCD\n"} {
		if _, _, err := read("source_code = s\n" + body); err == nil || !strings.Contains(err.Error(), "go together") {
			t.Errorf("%q: %v", body, err)
		}
	}
	// *_simplex values are SimpleX addresses or links.
	for _, l := range []string{"simplex:/contact#/?v=2-7&smp=x", "https://simplex.chat/contact#/?v=2-7&smp=smp%3A%2F%2Fx", "https://smp.example/a#abc", "simplex:/i#id/key"} {
		if _, _, err := read("source_code = s\nadmin_simplex = " + l + "\n"); err != nil {
			t.Errorf("%q: %v", l, err)
		}
	}
	for _, l := range []string{"admin@example.com", "https://example.com/", "simplex:/x#y", "https://example.com/contact", "simplex:/contact#/?v=2", "https://smp.example/a#"} {
		if _, _, err := read("source_code = s\ncomplaints_simplex = " + l + "\n"); err == nil || !strings.Contains(err.Error(), "complaints_simplex") {
			t.Errorf("%q: %v", l, err)
		}
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

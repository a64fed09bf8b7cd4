package relay_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smpkit/smpkit/internal/buildinfo"
	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/transport"
)

// upstreamFamilies is every metric family upstream's smp-server writes,
// with its type and the label sets of its samples: simplexmq
// src/Simplex/Messaging/Server/Prometheus.hs, prometheusMetrics (the
// rcv_/ntf_services_* ones from its showServices, the sockets_* ones from
// socketsMetric, the period labels from showBucketSums). "k=*" is a label
// with varying values; no label set means one sample without labels.
const upstreamFamilies = `
simplex_smp_queues_created counter
simplex_smp_queues_secured counter
simplex_smp_queues_deleted counter type=all type=new type=secured
simplex_smp_queues_blocked counter
simplex_smp_queues_deleted_batch counter
simplex_smp_queues_total1 gauge
simplex_smp_queues_total2 gauge
simplex_smp_queues_daily gauge
simplex_smp_queues_weekly gauge
simplex_smp_queues_monthly gauge
simplex_smp_queues_notify_daily gauge
simplex_smp_queues_notify_weekly gauge
simplex_smp_queues_notify_monthly gauge
simplex_smp_subscribtion_successes counter
simplex_smp_subscribtion_successes_batch counter
simplex_smp_subscribtion_end counter
simplex_smp_subscribtion_end_batch counter
simplex_smp_subscribtion_errors counter type=auth type=duplicate type=prohibited
simplex_smp_messages_sent counter
simplex_smp_messages_sent_errors counter type=auth type=quota type=large type=block
simplex_smp_messages_received counter
simplex_smp_messages_expired counter
simplex_smp_messages_total gauge
simplex_smp_messages_notify_sent counter
simplex_smp_messages_notify_received counter
simplex_smp_messages_notify_get_sent counter
simplex_smp_messages_notify_get_received counter
simplex_smp_messages_notify_get_errors counter type=nomsg type=auth type=duplicate type=prohibited
simplex_smp_queues_notify_created counter
simplex_smp_queues_notify_new_created counter
simplex_smp_queues_notify_deleted counter
simplex_smp_queues_notify_deleted_batch counter
simplex_smp_queues_notify_total1 gauge
simplex_smp_queues_notify_total2 gauge
simplex_smp_messages_ntf_successes counter
simplex_smp_messages_ntf_successes_batch counter
simplex_smp_messages_ntf_errors counter type=nosub type=lost type=expired
simplex_smp_subscription_ntf_requests counter
simplex_smp_subscription_ntf_requests_batch counter
simplex_smp_subscribtion_ntf_errors counter type=auth type=duplicate
simplex_smp_relay_sessions_requests counter source=all source=own
simplex_smp_relay_sessions_successes counter source=all source=own
simplex_smp_relay_sessions_errors counter source=all,type=connect source=all,type=compat source=all,type=other source=own,type=connect source=own,type=compat source=own,type=other
simplex_smp_relay_messages_requests counter source=all source=own
simplex_smp_relay_messages_successes counter source=all source=own
simplex_smp_relay_messages_errors counter source=all,type=connect source=all,type=compat source=all,type=other source=own,type=connect source=own,type=compat source=own,type=other
simplex_smp_relay_messages_received counter
simplex_smp_rcv_services_count gauge
simplex_smp_rcv_services_queues_count gauge
simplex_smp_ntf_services_count gauge
simplex_smp_ntf_services_queues_count gauge
simplex_smp_rcv_services_assoc_new counter
simplex_smp_rcv_services_assoc_duplicate counter
simplex_smp_rcv_services_assoc_updated counter
simplex_smp_rcv_services_assoc_removed counter
simplex_smp_rcv_services_sub_count counter
simplex_smp_rcv_services_sub_duplicate counter
simplex_smp_rcv_services_sub_queues gauge
simplex_smp_rcv_services_sub_end gauge
simplex_smp_ntf_services_assoc_new counter
simplex_smp_ntf_services_assoc_duplicate counter
simplex_smp_ntf_services_assoc_updated counter
simplex_smp_ntf_services_assoc_removed counter
simplex_smp_ntf_services_sub_count counter
simplex_smp_ntf_services_sub_duplicate counter
simplex_smp_ntf_services_sub_queues gauge
simplex_smp_ntf_services_sub_end gauge
simplex_smp_info gauge version=*,rts_options=*
simplex_smp_sockets_accepted gauge port=*
simplex_smp_sockets_closed gauge port=*
simplex_smp_sockets_active gauge port=*
simplex_smp_sockets_leaked gauge port=*
simplex_smp_threads_total gauge
simplex_smp_clients_total gauge
simplex_smp_delivered_total gauge
simplex_smp_delivered_clients_total gauge
simplex_smp_delivery_ack_confirmed_time histogram
simplex_smp_delivery_ack_confirmed_count counter period=0-60 period=60-300 period=300-1200 period=1200-3600 period=3600+
simplex_smp_delivery_ack_pending_count gauge period=0-60 period=60-300 period=300-1200 period=1200-3600 period=3600+
simplex_smp_delivery_ack_time_max gauge
simplex_smp_subscribtion_total gauge
simplex_smp_subscribtion_clients_total gauge
simplex_smp_subscribtion_services_total gauge
simplex_smp_subscription_ntf_total gauge
simplex_smp_subscription_ntf_clients_total gauge
simplex_smp_subscribtion_nts_services_total gauge
simplex_smp_loaded_queues_queue_count gauge
simplex_smp_loaded_queues_ntf_count gauge
simplex_smp_loaded_queues_open_journal_count gauge
simplex_smp_loaded_queues_queue_lock_count gauge
simplex_smp_loaded_queues_ntf_lock_count gauge
`

func metricsText(t *testing.T, r *relay.Relay) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteMetrics(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// family is what the metrics text says of one metric family.
type family struct {
	typ    string
	labels []string // label sets of the samples, "k=v,k=v", values "*" where the table has them so
}

var sampleLine = regexp.MustCompile(`^([a-z_][a-z0-9_]*)(\{([a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*)\})? (-?[0-9]+)$`)

// parseMetrics checks the text format and returns the families and the
// value of every sample, by "name{labels}" as written.
func parseMetrics(t *testing.T, text string) (map[string]*family, map[string]int64) {
	t.Helper()
	fams, values := map[string]*family{}, map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(f, " ")
			if fams[name] != nil {
				t.Errorf("%s: TYPE twice", name)
			}
			fams[name] = &family{typ: typ}
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("not a Prometheus sample line: %q", line)
			continue
		}
		name, labels := m[1], m[3]
		v, _ := strconv.ParseInt(m[5], 10, 64)
		values[strings.TrimSuffix(line, " "+m[5])] = v
		f := fams[name]
		if f == nil {
			for _, sfx := range []string{"_bucket", "_sum", "_count"} {
				if g := fams[strings.TrimSuffix(name, sfx)]; g != nil && g.typ == "histogram" {
					f = g
				}
			}
		}
		if f == nil {
			t.Errorf("%s: sample without TYPE", name)
			continue
		}
		if f.typ != "histogram" {
			f.labels = append(f.labels, labels)
		}
	}
	return fams, values
}

// TestMetricsNames: every family upstream writes is written, with its
// type and label sets; every other one is smpkit_*.
func TestMetricsNames(t *testing.T) {
	tr := startRelay(t, relay.Config{})
	cl := tr.dial(smp.SupportedRange.Max)
	q := newQueue(t, cl, smp.CmdNEW{SubMode: smp.SubModeOnlyCreate}, smpcrypto.Ed25519)
	mustDo(t, cl, client.Request{EntityID: q.ids.SndID, Command: smp.CmdSEND{Body: []byte("hi")}})
	text := metricsText(t, tr.r)
	fams, values := parseMetrics(t, text)
	upstream := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(upstreamFamilies), "\n") {
		f := strings.Fields(line)
		name, typ, want := f[0], f[1], f[2:]
		upstream[name] = true
		got := fams[name]
		if got == nil {
			t.Errorf("%s is not written", name)
			continue
		}
		if got.typ != typ {
			t.Errorf("%s: type %s, upstream's is %s", name, got.typ, typ)
		}
		if typ == "histogram" {
			continue
		}
		if len(want) == 0 {
			want = []string{""}
		}
		varying := strings.Join(want, ",")
		var labels []string
		for _, ls := range got.labels {
			var kv []string
			for _, p := range strings.Split(ls, ",") {
				if p == "" {
					continue
				}
				k, v, _ := strings.Cut(p, "=")
				if strings.Contains(varying, k+"=*") {
					v = "*"
				} else if v, _ = strconv.Unquote(v); v == "" {
					v = `""`
				}
				kv = append(kv, k+"="+v)
			}
			labels = append(labels, strings.Join(kv, ","))
		}
		if strings.Contains(varying, "=*") {
			labels = slices.Compact(labels) // one sample per port, all alike
		}
		if !slices.Equal(labels, want) {
			t.Errorf("%s: label sets %q, upstream's %q", name, labels, want)
		}
	}
	for name := range fams {
		if !upstream[name] && !strings.HasPrefix(name, "smpkit_") {
			t.Errorf("%s: neither upstream's nor smpkit_", name)
		}
	}
	for key, want := range map[string]int64{
		"simplex_smp_queues_created": 1, "simplex_smp_messages_sent": 1, "simplex_smp_queues_total1": 1,
		"simplex_smp_messages_total": 1, "simplex_smp_clients_total": 1, "smpkit_store_errors_total": 0,
		`simplex_smp_sockets_accepted{port="` + tr.srv.Port + `"}`: 1, "simplex_smp_loaded_queues_queue_count": 1,
	} {
		if got, ok := values[key]; !ok || got != want {
			t.Errorf("%s = %d (written %v), want %d", key, got, ok, want)
		}
	}
	for _, want := range []string{
		`simplex_smp_info{version="` + buildinfo.Version() + `",rts_options="GOMAXPROCS=`,
		`smpkit_build_info{version="` + buildinfo.Version() + `"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// metricsOf is the relay's samples now.
func metricsOf(t *testing.T, r *relay.Relay) map[string]int64 {
	t.Helper()
	_, v := parseMetrics(t, metricsText(t, r))
	return v
}

// want checks samples against values.
func wantMetrics(t *testing.T, r *relay.Relay, want map[string]int64) {
	t.Helper()
	got := metricsOf(t, r)
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range want {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		if g, ok := got[k]; !ok || g != want[k] {
			t.Errorf("%s = %d (written %v), want %d", k, g, ok, want[k])
		}
	}
}

// TestMetricsCounting drives a relay through SEND, MSG, ACK, GET, SUB,
// DEL and NSUB and checks that the counters move as upstream's do
// (simplexmq Server.hs: sendMessage, acknowledgeMsg, getMessage,
// subscribeQueueAndDeliver, updateDeletedStats, subscribeNotifications).
func TestMetricsCounting(t *testing.T) {
	c := &clock{now: time.Date(2026, 6, 3, 12, 0, 0, 0, time.UTC)} // a Wednesday
	tr := startRelay(t, relay.Config{Now: c.Now})
	rc, sc := tr.dial(smp.SupportedRange.Max), tr.dial(smp.SupportedRange.Max)
	q1 := newQueue(t, rc, smp.CmdNEW{}, smpcrypto.Ed25519)
	q2 := newQueue(t, rc, smp.CmdNEW{SubMode: smp.SubModeOnlyCreate}, smpcrypto.Ed25519)
	send := func(q *queue, notify bool, body string) error {
		_, err := do(t, sc, client.Request{EntityID: q.ids.SndID, Command: smp.CmdSEND{Notify: notify, Body: []byte(body)}})
		return err
	}
	if err := send(q1, true, "one"); err != nil {
		t.Fatal(err)
	}
	m1 := nextEvent(t, rc).Response.(smp.RspMSG)
	wantMetrics(t, tr.r, map[string]int64{
		"simplex_smp_messages_sent": 1, "simplex_smp_messages_notify_sent": 1,
		"simplex_smp_queues_daily": 1, "simplex_smp_queues_weekly": 1, "simplex_smp_queues_monthly": 1,
		"simplex_smp_queues_notify_daily": 1, "simplex_smp_delivered_total": 1, "simplex_smp_delivered_clients_total": 1,
		"simplex_smp_subscribtion_total": 1, "simplex_smp_subscribtion_clients_total": 1,
		// NEW's own subscription delivers nothing: no qSub.
		"simplex_smp_subscribtion_successes": 0,
	})
	c.add(7 * time.Second)
	wantMetrics(t, tr.r, map[string]int64{
		`simplex_smp_delivery_ack_pending_count{period="0-60"}`: 1, "simplex_smp_delivery_ack_time_max": 7,
	})
	mustDo(t, rc, q1.rcv(smp.CmdACK{MsgID: m1.MsgID}))
	wantMetrics(t, tr.r, map[string]int64{
		"simplex_smp_messages_received": 1, "simplex_smp_messages_notify_received": 1,
		"simplex_smp_delivery_ack_confirmed_time_sum": 7, "simplex_smp_delivery_ack_confirmed_time_count": 1,
		`simplex_smp_delivery_ack_confirmed_time_bucket{le="10"}`: 1, `simplex_smp_delivery_ack_confirmed_time_bucket{le="+Inf"}`: 1,
		`simplex_smp_delivery_ack_confirmed_count{period="0-60"}`: 1, "simplex_smp_delivered_total": 0,
		"simplex_smp_queues_daily": 1, // the same queue again
	})

	// GET: a message, the same one again, an acknowledgement, nothing;
	// SUB where GET was used; a repeated SUB.
	if err := send(q2, false, "two"); err != nil {
		t.Fatal(err)
	}
	g := mustDo(t, rc, q2.rcv(smp.CmdGET{})).(smp.RspMSG)
	mustDo(t, rc, q2.rcv(smp.CmdGET{}))
	mustDo(t, rc, q2.rcv(smp.CmdACK{MsgID: g.MsgID}))
	mustDo(t, rc, q2.rcv(smp.CmdGET{}))
	_, err := do(t, rc, q2.rcv(smp.CmdSUB{}))
	wantErr(t, err, smp.CMDProhibited)
	mustDo(t, rc, q1.rcv(smp.CmdSUB{}))
	wantMetrics(t, tr.r, map[string]int64{
		"simplex_smp_messages_notify_get_sent": 1, `simplex_smp_messages_notify_get_errors{type="duplicate"}`: 1,
		`simplex_smp_messages_notify_get_errors{type="nomsg"}`: 1, "simplex_smp_messages_notify_get_received": 1,
		"simplex_smp_messages_received": 2, `simplex_smp_subscribtion_errors{type="prohibited"}`: 1,
		`simplex_smp_subscribtion_errors{type="duplicate"}`: 1, "simplex_smp_queues_daily": 2,
		"simplex_smp_delivery_ack_confirmed_time_count": 3, // upstream's: msgRecv + msgRecvGet
	})

	// SEND errors: no such queue (AUTH), too large.
	_, err = do(t, sc, client.Request{EntityID: bytes.Repeat([]byte{9}, 24), Command: smp.CmdSEND{Body: []byte("x")}})
	wantErr(t, err, smp.AUTH)
	err = send(q1, false, strings.Repeat("x", smp.MaxMessageLength(sc.Version())+1))
	wantErr(t, err, smp.ErrorType{Kind: smp.ErrLARGEMSG})

	// PFWD without a proxy session: a request and a connect error.
	_, err = do(t, sc, client.Request{EntityID: bytes.Repeat([]byte{8}, 24),
		Command: smp.CmdPFWD{Version: sc.Version(), Key: genKey(t, smpcrypto.X25519).Public(), EncTx: []byte("x")}})
	wantErr(t, err, smp.ErrorType{Kind: smp.ErrPROXY, Proxy: &smp.ProxyError{Kind: smp.ProxyNOSESSION}})
	wantMetrics(t, tr.r, map[string]int64{
		`simplex_smp_relay_messages_requests{source="all"}`: 1, `simplex_smp_relay_messages_errors{source="all",type="connect"}`: 1,
		`simplex_smp_relay_messages_requests{source="own"}`: 0,
	})

	// A waiting message and a new subscriber: qSub, and END for rc.
	if err := send(q1, false, "three"); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, rc)
	oc := tr.dial(smp.SupportedRange.Max)
	mustDo(t, oc, q1.rcv(smp.CmdSUB{}))
	nextEvent(t, oc)
	if ev := nextEvent(t, rc); ev.Response.Tag() != "END" {
		t.Fatalf("got %s, want END", ev.Response.Tag())
	}

	// Notifier credentials and a notifier subscription.
	nk := genKey(t, smpcrypto.Ed25519)
	nid := mustDo(t, rc, q1.rcv(smp.CmdNKEY{NotifierKey: nk.Public(), DHKey: genKey(t, smpcrypto.X25519).Public()})).(smp.RspNID)
	nc := tr.dial(smp.SupportedRange.Max)
	mustDo(t, nc, client.Request{Key: nk, EntityID: nid.NotifierID, Command: smp.CmdNSUB{}})
	mustDo(t, nc, client.Request{Key: nk, EntityID: nid.NotifierID, Command: smp.CmdNSUB{}})
	if err := send(q1, true, "four"); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, nc)
	wantMetrics(t, tr.r, map[string]int64{
		`simplex_smp_messages_sent_errors{type="auth"}`: 1, `simplex_smp_messages_sent_errors{type="large"}`: 1,
		"simplex_smp_subscribtion_successes": 1, "simplex_smp_subscribtion_end": 1,
		"simplex_smp_queues_notify_created": 1, "simplex_smp_subscription_ntf_requests": 1,
		`simplex_smp_subscribtion_ntf_errors{type="duplicate"}`: 1, "simplex_smp_messages_ntf_successes": 1,
		"simplex_smp_messages_ntf_successes_batch": 1, "simplex_smp_subscription_ntf_total": 1,
		"simplex_smp_queues_notify_total2": 1, "simplex_smp_loaded_queues_ntf_count": 1,
		"simplex_smp_queues_notify_total1": 0,
	})

	// DEL of a new and of a secured queue; two SUBs in one block.
	q3 := newQueue(t, rc, smp.CmdNEW{SubMode: smp.SubModeOnlyCreate}, smpcrypto.Ed25519)
	mustDo(t, rc, q3.rcv(smp.CmdKEY{SenderKey: genKey(t, smpcrypto.Ed25519).Public()}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := rc.DoBatch(ctx, []client.Request{q3.rcv(smp.CmdSUB{}), q2.rcv(smp.CmdQUE{})}); err != nil {
		t.Fatal(err)
	}
	mustDo(t, rc, q2.rcv(smp.CmdDEL{}))
	mustDo(t, rc, q3.rcv(smp.CmdDEL{}))
	wantMetrics(t, tr.r, map[string]int64{
		"simplex_smp_queues_secured": 1, `simplex_smp_queues_deleted{type="all"}`: 2,
		`simplex_smp_queues_deleted{type="new"}`: 1, `simplex_smp_queues_deleted{type="secured"}`: 1,
		"simplex_smp_subscribtion_successes_batch": 1, "simplex_smp_queues_total1": 1,
	})

	// The periods roll over by the UTC calendar.
	c.add(24 * time.Hour) // Thursday
	wantMetrics(t, tr.r, map[string]int64{"simplex_smp_queues_daily": 0, "simplex_smp_queues_weekly": 2, "simplex_smp_queues_monthly": 2})
	if err := send(q1, false, "five"); err != nil {
		t.Fatal(err)
	}
	wantMetrics(t, tr.r, map[string]int64{"simplex_smp_queues_daily": 1, "simplex_smp_queues_weekly": 2, "simplex_smp_queues_monthly": 2})
	c.add(4 * 24 * time.Hour) // Monday
	wantMetrics(t, tr.r, map[string]int64{"simplex_smp_queues_daily": 0, "simplex_smp_queues_weekly": 0, "simplex_smp_queues_monthly": 2})
	if err := send(q1, false, "six"); err != nil {
		t.Fatal(err)
	}
	wantMetrics(t, tr.r, map[string]int64{"simplex_smp_queues_daily": 1, "simplex_smp_queues_weekly": 1, "simplex_smp_queues_monthly": 2})
	c.add(30 * 24 * time.Hour) // July
	wantMetrics(t, tr.r, map[string]int64{"simplex_smp_queues_weekly": 0, "simplex_smp_queues_monthly": 0})
}

// TestMetricsExpired: messages refused at the quota and expired on SEND
// are counted as upstream's msgSentQuota and msgExpired.
func TestMetricsExpired(t *testing.T) {
	c := &clock{now: time.Now()}
	tr := startRelay(t, relay.Config{Now: c.Now, MessageTTL: time.Hour, ExpireOnSend: true, Quota: 2})
	cl := tr.dial(smp.SupportedRange.Max)
	q := newQueue(t, cl, smp.CmdNEW{SubMode: smp.SubModeOnlyCreate}, smpcrypto.Ed25519)
	send := func() error {
		_, err := do(t, cl, client.Request{EntityID: q.ids.SndID, Command: smp.CmdSEND{Body: []byte("m")}})
		return err
	}
	for range 2 {
		if err := send(); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, send(), smp.ErrorType{Kind: smp.ErrQUOTA}) // the QUOTA marker
	wantErr(t, send(), smp.ErrorType{Kind: smp.ErrQUOTA})
	c.add(2 * time.Hour)
	// The two messages expire; the marker stays until it is acknowledged.
	wantErr(t, send(), smp.ErrorType{Kind: smp.ErrQUOTA})
	wantMetrics(t, tr.r, map[string]int64{
		"simplex_smp_messages_sent": 2, `simplex_smp_messages_sent_errors{type="quota"}`: 3,
		"simplex_smp_messages_expired": 2, "simplex_smp_messages_total": 1,
	})
}

// TestMetricsNotifierService: NSUB in a notifier service session moves the
// ntf_services_* counters as upstream's subscribeNotifications does (new,
// then duplicate association); NSUB outside one removes the association.
func TestMetricsNotifierService(t *testing.T) {
	tr := startRelay(t, relay.Config{})
	creds, err := transport.GenerateCredentials("service", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := smpcrypto.NewPrivateKey(smpcrypto.Ed25519, creds.CertKey.(ed25519.PrivateKey).Seed())
	if err != nil {
		t.Fatal(err)
	}
	cert := creds.TLSCertificate()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	svc, err := client.Dial(ctx, tr.srv, client.Config{PingInterval: -1, Certificate: &cert,
		Service: &transport.ServiceCredentials{Role: smp.RoleNotifier, Chain: creds.Chain(), Leaf: leaf}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	rc := tr.dial(smp.SupportedRange.Max)
	q := newQueue(t, rc, smp.CmdNEW{}, smpcrypto.Ed25519)
	nk := genKey(t, smpcrypto.Ed25519)
	nid := mustDo(t, rc, q.rcv(smp.CmdNKEY{NotifierKey: nk.Public(), DHKey: genKey(t, smpcrypto.X25519).Public()})).(smp.RspNID)
	nsub := client.Request{Key: nk, EntityID: nid.NotifierID, Command: smp.CmdNSUB{}}
	mustDo(t, svc, nsub)
	mustDo(t, svc, nsub)
	wantMetrics(t, tr.r, map[string]int64{
		"simplex_smp_ntf_services_count": 1, "simplex_smp_ntf_services_queues_count": 1,
		"simplex_smp_ntf_services_assoc_new": 1, "simplex_smp_ntf_services_assoc_duplicate": 1,
		"simplex_smp_ntf_services_sub_count": 1, "simplex_smp_ntf_services_sub_queues": 1,
		"simplex_smp_subscription_ntf_requests": 0, "simplex_smp_subscription_ntf_clients_total": 1,
	})
	mustDo(t, tr.dial(smp.SupportedRange.Max), nsub)
	wantMetrics(t, tr.r, map[string]int64{
		"simplex_smp_ntf_services_assoc_removed": 1, "simplex_smp_ntf_services_queues_count": 0,
		"simplex_smp_subscription_ntf_requests": 1,
	})
}

package relay_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/store/storetest"
	"github.com/smpkit/smpkit/reference/transport"
)

// drain returns the bodies of a queue's stored messages, oldest first.
func drain(t *testing.T, st *store.Store, rid []byte) []string {
	var out []string
	for {
		m, ok := st.Head(rid)
		if !ok {
			return out
		}
		out = append(out, string(m.Body))
		if _, err := st.DeleteHead(rid, m.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDiskFullRecovers: SEND on a full disk gets ERR STORE and is counted;
// once there is room again SEND succeeds without a restart (before, ERR
// STORE stuck until restart), and what was answered OK survives a power
// loss.
func TestDiskFullRecovers(t *testing.T) {
	mem := storetest.NewMemFS()
	ffs := &storetest.FaultFS{FS: mem}
	st, _, err := store.Open("/data", store.Options{FS: ffs})
	if err != nil {
		t.Fatal(err)
	}
	tr := startRelay(t, relay.Config{Store: st})
	rc, sc := tr.dial(smp.VersionMax), tr.dial(smp.VersionMax)
	q := newQueue(t, rc, smp.CmdNEW{}, smpcrypto.Ed25519)
	send := func(body string) error {
		_, err := do(t, sc, client.Request{EntityID: q.ids.SndID, Command: smp.CmdSEND{Body: []byte(body)}})
		return err
	}
	ffs.SetFull(true)
	wantErr(t, send("lost"), smp.ErrorType{Kind: smp.ErrSTORE, Store: "write"})
	rec := httptest.NewRecorder()
	tr.r.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if body, _ := io.ReadAll(rec.Body); !strings.Contains(string(body), "smpkit_store_write_errors_total 1\n") {
		t.Fatalf("metrics:\n%s", body)
	}
	ffs.SetFull(false)
	if err := send("kept"); err != nil {
		t.Fatalf("SEND after space was freed: %v", err)
	}
	if m := nextEvent(t, rc).Response.(smp.RspMSG); string(q.open(t, m).Body) != "kept" {
		t.Fatal("wrong message delivered")
	}
	mem.CrashAfter(0)
	mem.Restart()
	st2, _, err := store.Open("/data", store.Options{FS: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if got := drain(t, st2, q.ids.RcvID); len(got) != 1 || got[0] != "kept" {
		t.Fatalf("after power loss: %q", got)
	}
}

// TestSendOKIsDurable: senders on several connections SEND at once to a
// relay whose disk takes a while to fsync, and the power goes in the
// middle. Every SEND answered OK is in the store after the restart; the
// writes pending at each fsync shared it (group commit), which they could
// not while the fsync ran under the relay's lock.
func TestSendOKIsDurable(t *testing.T) {
	mem := storetest.NewMemFS()
	mem.SyncDelay = time.Millisecond
	st, _, err := store.Open("/data", store.Options{FS: mem})
	if err != nil {
		t.Fatal(err)
	}
	tr := startRelay(t, relay.Config{Store: st})
	rc := tr.dial(smp.VersionMax)
	const senders = 8
	var qs []*queue
	for i := 0; i < senders; i++ {
		qs = append(qs, newQueue(t, rc, smp.CmdNEW{SubMode: smp.SubModeOnlyCreate}, smpcrypto.Ed25519))
	}
	syncs := mem.Syncs()
	var mu sync.Mutex
	okd := map[int][]string{}
	sent := 0
	var wg sync.WaitGroup
	run := func(n int) {
		for i := 0; i < senders; i++ {
			sc := tr.dial(smp.VersionMax)
			wg.Add(1)
			mu.Lock()
			base := len(okd[i])
			mu.Unlock()
			go func() {
				defer wg.Done()
				for j := 0; j < n; j++ {
					body := fmt.Sprintf("%d-%d", i, base+j)
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					_, err := sc.Do(ctx, client.Request{EntityID: qs[i].ids.SndID, Command: smp.CmdSEND{Body: []byte(body)}})
					cancel()
					mu.Lock()
					sent++
					if err == nil {
						okd[i] = append(okd[i], body)
					}
					mu.Unlock()
					if err != nil {
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	run(15)
	if n := mem.Syncs() - syncs; n >= sent {
		t.Errorf("%d fsyncs for %d concurrent SENDs: none shared", n, sent)
	} else {
		t.Logf("%d SENDs, %d fsyncs", sent, n)
	}
	mem.CrashAfter(40)
	run(100)
	mem.Restart()
	st2, _, err := store.Open("/data", store.Options{FS: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	total := 0
	for i, q := range qs {
		got := drain(t, st2, q.ids.RcvID)
		if len(got) < len(okd[i]) || !bytes.Equal([]byte(strings.Join(got[:len(okd[i])], ",")), []byte(strings.Join(okd[i], ","))) {
			t.Fatalf("sender %d: answered OK %q, after power loss %q", i, okd[i], got)
		}
		total += len(okd[i])
	}
	t.Logf("%d SENDs answered OK survived the power loss", total)
}

// TestServiceSurvivesRestart: a notifier service keeps its id, and its
// notifiers their association, across a relay restart: NSUBS after the
// restart subscribes them all and the service gets their notifications.
// Before, services lived in memory and a restarted relay answered SOKS 0.
func TestServiceSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	st, _, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr := startRelay(t, relay.Config{Store: st})
	svcCreds, err := transport.GenerateCredentials("service", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dialService := func(tr *testRelay) *client.Client {
		leaf, _ := svcCreds.CertKey.(ed25519.PrivateKey)
		lk, err := smpcrypto.NewPrivateKey(smpcrypto.Ed25519, leaf.Seed())
		if err != nil {
			t.Fatal(err)
		}
		cert := svcCreds.TLSCertificate()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cl, err := client.Dial(ctx, tr.srv, client.Config{PingInterval: -1, Certificate: &cert,
			Service: &transport.ServiceCredentials{Role: smp.RoleNotifier, Chain: svcCreds.Chain(), Leaf: lk}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		return cl
	}
	rc := tr.dial(smp.VersionMax)
	q := newQueue(t, rc, smp.CmdNEW{}, smpcrypto.Ed25519)
	nk, dh := genKey(t, smpcrypto.Ed25519), genKey(t, smpcrypto.X25519)
	nid := mustDo(t, rc, q.rcv(smp.CmdNKEY{NotifierKey: nk.Public(), DHKey: dh.Public()})).(smp.RspNID)
	svc := dialService(tr)
	sid := svc.Session().ServiceID
	mustDo(t, svc, client.Request{Key: nk, EntityID: nid.NotifierID, Command: smp.CmdNSUB{}})
	svc.Close()
	rc.Close()
	tr.r.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, _, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tr = startRelay(t, relay.Config{Store: st})
	svc = dialService(tr)
	if got := svc.Session().ServiceID; !bytes.Equal(got, sid) {
		t.Fatalf("service id %x after restart, was %x", got, sid)
	}
	soks := mustDo(t, svc, client.Request{Key: svc.Session().ServiceKey, EntityID: sid, Command: smp.CmdNSUBS{}}).(smp.RspSOKS)
	if soks.Count != 1 {
		t.Fatalf("SOKS %d after restart, want 1", soks.Count)
	}
	sc := tr.dial(smp.VersionMax)
	mustDo(t, sc, client.Request{EntityID: q.ids.SndID, Command: smp.CmdSEND{Notify: true, Body: []byte("n")}})
	if ev := nextEvent(t, svc); ev.Response.Tag() != "NMSG" || !bytes.Equal(ev.EntityID, nid.NotifierID) {
		t.Fatalf("service got %s for %x", ev.Response.Tag(), ev.EntityID)
	}
}

package conformance

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/transport"
)

// serviceCert is a service's TLS identity: a 2-certificate chain made like
// a relay's (an identity CA and a leaf).
type serviceCert struct {
	creds *transport.Credentials
}

func (t *T) newServiceCert() *serviceCert {
	c, err := transport.GenerateCredentials("service", rand.Reader)
	t.Check(err, "service certificate")
	return &serviceCert{c}
}

// ServiceClient connects as a service with the given role at version v.
func (t *T) ServiceClient(sc *serviceCert, role smp.ServiceRole, v smp.Version) (*client.Client, error) {
	leaf, ok := sc.creds.CertKey.(ed25519.PrivateKey)
	if !ok {
		t.Failf("service leaf key is %T", sc.creds.CertKey)
	}
	lk, err := smpcrypto.NewPrivateKey(smpcrypto.Ed25519, leaf.Seed())
	t.Check(err, "leaf key")
	cert := sc.creds.TLSCertificate()
	cl, err := t.dialObserved(client.Config{
		Versions: smp.VersionRange{Min: v, Max: v}, PingInterval: -1, ConnectTimeout: t.wait(),
		Certificate: &cert, Service: &transport.ServiceCredentials{Role: role, Chain: sc.creds.Chain(), Leaf: lk},
	})
	if err == nil {
		t.Cleanup(cl)
	}
	return cl, err
}

func (t *T) mustService(sc *serviceCert, role smp.ServiceRole) *client.Client {
	cl, err := t.ServiceClient(sc, role, t.V)
	if err != nil {
		t.Failf("service handshake: %v", err)
	}
	if id := cl.Session().ServiceID; len(id) != 24 {
		t.Failf("service id of %d bytes", len(id))
	}
	return cl
}

var errService = smp.ErrorType{Kind: smp.ErrSERVICE}

func init() {
	v16 := from(smp.VersionServiceCerts)
	register(
		mk("SVC-HANDSHAKE", "services", MUST, Both, v16, "SMP-HS-4 SMP-SVC-1 SMP-SVC-2 SMP-TLS-8",
			"a service with a TLS client certificate gets a service id, the same one on every connection; another role is refused",
			func(t *T) {
				sc := t.newServiceCert()
				a := t.mustService(sc, smp.RoleMessaging)
				b := t.mustService(sc, smp.RoleMessaging)
				if !bytes.Equal(a.Session().ServiceID, b.Session().ServiceID) {
					t.Failf("service ids differ across connections: %x, %x", a.Session().ServiceID, b.Session().ServiceID)
				}
				t.Want(a, client.Request{Command: smp.CmdPING{}}, "PONG")
				_, err := t.ServiceClient(sc, smp.RoleNotifier, t.V)
				var he *transport.HandshakeError
				if !errors.As(err, &he) || he.Kind != "HANDSHAKE BAD_SERVICE" {
					t.Failf("the same certificate with another role: %v, want HANDSHAKE BAD_SERVICE", err)
				}
			}),
		mk("SVC-MESSAGING", "services", MUST, Both, v16, "SMP-SVC-3 SMP-SVC-5 SMP-SVC-6 SMP-AUTH-4 SMP-CMD-NEW-3 SMP-CMD-SUBS-2 SMP-CMD-SUB-2",
			"in a messaging-service session NEW and SUB carry service signatures, IDS and SOK the service id; other roles' commands are PROHIBITED",
			func(t *T) {
				sc := t.newServiceCert()
				cl := t.mustService(sc, smp.RoleMessaging)
				sid := cl.Session().ServiceID
				q := t.NewQueue(cl, NewOpts{})
				if !bytes.Equal(q.IDS.ServiceID, sid) {
					t.Failf("IDS service id %x, want the session's %x", q.IDS.ServiceID, sid)
				}
				rsp := t.Want(cl, q.Rcv(smp.CmdSUB{}), "SOK").(smp.RspSOK)
				if !bytes.Equal(rsp.ServiceID, sid) {
					t.Failf("SOK service id %x, want %x", rsp.ServiceID, sid)
				}
				r := q.Rcv(smp.CmdSUB{})
				r.NoServiceSig = true
				t.WantErr(cl, r, errService)
				_, err := t.TryNewQueue(cl, NewOpts{SubMode: smp.SubModeOnlyCreate})
				t.wantServerErr(err, smp.CMDProhibited)
				nk := t.Key(smpcrypto.Ed25519)
				t.WantErr(cl, client.Request{Key: nk, EntityID: corrID(), Command: smp.CmdNSUB{}}, smp.CMDProhibited)
				t.WantErr(cl, client.Request{Key: cl.Session().ServiceKey, EntityID: sid, Command: smp.CmdSUBS{}}, smp.CMDProhibited)
				t.Want(cl, client.Request{Command: smp.CmdPING{}}, "PONG")
			}),
		mk("SVC-NOTIFIER", "services", MUST, Positive, v16, "SMP-SVC-7 SMP-SVC-8 SMP-SUBS-8 SMP-CMD-NSUBS-2 SMP-RSP-SOKS-1 SMP-RSP-ENDS-1 SMP-SVC-4",
			"a notifier service associates notifiers with NSUB, subscribes them all with NSUBS (SOKS n), and a second connection takes over with ENDS",
			func(t *T) {
				rc := t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{})
				n := t.enableNtf(rc, q)
				sc := t.newServiceCert()
				a := t.mustService(sc, smp.RoleNotifier)
				sid := a.Session().ServiceID
				rsp := t.Want(a, n.sub(), "SOK").(smp.RspSOK)
				if !bytes.Equal(rsp.ServiceID, sid) {
					t.Failf("NSUB SOK service id %x, want %x", rsp.ServiceID, sid)
				}
				nsubs := func(cl *client.Client) int64 {
					r := t.Want(cl, client.Request{Key: cl.Session().ServiceKey, EntityID: sid, Command: smp.CmdNSUBS{}}, "SOKS").(smp.RspSOKS)
					return r.Count
				}
				if c := nsubs(a); c != 1 {
					t.Failf("SOKS %d, want 1", c)
				}
				t.WantErr(a, client.Request{Key: t.Key(smpcrypto.Ed25519), EntityID: sid, Command: smp.CmdNSUBS{}}, errService)
				b := t.mustService(sc, smp.RoleNotifier)
				if c := nsubs(b); c != 1 {
					t.Failf("SOKS %d on the second connection, want 1", c)
				}
				ends := t.WantEvent(a, "ENDS", nil).(smp.RspENDS)
				if ends.Count != 1 {
					t.Failf("ENDS %d, want 1", ends.Count)
				}
				t.WantOK(rc, client.Request{EntityID: q.IDS.SndID, Command: smp.CmdSEND{Notify: true, Body: []byte("n")}})
				id := q.WantMsg(t.WantEvent(rc, "MSG", q.IDS.RcvID), "n")
				t.wantNMSG(b, n, id)
			}),
	)

}

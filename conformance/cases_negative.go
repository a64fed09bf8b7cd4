package conformance

import (
	"bytes"
	"crypto/ed25519"
	"errors"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/transport"
)

// Negative paths (what a MUST forbids, tried), events a relay owes, and
// freshness compared across fills and notifications.

func init() {
	v15 := from(smp.VersionShortLinks)
	register(
		mk("AUTH-OTHER-KEY", "authorization", MUST, Negative, allVersions, "SMP-VERIFY-2",
			"a recipient command signed with the queue's sender key, and SEND signed with its recipient key or unsigned to a secured queue, are ERR AUTH",
			func(t *T) {
				rc, sc := t.Client(t.V), t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{})
				q.Secure(rc)
				t.WantErr(sc, client.Request{Key: q.SndKey, EntityID: q.IDS.RcvID, Command: smp.CmdQUE{}}, smp.AUTH)
				t.WantErr(sc, client.Request{Key: q.SndKey, EntityID: q.IDS.RcvID, Command: smp.CmdDEL{}}, smp.AUTH)
				t.WantErr(sc, client.Request{Key: q.RcvKey, EntityID: q.IDS.SndID, Command: smp.CmdSEND{Body: []byte("x")}}, smp.AUTH)
				t.WantErr(sc, client.Request{EntityID: q.IDS.SndID, Command: smp.CmdSEND{Body: []byte("unsigned")}}, smp.AUTH)
				t.WantOK(sc, q.Send("right key"))
				t.Want(rc, q.Rcv(smp.CmdQUE{}), "INFO")
			}),
		mk("DLV-ACK-EMPTY-ID", "delivery", MUST, Positive, allVersions, "SMP-DLV-3 SMP-CMD-ACK-2",
			"ACK with an empty message id deletes nothing and delivers the head again",
			func(t *T) {
				rc, sc := t.Client(t.V), t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{})
				t.WantOK(sc, q.Send("head"))
				t.WantOK(sc, q.Send("next"))
				id := q.WantMsg(t.WantEvent(rc, "MSG", q.IDS.RcvID), "head")
				again := q.WantMsg(t.Want(rc, q.Rcv(smp.CmdACK{MsgID: []byte{}}), "MSG"), "head")
				if !bytes.Equal(id, again) {
					t.Failf("ACK with an empty id delivered message %x, want the head %x again", again, id)
				}
				id = q.WantMsg(t.Want(rc, q.Rcv(smp.CmdACK{MsgID: id}), "MSG"), "next")
				t.Want(rc, q.Rcv(smp.CmdACK{MsgID: id}), "OK")
			}),
		mk("DLV-ID-FRESH", "delivery", MUST, Positive, allVersions, "SMP-ID-2 SMP-MSG-2",
			"message ids differ across fills of a queue, not only within one",
			func(t *T) {
				rc, sc := t.Client(t.V), t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{})
				seen := map[string]int{}
				for fill := range 3 {
					t.WantOK(sc, q.Send("a"))
					t.WantOK(sc, q.Send("b"))
					id := q.WantMsg(t.WantEvent(rc, "MSG", q.IDS.RcvID), "a")
					id2 := q.WantMsg(t.Want(rc, q.Rcv(smp.CmdACK{MsgID: id}), "MSG"), "b")
					t.Want(rc, q.Rcv(smp.CmdACK{MsgID: id2}), "OK")
					for _, x := range [][]byte{id, id2} {
						if f, dup := seen[string(x)]; dup {
							t.Failf("message id %x of fill %d reused from fill %d: ids are MSG nonces and must never repeat in a queue", x, fill+1, f+1)
						}
						seen[string(x)] = fill
					}
				}
			}),
		mk("NTF-NMSG-FRESH", "notifications", MUST, Both, allVersions, "SMP-NMSG-1 SMP-CMD-NSUB-2",
			"every NMSG has a fresh nonce; NSUB signed with another key is ERR AUTH",
			func(t *T) {
				rc, nc := t.Client(t.V), t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{})
				n := t.enableNtf(rc, q)
				t.WantErr(nc, client.Request{Key: t.Key(smpcrypto.Ed25519), EntityID: n.id, Command: smp.CmdNSUB{}}, smp.AUTH)
				t.WantOK(nc, n.sub())
				seen := map[smpcrypto.Nonce]bool{}
				var id []byte
				for i := range 3 {
					t.WantOK(rc, client.Request{EntityID: q.IDS.SndID, Command: smp.CmdSEND{Notify: true, Body: []byte("n")}})
					if i == 0 {
						id = q.WantMsg(t.WantEvent(rc, "MSG", q.IDS.RcvID), "n")
					}
					rsp := t.WantEvent(nc, "NMSG", n.id).(smp.RspNMSG)
					if seen[rsp.Nonce] {
						t.Failf("NMSG nonce %x repeated", rsp.Nonce[:])
					}
					seen[rsp.Nonce] = true
					if _, err := smp.OpenNtfMeta(n.secret, rsp.Nonce, rsp.EncMeta); err != nil {
						t.Failf("NMSG %d does not decrypt: %v", i+1, err)
					}
				}
				_ = id
			}),
		mk("NTF-DEL-QUEUE", "notifications", MUST, Both, allVersions, "SMP-SUBS-7 SMP-DEL-3 SMP-NTF-4",
			"deleting a queue sends DELD (END below v10) to its notifier's subscriber; the notifier id is then unknown",
			func(t *T) {
				rc, nc := t.Client(t.V), t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{})
				n := t.enableNtf(rc, q)
				t.WantOK(nc, n.sub())
				t.WantOK(rc, q.Rcv(smp.CmdDEL{}))
				t.WantEvent(nc, deldTag(t), n.id)
				t.WantErr(t.Client(t.V), n.sub(), smp.AUTH)
			}),
		mk("NTF-NKEY-REPLACE", "notifications", MUST, Both, allVersions, "SMP-CMD-NKEY-2 SMP-SUBS-7 SMP-NTF-4",
			"NKEY while a notifier is subscribed replaces it: the old subscriber gets DELD (END below v10), the old id is unknown, the new one works",
			func(t *T) {
				rc, nc := t.Client(t.V), t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{})
				old := t.enableNtf(rc, q)
				t.WantOK(nc, old.sub())
				fresh := t.enableNtf(rc, q)
				if bytes.Equal(fresh.id, old.id) {
					t.Failf("NKEY kept the notifier id %x", old.id)
				}
				t.WantEvent(nc, deldTag(t), old.id)
				t.WantErr(nc, old.sub(), smp.AUTH)
				t.WantOK(nc, fresh.sub())
				t.WantOK(rc, client.Request{EntityID: q.IDS.SndID, Command: smp.CmdSEND{Notify: true, Body: []byte("n")}})
				id := q.WantMsg(t.WantEvent(rc, "MSG", q.IDS.RcvID), "n")
				t.wantNMSG(nc, fresh, id)
			}),
		mk("LNK-SENDER-ID-HASH-CONTACT", "links", MUST, Negative, v15, "SMP-CMD-NEW-2",
			"a contact queue whose sender id is not the hash of the NEW correlation id is ERR CMD PROHIBITED",
			func(t *T) {
				cl := t.Client(t.V)
				link := &smp.QueueLinkReq{SenderID: corrID(), LinkID: corrID(), Fixed: []byte("f"), User: []byte("u")}
				_, err := t.TryNewQueue(cl, NewOpts{QueueReq: &smp.QueueReq{Mode: smp.QueueContact, Link: link}})
				t.wantServerErr(err, smp.CMDProhibited)
			}),
		mk("CMD-NEW-ID-COLLISION", "commands", MUST, Negative, v15, "SMP-CMD-NEW-4",
			"NEW whose client-supplied sender id collides with an existing queue's is ERR AUTH",
			func(t *T) {
				cl := t.Client(t.V)
				// The same correlation id gives the same hash-derived sender id.
				corr := corrID()
				link := func() *smp.QueueReq {
					return &smp.QueueReq{Mode: smp.QueueMessaging, Link: &smp.QueueLinkReq{SenderID: senderIDFor(corr), Fixed: []byte("f"), User: []byte("u")}}
				}
				t.NewQueue(cl, NewOpts{CorrID: corr, QueueReq: link()})
				_, err := t.TryNewQueue(t.Client(t.V), NewOpts{CorrID: corr, QueueReq: link()})
				t.wantServerErr(err, smp.AUTH)
			}),
		mk("CMD-SKEY-LEGACY-QUEUE", "commands", MUST, Negative, from(smp.VersionSndAuthKey), "SMP-CMD-SKEY-2 SMP-QSTATE-5",
			"SKEY on a queue created at v8, which has no sender-secured mode, is ERR AUTH at any later version",
			func(t *T) {
				if !t.Options.Versions.Contains(smp.VersionSendingProxy) {
					t.Skip("needs v8 in the run's range to create the legacy queue")
				}
				q := t.NewQueue(t.Client(smp.VersionSendingProxy), NewOpts{})
				sc := t.Client(t.V)
				k := t.Key(smpcrypto.Ed25519)
				t.WantErr(sc, client.Request{Key: k, EntityID: q.IDS.SndID, Command: smp.CmdSKEY{SenderKey: k.Public()}}, smp.AUTH)
			}),
		mk("CMD-SKEY-PROOF", "commands", MUST, Negative, from(smp.VersionSndAuthKey), "SMP-CMD-SKEY-1 SMP-VERIFY-2",
			"SKEY signed by a key other than the one it carries is ERR AUTH and leaves the queue unsecured",
			func(t *T) {
				rc, sc := t.Client(t.V), t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{})
				carried, signer := t.Key(smpcrypto.Ed25519), t.Key(smpcrypto.Ed25519)
				t.WantErr(sc, client.Request{Key: signer, EntityID: q.IDS.SndID, Command: smp.CmdSKEY{SenderKey: carried.Public()}}, smp.AUTH)
				t.WantOK(sc, q.Send("still unsecured"))
			}),
		mk("PRX-PASSWORD", "proxy", MUST, Both, from(smp.VersionSendingProxy), "SMP-PROXY-1",
			"a relay with a password answers PRXY without it, or with a wrong one, ERR PROXY BASIC_AUTH",
			func(t *T) {
				if t.Target.Password == "" {
					t.Skip("the run has no password (--password)")
				}
				cl := t.Client(t.V)
				want := smp.ErrorType{Kind: smp.ErrPROXY, Proxy: &smp.ProxyError{Kind: smp.ProxyBASICAUTH}}
				wrong := t.Target.Password + "-wrong"
				for _, pw := range []*string{nil, &wrong} {
					_, err := cl.ProxyTo(t.ctx, t.server(), pw, smp.VersionRange{})
					t.wantServerErr(err, want)
				}
				_, err := cl.ProxyTo(t.ctx, t.server(), t.password(), smp.VersionRange{})
				t.Check(err, "PRXY with the password")
			}),
		mk("SVC-BAD-CHAIN", "services", MUST, Negative, from(smp.VersionServiceCerts), "SMP-SVC-1 SMP-HS-4",
			"a service whose hello chain is not its TLS chain, or whose session key is not signed by its leaf, is refused with HANDSHAKE BAD_AUTH",
			func(t *T) {
				a, b := t.newServiceCert(), t.newServiceCert()
				leaf := func(sc *serviceCert) smpcrypto.PrivateKey {
					k, err := smpcrypto.NewPrivateKey(smpcrypto.Ed25519, sc.creds.CertKey.(ed25519.PrivateKey).Seed())
					t.Check(err, "leaf key")
					return k
				}
				cert := a.creds.TLSCertificate()
				for what, creds := range map[string]*transport.ServiceCredentials{
					"another chain":    {Role: smp.RoleMessaging, Chain: b.creds.Chain(), Leaf: leaf(a)},
					"another leaf key": {Role: smp.RoleMessaging, Chain: a.creds.Chain(), Leaf: leaf(b)},
				} {
					_, err := client.Dial(t.ctx, t.server(), client.Config{Versions: smp.VersionRange{Min: t.V, Max: t.V}, PingInterval: -1,
						ConnectTimeout: t.wait(), Certificate: &cert, Service: creds})
					var he *transport.HandshakeError
					if !errors.As(err, &he) || he.Kind != "HANDSHAKE BAD_AUTH" {
						t.Failf("service with %s: %v, want HANDSHAKE BAD_AUTH", what, err)
					}
				}
			}),
	)
}

func deldTag(t *T) string {
	if t.V < smp.VersionDeletedEvent {
		return "END"
	}
	return "DELD"
}

package conformance

import (
	"bytes"
	"context"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
)

// notifier is the notification side of a queue.
type notifier struct {
	key    smpcrypto.PrivateKey
	id     []byte
	secret []byte
}

func (t *T) enableNtf(cl *client.Client, q *Queue) *notifier {
	n := &notifier{key: t.Key(smpcrypto.Ed25519)}
	dh := t.Key(smpcrypto.X25519)
	nid := t.Want(cl, q.Rcv(smp.CmdNKEY{NotifierKey: n.key.Public(), DHKey: dh.Public()}), "NID").(smp.RspNID)
	n.id = nid.NotifierID
	var err error
	n.secret, err = dh.DH(nid.DHKey)
	t.Check(err, "NID key")
	return n
}

func (n *notifier) sub() client.Request {
	return client.Request{Key: n.key, EntityID: n.id, Command: smp.CmdNSUB{}}
}

// wantNMSG waits for a notification and checks it names msgID.
func (t *T) wantNMSG(cl *client.Client, n *notifier, msgID []byte) {
	rsp := t.WantEvent(cl, "NMSG", n.id).(smp.RspNMSG)
	meta, err := smp.OpenNtfMeta(n.secret, rsp.Nonce, rsp.EncMeta)
	if err != nil {
		t.Failf("NMSG metadata does not decrypt (SMP-NMSG-1): %v", err)
	}
	if len(rsp.EncMeta) != smpcrypto.TagSize+smp.NtfMetaPadded {
		t.Failf("NMSG metadata of %d bytes", len(rsp.EncMeta))
	}
	if !bytes.Equal(meta.MsgID, msgID) {
		t.Failf("NMSG for message %x, want %x", meta.MsgID, msgID)
	}
}

func init() {
	register(
		mk("NTF-NMSG", "notifications", MUST, Both, allVersions, "SMP-NTF-1 SMP-NTF-2 SMP-NMSG-1 SMP-RSP-NMSG-1 SMP-CMD-NSUB-2",
			"a SEND with the notification flag produces an NMSG for the notifier's subscriber; without the flag none",
			func(t *T) {
				rc, nc := t.Client(t.V), t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{})
				n := t.enableNtf(rc, q)
				t.WantOK(nc, n.sub())
				t.WantOK(rc, client.Request{EntityID: q.IDS.SndID, Command: smp.CmdSEND{Notify: true, Body: []byte("n")}})
				id := q.WantMsg(t.WantEvent(rc, "MSG", q.IDS.RcvID), "n")
				t.wantNMSG(nc, n, id)
				t.Want(rc, q.Rcv(smp.CmdACK{MsgID: id}), "OK")
				t.WantOK(rc, client.Request{EntityID: q.IDS.SndID, Command: smp.CmdSEND{Body: []byte("quiet")}})
				t.Quiet(nc)
			}),
		mk("NTF-PENDING", "notifications", MUST, Positive, allVersions, "SMP-NTF-1 SMP-NTF-2",
			"notifications wait for a subscriber and are delivered oldest first when it subscribes",
			func(t *T) {
				rc := t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{SubMode: smp.SubModeOnlyCreate})
				n := t.enableNtf(rc, q)
				for _, b := range []string{"a", "b"} {
					t.WantOK(rc, client.Request{EntityID: q.IDS.SndID, Command: smp.CmdSEND{Notify: true, Body: []byte(b)}})
				}
				r2 := t.Client(t.V)
				t.WantOK(r2, q.Rcv(smp.CmdSUB{}))
				id1 := q.WantMsg(t.WantEvent(r2, "MSG", q.IDS.RcvID), "a")
				id2 := q.WantMsg(t.Want(r2, q.Rcv(smp.CmdACK{MsgID: id1}), "MSG"), "b")
				nc := t.Client(t.V)
				t.WantOK(nc, n.sub())
				t.wantNMSG(nc, n, id1)
				t.wantNMSG(nc, n, id2)
			}),
		mk("NTF-TAKEOVER", "notifications", MUST, Positive, allVersions, "SMP-NTF-3",
			"NSUB from another connection sends END to the previous notifier subscriber",
			func(t *T) {
				rc, a, b := t.Client(t.V), t.Client(t.V), t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{})
				n := t.enableNtf(rc, q)
				t.WantOK(a, n.sub())
				t.WantOK(a, n.sub())
				t.Quiet(a)
				t.WantOK(b, n.sub())
				t.WantEvent(a, "END", n.id)
			}),
		mk("NTF-NDEL", "notifications", MUST, Both, allVersions, "SMP-CMD-NDEL-2 SMP-SUBS-7 SMP-NTF-4",
			"NDEL sends DELD (END below v10) to the notifier subscriber; the notifier id is then unknown",
			func(t *T) {
				rc, nc := t.Client(t.V), t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{})
				n := t.enableNtf(rc, q)
				t.WantOK(nc, n.sub())
				t.Want(rc, q.Rcv(smp.CmdNDEL{}), "OK")
				want := "DELD"
				if t.V < smp.VersionDeletedEvent {
					want = "END"
				}
				t.WantEvent(nc, want, n.id)
				t.WantErr(nc, n.sub(), smp.AUTH)
			}),
		mk("NTF-NEW-CREDS", "notifications", MUST, Positive, from(smp.VersionNewNtfCreds), "SMP-NTFCRED-1 SMP-RSP-IDS-1",
			"NEW with notifier credentials returns a notifier id and key in IDS that work for NSUB",
			func(t *T) {
				rc, nc := t.Client(t.V), t.Client(t.V)
				n := &notifier{key: t.Key(smpcrypto.Ed25519)}
				dh := t.Key(smpcrypto.X25519)
				q := t.NewQueue(rc, NewOpts{Ntf: &smp.NewNtfCreds{AuthKey: n.key.Public(), DHKey: dh.Public()}})
				if q.IDS.NtfCreds == nil {
					t.Failf("IDS without notifier credentials")
				}
				n.id = q.IDS.NtfCreds.NotifierID
				var err error
				n.secret, err = dh.DH(q.IDS.NtfCreds.DHKey)
				t.Check(err, "IDS notifier key")
				t.WantOK(nc, n.sub())
				t.WantOK(rc, client.Request{EntityID: q.IDS.SndID, Command: smp.CmdSEND{Notify: true, Body: []byte("n")}})
				id := q.WantMsg(t.WantEvent(rc, "MSG", q.IDS.RcvID), "n")
				t.wantNMSG(nc, n, id)
			}),
	)
	v8 := from(smp.VersionSendingProxy)
	register(
		mk("PRX-PKEY", "proxy", MUST, Positive, v8, "SMP-PROXY-1 SMP-PROXY-2 SMP-RSP-PKEY-1 SMP-ADDR-2 SMP-SIGNED-1",
			"PRXY to the relay itself is answered PKEY with a valid chain and signed key and a range within 8..17",
			func(t *T) {
				cl := t.Client(t.V)
				p, err := cl.ProxyTo(t.ctx, t.server(), t.password(), smp.VersionRange{})
				t.Check(err, "PRXY")
				t.Logf("proxied session at v%d", p.Version)
				if p.Version < 8 || p.Version > 17 {
					t.Failf("proxied version %d outside 8..17", p.Version)
				}
			}),
		mk("PRX-SEND", "proxy", MUST, Positive, v8, "SMP-PROXY-5 SMP-PROXY-6 SMP-PROXY-7 SMP-PROXY-9 SMP-PROXY-10 SMP-CMD-PFWD-1 SMP-CMD-RFWD-1 SMP-NONCE-2 SMP-RSP-PRES-1 SMP-RSP-RRES-1 SMP-PROXY-8",
			"a SEND forwarded through the relay to itself is delivered and answered OK inside PRES",
			func(t *T) {
				rc, pc := t.Client(t.V), t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{})
				p, err := pc.ProxyTo(t.ctx, t.server(), t.password(), smp.VersionRange{})
				t.Check(err, "PRXY")
				ctx, cancel := context.WithTimeout(t.ctx, t.wait())
				defer cancel()
				rsp, err := p.Do(ctx, q.Send("proxied"))
				t.Check(err, "proxied SEND")
				if rsp.Tag() != "OK" {
					t.Failf("proxied SEND got %s", describe(rsp))
				}
				q.WantMsg(t.WantEvent(rc, "MSG", q.IDS.RcvID), "proxied")
				_, err = p.Do(ctx, q.Rcv(smp.CmdSUB{}))
				t.wantServerErr(err, smp.CMDProhibited)
			}),
		mk("PRX-DEST-OBSERVED", "proxy", MUST, Positive, v8, "SMP-PROXY-11 SMP-CHAIN-4 SMP-PROXY-1 SMP-PROXY-6",
			"the relay, proxying to the runner's own destination relay, sends an X25519 key, from v14 the proxy flag with plain blocks, and forwards PFWD as an unauthorized RFWD",
			func(t *T) {
				dest := t.Destination(smp.VersionRange{Min: smp.VersionSendingProxy, Max: max(t.V, smp.VersionSendingProxy)})
				cl := t.Client(t.V)
				type res struct {
					p   *client.Proxied
					err error
				}
				ch := make(chan res, 1)
				go func() {
					p, err := cl.ProxyTo(t.ctx, dest.server, t.password(), smp.VersionRange{})
					ch <- res{p, err}
				}()
				s := dest.session(t)
				t.Logf("proxy connected to the destination at v%d, proxy flag %v, key %v, encrypted %v", s.Version, s.ProxyClient, !s.ClientKey.IsZero(), s.Encrypted())
				if s.ClientKey.IsZero() {
					t.Failf("the proxy's client hello carries no X25519 key (SMP-PROXY-11)")
				}
				if s.Version >= smp.VersionProxyServerHello {
					if !s.ProxyClient {
						t.Failf("at v%d the proxy's client hello does not set proxyServer (SMP-PROXY-11)", s.Version)
					}
					if s.Encrypted() {
						t.Failf("blocks to the destination are encrypted although the proxy flag is set (SMP-CHAIN-4)")
					}
				}
				r := <-ch
				t.Check(r.err, "PRXY to the runner's destination")
				go func() {
					ctx, cancel := context.WithTimeout(t.ctx, t.wait())
					defer cancel()
					k := t.Key(smpcrypto.Ed25519)
					r.p.Do(ctx, client.Request{Key: k, EntityID: corrID(), Command: smp.CmdSEND{Body: []byte("to the destination")}})
				}()
				s.Conn().SetReadDeadline(time.Now().Add(t.wait()))
				txs, err := s.ReadTransmissions()
				t.Check(err, "read what the proxy forwards")
				tx, err := smp.ParseTransmission(s.Version, txs[0])
				t.Check(err, "forwarded transmission")
				if len(tx.Auth) != 0 || len(tx.EntityID) != 0 || !bytes.HasPrefix(tx.Command, []byte("RFWD ")) {
					t.Failf("the proxy forwarded %q with %d-byte auth and entity %x, want an unauthorized RFWD with empty entity id", trim(tx.Command), len(tx.Auth), tx.EntityID)
				}
			}),
		mk("PRX-NO-SESSION", "proxy", MUST, Negative, v8, "SMP-PROXY-5 SMP-PROXY-12",
			"PFWD naming no proxy session is answered ERR PROXY NO_SESSION",
			func(t *T) {
				cl := t.Client(t.V)
				cmd := smp.CmdPFWD{Version: t.V, Key: t.Key(smpcrypto.X25519).Public(), EncTx: make([]byte, smp.ProxiedSize)}
				t.WantErr(cl, client.Request{EntityID: corrID(), Command: cmd},
					smp.ErrorType{Kind: smp.ErrPROXY, Proxy: &smp.ProxyError{Kind: smp.ProxyNOSESSION}})
			}),
		mk("PRX-RFWD-CRYPTO", "proxy", MUST, Negative, v8, "SMP-PROXY-7",
			"RFWD that does not decrypt with the session secret is answered ERR CRYPTO",
			func(t *T) {
				cl := t.Client(t.V)
				t.WantErr(cl, client.Request{Command: smp.CmdRFWD{EncTx: make([]byte, 100)}}, smp.ErrorType{Kind: smp.ErrCRYPTO})
			}),
	)
}

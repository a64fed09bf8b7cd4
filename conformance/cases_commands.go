package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
)

func init() {
	register(
		single(mk("CMD-NEW-EVERY-VERSION", "commands", MUST, Positive, allVersions, "SMP-VER-1 SMP-CMD-NEW-1 SMP-CMD-NEW-4 SMP-RSP-IDS-1 SMP-ID-1 SMP-MSG-2 SMP-BOX-1 SMP-BOX-3 SMP-NONCE-1",
			"NEW works at every version: 24-byte distinct ids, a relay DH key whose secret decrypts MSG",
			func(t *T) {
				for v := t.Range.Min; v <= t.Range.Max; v++ {
					cl := t.Client(v)
					q := t.NewQueue(cl, NewOpts{})
					ids := q.IDS
					if len(ids.RcvID) != 24 || len(ids.SndID) != 24 || bytes.Equal(ids.RcvID, ids.SndID) {
						t.Failf("v%d: ids %x / %x", v, ids.RcvID, ids.SndID)
					}
					if v >= smp.VersionShortLinks && (ids.Mode == nil || *ids.Mode != smp.QueueMessaging) {
						t.Failf("v%d: IDS mode %v, want messaging", v, describeMode(ids.Mode))
					}
					t.WantOK(cl, q.Send("v"))
					q.WantMsg(t.WantEvent(cl, "MSG", ids.RcvID), "v")
					cl.Close()
				}
			})),
		mk("CMD-NEW-PROOF", "commands", MUST, Negative, allVersions, "SMP-VERIFY-2",
			"NEW signed by a key other than the one it carries is answered ERR AUTH",
			func(t *T) {
				cl := t.Client(t.V)
				k, other := t.Key(smpcrypto.Ed25519), t.Key(smpcrypto.Ed25519)
				cmd := smp.CmdNEW{RcvAuthKey: k.Public(), RcvDHKey: t.Key(smpcrypto.X25519).Public(), SubMode: smp.SubModeSubscribe, BasicAuth: t.password()}
				if t.V >= smp.VersionSndAuthKey {
					cmd.QueueReq = &smp.QueueReq{Mode: smp.QueueMessaging}
				}
				t.WantErr(cl, client.Request{Key: other, Command: cmd}, smp.AUTH)
			}),
		mk("CMD-NEW-PASSWORD", "commands", MUST, Negative, allVersions, "SMP-CMD-NEW-3",
			"a relay with a password refuses NEW without it or with a wrong one",
			func(t *T) {
				if t.Target.Password == "" {
					t.Skip("no password given for this relay (--password)")
				}
				cl := t.Client(t.V)
				k := t.Key(smpcrypto.Ed25519)
				cmd := smp.CmdNEW{RcvAuthKey: k.Public(), RcvDHKey: t.Key(smpcrypto.X25519).Public(), SubMode: smp.SubModeSubscribe}
				if t.V >= smp.VersionSndAuthKey {
					cmd.QueueReq = &smp.QueueReq{Mode: smp.QueueMessaging}
				}
				t.WantErr(cl, client.Request{Key: k, Command: cmd}, smp.AUTH)
				wrong := t.Target.Password + "x"
				cmd.BasicAuth = &wrong
				t.WantErr(cl, client.Request{Key: k, Command: cmd}, smp.AUTH)
			}),
		mk("CMD-NEW-CREATE-ONLY", "commands", MUST, Positive, allVersions, "SMP-CMD-NEW-5 SMP-SUBS-5",
			"NEW with sub-mode C does not subscribe; with S it does",
			func(t *T) {
				cl, snd := t.Client(t.V), t.Client(t.V)
				q := t.NewQueue(cl, NewOpts{SubMode: smp.SubModeOnlyCreate})
				t.WantOK(snd, q.Send("a"))
				t.Quiet(cl)
				q2 := t.NewQueue(cl, NewOpts{})
				t.WantOK(snd, q2.Send("b"))
				q2.WantMsg(t.WantEvent(cl, "MSG", q2.IDS.RcvID), "b")
			}),
		mk("CMD-SUB-SOK", "commands", MUST, Positive, allVersions, "SMP-CMD-SUB-2 SMP-RSP-SOK-1",
			"SUB is answered SOK from v16 and OK below",
			func(t *T) {
				for _, v := range []smp.Version{t.V} {
					cl := t.Client(v)
					q := t.NewQueue(cl, NewOpts{SubMode: smp.SubModeOnlyCreate})
					want := "OK"
					if v >= smp.VersionServiceCerts {
						want = "SOK"
					}
					t.Want(cl, q.Rcv(smp.CmdSUB{}), want)
				}
			}),
		mk("CMD-KEY", "commands", MUST, Both, allVersions, "SMP-CMD-KEY-2 SMP-QSTATE-1 SMP-TX-2",
			"KEY secures the queue; the same key again is OK, another key ERR AUTH; then only signed SEND is accepted",
			func(t *T) {
				cl := t.Client(t.V)
				q := t.NewQueue(cl, NewOpts{})
				q.Secure(cl)
				t.Want(cl, q.Rcv(smp.CmdKEY{SenderKey: q.SndKey.Public()}), "OK")
				t.WantErr(cl, q.Rcv(smp.CmdKEY{SenderKey: t.Key(smpcrypto.Ed25519).Public()}), smp.AUTH)
				t.WantErr(cl, client.Request{EntityID: q.IDS.SndID, Command: smp.CmdSEND{Body: []byte("x")}}, smp.AUTH)
				t.WantOK(cl, q.Send("signed"))
				q.WantMsg(t.WantEvent(cl, "MSG", q.IDS.RcvID), "signed")
			}),
		mk("CMD-SKEY", "commands", MUST, Both, from(smp.VersionSndAuthKey), "SMP-CMD-SKEY-1 SMP-CMD-SKEY-2 SMP-QSTATE-1",
			"the sender secures a messaging queue with SKEY; repeating it is OK; another key is refused",
			func(t *T) {
				rc, sc := t.Client(t.V), t.Client(t.V)
				q := t.NewQueue(rc, NewOpts{})
				k := t.Key(smpcrypto.Ed25519)
				skey := client.Request{Key: k, EntityID: q.IDS.SndID, Command: smp.CmdSKEY{SenderKey: k.Public()}}
				t.Want(sc, skey, "OK")
				t.Want(sc, skey, "OK")
				k2 := t.Key(smpcrypto.Ed25519)
				t.WantErr(sc, client.Request{Key: k2, EntityID: q.IDS.SndID, Command: smp.CmdSKEY{SenderKey: k2.Public()}}, smp.AUTH)
				q.SndKey = k
				t.WantOK(sc, q.Send("after SKEY"))
				q.WantMsg(t.WantEvent(rc, "MSG", q.IDS.RcvID), "after SKEY")
			}),
		mk("CMD-SKEY-CONTACT", "commands", MUST, Negative, from(smp.VersionSndAuthKey), "SMP-QSTATE-5 SMP-VERIFY-2",
			"SKEY on a contact queue is answered ERR AUTH",
			func(t *T) {
				cl := t.Client(t.V)
				q := t.NewQueue(cl, NewOpts{QueueReq: &smp.QueueReq{Mode: smp.QueueContact}})
				k := t.Key(smpcrypto.Ed25519)
				t.WantErr(cl, client.Request{Key: k, EntityID: q.IDS.SndID, Command: smp.CmdSKEY{SenderKey: k.Public()}}, smp.AUTH)
			}),
		mk("CMD-OFF", "commands", MUST, Both, allVersions, "SMP-CMD-OFF-2 SMP-QSTATE-2 SMP-CMD-SEND-3",
			"after OFF, SEND is ERR AUTH while recipient commands still work",
			func(t *T) {
				cl := t.Client(t.V)
				q := t.NewQueue(cl, NewOpts{})
				t.Want(cl, q.Rcv(smp.CmdOFF{}), "OK")
				t.Want(cl, q.Rcv(smp.CmdOFF{}), "OK")
				t.WantErr(cl, q.Send("x"), smp.AUTH)
				// The length check comes before the status check.
				t.WantErr(cl, q.Send(strings.Repeat("x", smp.MaxMessageLength(t.V)+1)), smp.ErrorType{Kind: smp.ErrLARGEMSG})
				t.WantOK(cl, q.Rcv(smp.CmdSUB{}))
			}),
		mk("CMD-DEL", "commands", MUST, Both, allVersions, "SMP-CMD-DEL-2 SMP-DEL-1 SMP-DEL-2",
			"after DEL every id of the queue is unknown, and its messages are gone",
			func(t *T) {
				cl := t.Client(t.V)
				q := t.NewQueue(cl, NewOpts{SubMode: smp.SubModeOnlyCreate})
				t.WantOK(cl, q.Send("gone"))
				t.Want(cl, q.Rcv(smp.CmdDEL{}), "OK")
				t.WantErr(cl, q.Rcv(smp.CmdSUB{}), smp.AUTH)
				t.WantErr(cl, q.Rcv(smp.CmdDEL{}), smp.AUTH)
				t.WantErr(cl, q.Send("x"), smp.AUTH)
			}),
		mk("CMD-QUE", "commands", MUST, Positive, allVersions, "SMP-CMD-QUE-2 SMP-RSP-INFO-1",
			"QUE is answered INFO with a JSON object",
			func(t *T) {
				cl := t.Client(t.V)
				q := t.NewQueue(cl, NewOpts{})
				rsp := t.Want(cl, q.Rcv(smp.CmdQUE{}), "INFO").(smp.RspINFO)
				var obj map[string]any
				if err := json.Unmarshal(rsp.JSON, &obj); err != nil {
					t.Failf("INFO is not a JSON object: %v: %q", err, rsp.JSON)
				}
				t.Logf("INFO %s", rsp.JSON)
			}),
		extra(mk("CMD-SEND-SIZE", "commands", MUST, Both, allVersions, "SMP-CMD-SEND-2 SMP-RSP-MSG-1 SMP-MSG-2",
			"a body of the version's maximum length is delivered in a 16122-byte MSG body; one byte more is ERR LARGE_MSG",
			func(t *T) {
				cl := t.Client(t.V)
				q := t.NewQueue(cl, NewOpts{})
				max := smp.MaxMessageLength(t.V)
				t.WantErr(cl, q.Send(strings.Repeat("x", max+1)), smp.ErrorType{Kind: smp.ErrLARGEMSG})
				t.WantOK(cl, q.Send(strings.Repeat("y", max)))
				m := t.WantEvent(cl, "MSG", q.IDS.RcvID).(smp.RspMSG)
				if len(m.Body) != smp.MsgBodySize {
					t.Failf("MSG body of %d bytes, want %d", len(m.Body), smp.MsgBodySize)
				}
				q.WantMsg(m, strings.Repeat("y", max))
			}), 7, 8, 10, 11),
		mk("CMD-SEND-EMPTY", "commands", MUST, Positive, allVersions, "SMP-CMD-SEND-1 SMP-MSG-1 SMP-ID-3",
			"an empty body is accepted and delivered with its notification flag and timestamp",
			func(t *T) {
				cl := t.Client(t.V)
				q := t.NewQueue(cl, NewOpts{})
				t.WantOK(cl, client.Request{EntityID: q.IDS.SndID, Command: smp.CmdSEND{Notify: true}})
				b := q.Open(t.WantEvent(cl, "MSG", q.IDS.RcvID))
				if len(b.Body) != 0 || !b.Notify {
					t.Failf("delivered %+v", b)
				}
				if d := time.Since(time.Unix(b.Timestamp, 0)); d < -10*time.Minute || d > 10*time.Minute {
					t.Failf("message timestamp %v is %v away from now", time.Unix(b.Timestamp, 0).UTC(), d)
				}
			}),
		mk("CMD-NKEY-NDEL", "commands", MUST, Positive, allVersions, "SMP-CMD-NKEY-2 SMP-RSP-NID-1 SMP-CMD-NDEL-2",
			"NKEY is answered NID with a fresh notifier id each time; NDEL is OK, also repeated",
			func(t *T) {
				cl := t.Client(t.V)
				q := t.NewQueue(cl, NewOpts{})
				nk := func() smp.RspNID {
					return t.Want(cl, q.Rcv(smp.CmdNKEY{NotifierKey: t.Key(smpcrypto.Ed25519).Public(), DHKey: t.Key(smpcrypto.X25519).Public()}), "NID").(smp.RspNID)
				}
				a, b := nk(), nk()
				if len(a.NotifierID) != 24 || bytes.Equal(a.NotifierID, b.NotifierID) {
					t.Failf("notifier ids %x, %x", a.NotifierID, b.NotifierID)
				}
				t.Want(cl, q.Rcv(smp.CmdNDEL{}), "OK")
				t.Want(cl, q.Rcv(smp.CmdNDEL{}), "OK")
			}),
		mk("CMD-SUBS-NO-SERVICE", "commands", MUST, Negative, from(smp.VersionServiceCerts), "SMP-SVC-4",
			"SUBS and NSUBS outside a service session are answered ERR SERVICE",
			func(t *T) {
				cl := t.Client(t.V)
				k := t.Key(smpcrypto.Ed25519)
				id := corrID()
				t.WantErr(cl, client.Request{Key: k, EntityID: id, Command: smp.CmdSUBS{}}, smp.ErrorType{Kind: smp.ErrSERVICE})
				t.WantErr(cl, client.Request{Key: k, EntityID: id, Command: smp.CmdNSUBS{}}, smp.ErrorType{Kind: smp.ErrSERVICE})
			}),
	)
}

func (t *T) password() *string {
	if t.Target.Password == "" {
		return nil
	}
	pw := t.Target.Password
	return &pw
}

func describeMode(m *smp.QueueMode) string {
	if m == nil {
		return "absent"
	}
	return fmt.Sprintf("%q", byte(*m))
}

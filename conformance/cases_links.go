package conformance

import (
	"bytes"
	"strings"

	"golang.org/x/crypto/sha3"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
)

// senderIDFor is the sender id a client supplies with link data: the first
// 24 bytes of SHA3-384 of the NEW correlation id (SMP-CMD-NEW-2).
func senderIDFor(corr []byte) []byte {
	h := sha3.Sum384(corr)
	return h[:24]
}

// linkQueue creates a queue with link data.
func (t *T) linkQueue(cl *client.Client, mode smp.QueueMode, fixed, user string) (*Queue, []byte) {
	corr := corrID()
	link := &smp.QueueLinkReq{SenderID: senderIDFor(corr), Fixed: []byte(fixed), User: []byte(user)}
	if mode == smp.QueueContact {
		link.LinkID = corrID()
	}
	q := t.NewQueue(cl, NewOpts{CorrID: corr, QueueReq: &smp.QueueReq{Mode: mode, Link: link}})
	if !bytes.Equal(q.IDS.SndID, link.SenderID) {
		t.Failf("IDS sender id %x, want the client's %x", q.IDS.SndID, link.SenderID)
	}
	if q.IDS.LinkID == nil {
		t.Failf("IDS without link id")
	}
	if mode == smp.QueueContact && !bytes.Equal(q.IDS.LinkID, link.LinkID) {
		t.Failf("IDS link id %x, want the client's %x", q.IDS.LinkID, link.LinkID)
	}
	return q, q.IDS.LinkID
}

func wantLNK(t *T, rsp smp.Response, q *Queue, fixed, user string) {
	l, ok := rsp.(smp.RspLNK)
	if !ok {
		t.Failf("got %s, want LNK", describe(rsp))
	}
	if !bytes.Equal(l.SenderID, q.IDS.SndID) || string(l.Fixed) != fixed || string(l.User) != user {
		t.Failf("LNK %x %q %q, want %x %q %q", l.SenderID, l.Fixed, l.User, q.IDS.SndID, fixed, user)
	}
}

func init() {
	v15 := from(smp.VersionShortLinks)
	register(
		mk("LNK-INVITATION", "links", MUST, Positive, v15, "SMP-LINK-2 SMP-CMD-LKEY-2 SMP-CMD-SEND-4 SMP-RSP-LNK-1 SMP-CMD-NEW-4 SMP-CMD-LKEY-1",
			"a one-time link: LKEY secures the queue and returns the data; the first message consumes the link",
			func(t *T) {
				rc, sc := t.Client(t.V), t.Client(t.V)
				q, lnk := t.linkQueue(rc, smp.QueueMessaging, "fixed", "user")
				t.Want(rc, q.Rcv(smp.CmdLSET{LinkID: lnk, Fixed: []byte("fixed"), User: []byte("user2")}), "OK")
				q.SndKey = t.Key(smpcrypto.Ed25519)
				lkey := client.Request{Key: q.SndKey, EntityID: lnk, Command: smp.CmdLKEY{SenderKey: q.SndKey.Public()}}
				wantLNK(t, t.Want(sc, lkey, "LNK"), q, "fixed", "user2")
				wantLNK(t, t.Want(sc, lkey, "LNK"), q, "fixed", "user2")
				t.WantErr(rc, q.Rcv(smp.CmdLSET{LinkID: lnk, Fixed: []byte("fixed"), User: []byte("user3")}), smp.AUTH)
				t.WantOK(sc, q.Send("hi"))
				q.WantMsg(t.WantEvent(rc, "MSG", q.IDS.RcvID), "hi")
				t.WantErr(sc, lkey, smp.AUTH)
			}),
		mk("LNK-SENDER-ID-HASH", "links", MUST, Negative, v15, "SMP-CMD-NEW-2",
			"NEW with a sender id that is not the hash of its correlation id is ERR CMD PROHIBITED",
			func(t *T) {
				cl := t.Client(t.V)
				link := &smp.QueueLinkReq{SenderID: corrID(), Fixed: []byte("f"), User: []byte("u")}
				_, err := t.TryNewQueue(cl, NewOpts{QueueReq: &smp.QueueReq{Mode: smp.QueueMessaging, Link: link}})
				t.wantServerErr(err, smp.CMDProhibited)
			}),
		mk("LNK-CONTACT", "links", MUST, Positive, v15, "SMP-LINK-3 SMP-CMD-LGET-2 SMP-CMD-LSET-2 SMP-CMD-LDEL-2 SMP-LINK-4",
			"a contact link is read with LGET; LSET changes only user data; LDEL removes it",
			func(t *T) {
				rc, sc := t.Client(t.V), t.Client(t.V)
				q, lnk := t.linkQueue(rc, smp.QueueContact, "fixed", "user")
				lget := client.Request{EntityID: lnk, Command: smp.CmdLGET{}}
				wantLNK(t, t.Want(sc, lget, "LNK"), q, "fixed", "user")
				big := strings.Repeat("u", 8000) // link data is opaque, any size that fits
				t.Want(rc, q.Rcv(smp.CmdLSET{LinkID: lnk, Fixed: []byte("fixed"), User: []byte(big)}), "OK")
				wantLNK(t, t.Want(sc, lget, "LNK"), q, "fixed", big)
				t.WantErr(rc, q.Rcv(smp.CmdLSET{LinkID: lnk, Fixed: []byte("other"), User: []byte("new")}), smp.AUTH)
				t.WantErr(rc, q.Rcv(smp.CmdLSET{LinkID: corrID(), Fixed: []byte("fixed"), User: []byte("new")}), smp.AUTH)
				t.Want(rc, q.Rcv(smp.CmdLDEL{}), "OK")
				t.WantErr(sc, lget, smp.AUTH)
				t.Want(rc, q.Rcv(smp.CmdLDEL{}), "OK")
			}),
		mk("LNK-LGET-MESSAGING", "links", MUST, Negative, v15, "SMP-CMD-LGET-2 SMP-QSTATE-5",
			"LGET on a one-time (messaging) link, and LKEY on a contact link, are ERR AUTH",
			func(t *T) {
				cl := t.Client(t.V)
				_, lnk := t.linkQueue(cl, smp.QueueMessaging, "f", "u")
				t.WantErr(cl, client.Request{EntityID: lnk, Command: smp.CmdLGET{}}, smp.AUTH)
				_, clnk := t.linkQueue(cl, smp.QueueContact, "f", "u")
				k := t.Key(smpcrypto.Ed25519)
				t.WantErr(cl, client.Request{Key: k, EntityID: clnk, Command: smp.CmdLKEY{SenderKey: k.Public()}}, smp.AUTH)
			}),
		mk("LNK-RKEY", "links", MUST, Both, v15, "SMP-CMD-RKEY-2",
			"RKEY replaces the recipient keys of a contact queue and is refused on a messaging queue",
			func(t *T) {
				cl := t.Client(t.V)
				q := t.NewQueue(cl, NewOpts{QueueReq: &smp.QueueReq{Mode: smp.QueueContact}})
				k1, k2 := t.Key(smpcrypto.Ed25519), t.Key(smpcrypto.Ed448)
				t.Want(cl, q.Rcv(smp.CmdRKEY{Keys: []smpcrypto.PublicKey{k1.Public(), k2.Public()}}), "OK")
				t.WantErr(cl, q.Rcv(smp.CmdQUE{}), smp.AUTH)
				t.Want(cl, client.Request{Key: k2, EntityID: q.IDS.RcvID, Command: smp.CmdQUE{}}, "INFO")
				t.Want(cl, client.Request{Key: k1, EntityID: q.IDS.RcvID, Command: smp.CmdQUE{}}, "INFO")
				q.RcvKey = k1 // for the deletion when the case ends
				m := t.NewQueue(cl, NewOpts{})
				t.WantErr(cl, m.Rcv(smp.CmdRKEY{Keys: []smpcrypto.PublicKey{k1.Public()}}), smp.AUTH)
			}),
	)
}

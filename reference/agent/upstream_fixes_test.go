package agent

import (
	"context"
	"crypto/rand"
	"io"
	"testing"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
)

// GC-QUEUE-4: a keyed envelope that does not open leaves the queue without
// a key, and the real confirmation after it is processed (upstream
// processClientMsg decrypts first; setRcvQueueConfirmedE2E stores the key
// only with a processed confirmation).
func TestKeyedEnvelopeThatDoesNotOpenKeepsNoKey(t *testing.T) {
	r1, r2 := startLoopback(t), startLoopback(t)
	alice, bob := startAgent(t, r1.Server), startAgent(t, r2.Server)
	ctx := context.Background()
	aConn, link, err := alice.CreateInvitationWith(ctx, Standard)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := ParseInvitation(link)
	if err != nil {
		t.Fatal(err)
	}
	uri := inv.Queues[0]
	// A keyed envelope sealed for another recipient key.
	once, _ := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader)
	other, _ := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader)
	secret, _ := once.DH(other.Public())
	var nonce smpcrypto.Nonce
	io.ReadFull(rand.Reader, nonce[:])
	k := once.Public()
	ce := smp.ClientMsgEnvelope{Version: clientVersion, DHKey: &k, Nonce: nonce}
	if ce.Body, err = smpcrypto.SealPadded(secret, nonce, []byte("_not an envelope"), confirmationPadded); err != nil {
		t.Fatal(err)
	}
	body, _ := smp.EncodeClientMsgEnvelope(ce)
	cl, err := client.Dial(ctx, uri.Server, client.Config{PingInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := cl.Do(ctx, client.Request{EntityID: uri.SenderID, Command: smp.CmdSEND{Notify: true, Body: body}}); err != nil {
		t.Fatal(err)
	}
	if ev := await(t, alice, EventErr); ev.Err == nil {
		t.Fatal("no error for the envelope that does not open")
	}
	if c := alice.conn(aConn); c.Rcv.E2ESecret != nil || c.Status != "new" {
		t.Fatalf("after an envelope that did not open: key kept %v, status %s", c.Rcv.E2ESecret != nil, c.Status)
	}
	if _, err := bob.Join(ctx, link, []byte("bob")); err != nil {
		t.Fatal(err)
	}
	if conf := await(t, alice, EventConf); string(conf.Body) != "bob" {
		t.Fatalf("CONF %q", conf.Body)
	}
	if c := alice.conn(aConn); c.Rcv.E2ESecret == nil {
		t.Fatal("the real confirmation's key was not kept")
	}
}

// GC-DUPLEX-7, SMP-CMD-NEW-1: with relays below v9, which take no queue
// mode, NEW goes without one (upstream's encoder drops it), the queues have
// no mode, so the invitation lacks q=m and both parties run the standard
// procedure (KEY by recipients, K headers, HELLO both ways).
func TestRelaysBelowV9StandardProcedure(t *testing.T) {
	start := func() *relay.Loopback {
		l, err := relay.StartLoopback(relay.Config{Versions: smp.VersionRange{Min: smp.VersionMin, Max: smp.VersionSndAuthKey - 1}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	r1, r2 := start(), start()
	alice, bob := startAgent(t, r1.Server), startAgent(t, r2.Server)
	ctx := context.Background()
	aConn, link, err := alice.CreateInvitation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := ParseInvitation(link)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Queues[0].Mode != nil {
		t.Fatalf("invitation queue at v8 has mode %q", *inv.Queues[0].Mode)
	}
	bConn, err := bob.Join(ctx, link, []byte("bob"))
	if err != nil {
		t.Fatal(err)
	}
	await(t, alice, EventConf)
	if err := alice.Allow(ctx, aConn, []byte("alice")); err != nil {
		t.Fatal(err)
	}
	await(t, bob, EventInfo)
	await(t, bob, EventCon)
	await(t, alice, EventCon)
	if c := bob.conn(bConn); c.Snd.SndSecure || c.Rcv.SndSecure {
		t.Fatal("a queue below v9 taken as sender-securable")
	}
	id, err := alice.Send(ctx, aConn, []byte("hi bob"))
	if err != nil {
		t.Fatal(err)
	}
	if m := await(t, bob, EventMsg); string(m.Body) != "hi bob" {
		t.Fatalf("bob got %q", m.Body)
	} else if err := bob.Ack(ctx, bConn, m.MsgID); err != nil {
		t.Fatal(err)
	}
	if r := await(t, alice, EventRcvd); r.MsgID != id || r.Receipt != ReceiptOK {
		t.Fatalf("receipt %+v", r)
	}
	if _, err := bob.Send(ctx, bConn, []byte("hi alice")); err != nil {
		t.Fatal(err)
	}
	if m := await(t, alice, EventMsg); string(m.Body) != "hi alice" {
		t.Fatalf("alice got %q", m.Body)
	}
}

// GC-ENV-8: a receipt is checked against the hash of the message it names,
// as upstream's clientReceipt does: OK, a bad hash, a repeated OK receipt
// dropped, a receipt for no message we sent an error.
func TestReceiptHashCheckedAsUpstream(t *testing.T) {
	alice, aConn, p := connectUpstreamJoiner(t)
	ctx := context.Background()
	id1, err := alice.Send(ctx, aConn, []byte("one"))
	if err != nil {
		t.Fatal(err)
	}
	id2, err := alice.Send(ctx, aConn, []byte("two"))
	if err != nil {
		t.Fatal(err)
	}
	r1, _ := p.recv()
	p.recv()
	rcpt := func(id int64, h []byte) {
		t.Helper()
		p.sendMsg(ARcvd{Receipts: []Receipt{{AgentMsgID: id, MsgHash: h, Info: []byte{}}}}, false)
	}
	rcpt(id1, hash(r1.body))
	if r := await(t, alice, EventRcvd); r.MsgID != id1 || r.Receipt != ReceiptOK {
		t.Fatalf("receipt with the right hash: %+v", r)
	}
	rcpt(id2, []byte("not the hash"))
	if r := await(t, alice, EventRcvd); r.MsgID != id2 || r.Receipt != ReceiptBadHash {
		t.Fatalf("receipt with a wrong hash: %+v", r)
	}
	rcpt(id1, hash(r1.body)) // already receipted OK: dropped
	rcpt(99, []byte("no such message"))
	if ev := await(t, alice, EventErr, EventRcvd); ev.Kind != EventErr || ev.MsgID != 99 {
		t.Fatalf("after a repeated receipt and one for no message: %+v", ev)
	}
	// The status is kept in the database.
	if _, st, _, err := sentReceipt(ctx, alice.db, aConn, id2); err != nil || ReceiptStatus(st) != ReceiptBadHash {
		t.Fatalf("stored status %q, %v", st, err)
	}
}

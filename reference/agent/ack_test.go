package agent_test

import (
	"context"
	"testing"
)

// AckWithoutReceipt acknowledges a message without a receipt: the sender
// gets no RCVD for it, and the message cannot be acknowledged again.
func TestAckWithoutReceipt(t *testing.T) {
	srv := startRelay(t)
	alice, bob := newAgent(t, t.TempDir(), srv, nil), newAgent(t, t.TempDir(), srv, nil)
	aConn, bConn := connect(t, alice, bob)
	ctx := context.Background()
	quiet, err := alice.Send(ctx, aConn, []byte("no receipt"))
	if err != nil {
		t.Fatal(err)
	}
	m := next(t, bob, "MSG")
	if m.MsgID != quiet {
		t.Fatalf("MSG %d, want %d", m.MsgID, quiet)
	}
	if err := bob.AckWithoutReceipt(ctx, bConn, m.MsgID); err != nil {
		t.Fatal(err)
	}
	if err := bob.Ack(ctx, bConn, m.MsgID); err == nil {
		t.Fatal("a message acknowledged twice")
	}
	loud, err := alice.Send(ctx, aConn, []byte("receipt"))
	if err != nil {
		t.Fatal(err)
	}
	if m := next(t, bob, "MSG"); m.MsgID != loud {
		t.Fatalf("MSG %d, want %d", m.MsgID, loud)
	} else if err := bob.Ack(ctx, bConn, m.MsgID); err != nil {
		t.Fatal(err)
	}
	// Receipts come in order: the first RCVD is the second message's.
	if r := next(t, alice, "RCVD"); r.MsgID != loud {
		t.Fatalf("RCVD for %d, want only %d's", r.MsgID, loud)
	}
}

// SendReportSent reports SENT once the relay accepted the message, with no
// receipt needed from the peer.
func TestSendReportSent(t *testing.T) {
	srv := startRelay(t)
	alice, bob := newAgent(t, t.TempDir(), srv, nil), newAgent(t, t.TempDir(), srv, nil)
	aConn, bConn := connect(t, alice, bob)
	ctx := context.Background()
	id, err := alice.SendReportSent(ctx, aConn, []byte("bye"))
	if err != nil {
		t.Fatal(err)
	}
	if s := next(t, alice, "SENT"); s.MsgID != id || s.ConnID != aConn {
		t.Fatalf("SENT %+v, want message %d", s, id)
	}
	m := next(t, bob, "MSG")
	if err := bob.AckWithoutReceipt(ctx, bConn, m.MsgID); err != nil {
		t.Fatal(err)
	}
}

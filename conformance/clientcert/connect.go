package clientcert

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/smpkit/smpkit/internal/driver"
	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/store"
)

// Per-queue layer sizes (GC-QUEUE-3) as the runner sees them: the padded
// plaintext plus the 16-byte authenticator of the box (SMP-BOX-1).
const (
	boxTag            = 16
	confirmationBytes = 15904 + boxTag
	messageBytes      = 16000 + boxTag
)

// The connection info each side sends, so that both can be checked.
const (
	shimInfo = "info from the shim"
	peerInfo = "info from the peer"
)

// pair is one established connection: the shim's and the peer's ids and
// the invitation it was made from.
type pair struct {
	shim, peer string
	link       string
	inv        agent.Invitation
}

func procOf(proc string) agent.Procedure {
	if proc == "standard" {
		return agent.Standard
	}
	return agent.Fast
}

// connect starts the shim on S (if it is not running) and makes a duplex
// connection with the peer, checking every step a third party sees
// (GC-DUPLEX-1..5). shimInitiates selects the shim's role.
func (t *T) connect(ctx context.Context, proc string, shimInitiates bool) (pair, error) {
	if t.shim == nil {
		if err := t.startShim(ctx, t.shimRelay()); err != nil {
			return pair{}, err
		}
	}
	if shimInitiates {
		return t.connectShimInitiates(ctx, proc)
	}
	return t.connectShimJoins(ctx, proc)
}

// queue returns the relay's record of the queue with sender id sid.
func queueBySender(st *store.Store, sid []byte) (*store.Queue, error) {
	if st == nil {
		return nil, errors.New("relay not running")
	}
	return st.Queue(store.BySender, sid)
}

func (t *T) connectShimInitiates(ctx context.Context, proc string) (pair, error) {
	rep, err := t.call(ctx, driver.Msg{Cmd: driver.CmdCreateInvitation, Procedure: proc})
	if err != nil {
		return pair{}, err
	}
	p := pair{shim: rep.Conn, link: rep.Link}
	if p.shim == "" {
		return p, errors.New("create_invitation: reply without conn (spec/driver.md §3)")
	}
	if p.inv, err = agent.ParseInvitation(rep.Link); err != nil {
		return p, fmt.Errorf("the shim's invitation does not parse (GC-LINK-1): %w", err)
	}
	uri := p.inv.Queues[0]
	if uri.Server.String() != t.shimRelay().String() {
		return p, fmt.Errorf("the invitation's queue is on %s, not on the relay the shim was given (%s)", uri.Server, t.shimRelay())
	}
	if !t.observed {
		q, err := queueBySender(t.S.store(), uri.SenderID)
		if err != nil {
			return p, fmt.Errorf("the invitation's queue does not exist at the relay (DRV-CMD-1): %w", err)
		}
		if q.SenderKey != nil {
			return p, errors.New("the invitation's queue is already secured before anyone joined")
		}
	}
	messaging := uri.Mode != nil && *uri.Mode == smp.QueueMessaging
	if want := proc == "fast" && !t.modeless; messaging != want {
		return p, fmt.Errorf("%s procedure: the link's queue URI %s q=m (GC-DUPLEX-1, GC-DUPLEX-5)", proc, map[bool]string{true: "has", false: "lacks"}[messaging])
	}
	if p.peer, err = t.peer.ag.Join(ctx, rep.Link, []byte(peerInfo)); err != nil {
		return p, fmt.Errorf("the reference peer cannot join the shim's invitation: %w", err)
	}
	conf, err := t.shimEvent(ctx, driver.EvConf, p.shim)
	if err != nil {
		return p, fmt.Errorf("after the peer joined (GC-DUPLEX-2): %w", err)
	}
	if got := driver.Val(conf.Info); got != peerInfo {
		return p, fmt.Errorf("conf carries info %q, the peer sent %q (GC-ENV-2)", got, peerInfo)
	}
	if _, err := t.call(ctx, driver.Msg{Cmd: driver.CmdAllow, Conn: p.shim, Info: driver.Str(shimInfo)}); err != nil {
		return p, err
	}
	if proc == "standard" && !t.observed {
		// The initiator secures its own queue with KEY before its
		// confirmation (GC-DUPLEX-5).
		if err := t.eventually(ctx, "standard procedure: the shim did not secure its queue with KEY after allow (GC-DUPLEX-5)", func() bool {
			q, err := queueBySender(t.S.store(), uri.SenderID)
			return err == nil && q.SenderKey != nil
		}); err != nil {
			return p, err
		}
	}
	info, err := t.peerEvent(ctx, agent.EventInfo, p.peer)
	if err != nil {
		return p, fmt.Errorf("after allow, the shim's confirmation did not reach the peer (GC-DUPLEX-2): %w", err)
	}
	if string(info.Body) != shimInfo {
		return p, fmt.Errorf("the peer got info %q, the shim was given %q (GC-ENV-2)", info.Body, shimInfo)
	}
	if err := t.checkFirstEnvelope(ctx, p.peer, "the shim's confirmation"); err != nil {
		return p, err
	}
	return p, t.established(ctx, p)
}

func (t *T) connectShimJoins(ctx context.Context, proc string) (pair, error) {
	var p pair
	var err error
	if p.peer, p.link, err = t.peer.ag.CreateInvitationWith(ctx, procOf(proc)); err != nil {
		return p, fmt.Errorf("peer: %w", err)
	}
	p.inv, _ = agent.ParseInvitation(p.link)
	sid := p.inv.Queues[0].SenderID
	rep, err := t.call(ctx, driver.Msg{Cmd: driver.CmdJoin, Link: p.link, Info: driver.Str(shimInfo)})
	if err != nil {
		return p, err
	}
	if p.shim = rep.Conn; p.shim == "" {
		return p, errors.New("join: reply without conn (spec/driver.md §3)")
	}
	conf, err := t.peerEvent(ctx, agent.EventConf, p.peer)
	if err != nil {
		return p, fmt.Errorf("the shim's confirmation did not reach the peer (GC-DUPLEX-1): %w", err)
	}
	if string(conf.Body) != shimInfo {
		return p, fmt.Errorf("the peer got info %q, the shim was given %q (GC-ENV-2)", conf.Body, shimInfo)
	}
	// The confirmation has arrived: the peer's queue must be secured by
	// the joiner in the fast procedure, and not yet in the standard one.
	if !t.observed {
		q, err := queueBySender(t.P.store(), sid)
		if err != nil {
			return p, err
		}
		switch {
		case proc == "fast" && q.SenderKey == nil:
			return p, errors.New("fast procedure: the confirmation arrived on a queue the shim did not secure with SKEY first (GC-DUPLEX-1)")
		case proc == "standard" && q.SenderKey != nil:
			return p, errors.New("standard procedure: the shim secured the initiator's queue itself (it MUST NOT use SKEY, GC-DUPLEX-5)")
		}
	}
	if err := t.checkFirstEnvelope(ctx, p.peer, "the shim's confirmation"); err != nil {
		return p, err
	}
	if err := t.peer.ag.Allow(ctx, p.peer, []byte(peerInfo)); err != nil {
		return p, fmt.Errorf("peer allow: %w", err)
	}
	info, err := t.shimEvent(ctx, driver.EvInfo, p.shim)
	if err != nil {
		return p, fmt.Errorf("after the peer allowed (GC-DUPLEX-2): %w", err)
	}
	if got := driver.Val(info.Info); got != peerInfo {
		return p, fmt.Errorf("info carries %q, the peer sent %q (GC-ENV-2)", got, peerInfo)
	}
	return p, t.established(ctx, p)
}

// established waits for CON on both sides (GC-DUPLEX-3).
func (t *T) established(ctx context.Context, p pair) error {
	if _, err := t.shimEvent(ctx, driver.EvCon, p.shim); err != nil {
		return fmt.Errorf("GC-DUPLEX-3: %w", err)
	}
	if _, err := t.peerEvent(ctx, agent.EventCon, p.peer); err != nil {
		return fmt.Errorf("GC-DUPLEX-3: the shim's HELLO never completed the connection at the peer: %w", err)
	}
	return nil
}

// checkFirstEnvelope checks the first envelope the peer received on conn:
// it carries the sender's X25519 key and the confirmation padding
// (SMP-ENV-1, GC-QUEUE-1, GC-QUEUE-3).
func (t *T) checkFirstEnvelope(ctx context.Context, conn, what string) error {
	e, err := t.peer.envs.wait(ctx, t.opts.Wait, func(e envelope) bool { return e.conn == conn })
	if err != nil {
		return fmt.Errorf("%s: not observed at the peer", what)
	}
	ce, err := smp.ParseClientMsgEnvelope(e.body)
	if err != nil {
		return fmt.Errorf("%s: the SEND body is not a client message envelope (SMP-ENV-1): %w", what, err)
	}
	if ce.DHKey == nil {
		return fmt.Errorf("%s: the first envelope on the queue has no X25519 key (GC-QUEUE-1)", what)
	}
	if len(ce.Body) != confirmationBytes {
		return fmt.Errorf("%s: ciphertext of %d bytes, want %d (15904 padded, GC-QUEUE-3)", what, len(ce.Body), confirmationBytes)
	}
	return nil
}

// sendToPeer has the shim send body and checks that the peer gets it
// once, unchanged; it returns the shim's id and the peer's event.
func (t *T) sendToPeer(ctx context.Context, p pair, body string) (int64, agent.Event, error) {
	rep, err := t.call(ctx, driver.Msg{Cmd: driver.CmdSend, Conn: p.shim, Body: driver.Str(body)})
	if err != nil {
		return 0, agent.Event{}, err
	}
	if rep.MsgID <= 0 {
		return 0, agent.Event{}, fmt.Errorf("send: reply msg_id %d (spec/driver.md §3)", rep.MsgID)
	}
	e, err := t.peerEvent(ctx, agent.EventMsg, p.peer)
	if err != nil {
		return rep.MsgID, e, fmt.Errorf("a message the shim sent: %w", err)
	}
	if string(e.Body) != body {
		return rep.MsgID, e, fmt.Errorf("the peer got %q, the shim sent %q", e.Body, body)
	}
	return rep.MsgID, e, nil
}

// sendToShim has the peer send body and checks that the shim reports it
// with the peer's message id (GC-ENV-3, DRV-EVT-1).
func (t *T) sendToShim(ctx context.Context, p pair, body string) (int64, driver.Msg, error) {
	id, err := t.peerSend(ctx, p, body)
	if err != nil {
		return 0, driver.Msg{}, fmt.Errorf("peer send: %w", err)
	}
	m, err := t.shimEvent(ctx, driver.EvMsg, p.shim)
	if err != nil {
		return id, m, fmt.Errorf("a message the peer sent: %w", err)
	}
	if got := driver.Val(m.Body); got != body {
		return id, m, fmt.Errorf("the shim reported %q, the peer sent %q (DRV-EVT-1)", got, body)
	}
	if m.MsgID != id {
		return id, m, fmt.Errorf("the shim reported msg_id %d, the peer sent message id %d (GC-ENV-3)", m.MsgID, id)
	}
	return id, m, nil
}

// peerSend has the peer send body. After the runner restarted a relay the
// peer's old connection to it may fail a write before the peer notices it
// is gone; the message was then not sent, and the peer sends again on a
// new connection (a new message id: the first one is a gap the shim's
// ratchet skips, GC-RATCHET-9).
func (t *T) peerSend(ctx context.Context, p pair, body string) (int64, error) {
	for attempt := 0; ; attempt++ {
		id, err := t.peer.ag.Send(ctx, p.peer, []byte(body))
		if err == nil || attempt == 20 || !transient(err) {
			return id, err
		}
		t.Logf("peer send, attempt %d: %v", attempt+1, err)
		time.Sleep(50 * time.Millisecond)
	}
}

// transient reports a write on a connection that was already gone.
func transient(err error) bool {
	s := err.Error()
	return strings.Contains(s, "broken pipe") || strings.Contains(s, "connection reset") || strings.Contains(s, "use of closed network connection") || errors.Is(err, client.ErrClosed)
}

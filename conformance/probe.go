package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/transport"
)

// Cases are written as straight-line code: a check that fails calls
// t.Failf, which ends the case (like testing.T.Fatalf) and records why.

// failure ends a case from inside helpers.
type failure struct{ msg string }

// Failf ends the case as failed.
func (t *T) Failf(format string, args ...any) {
	panic(failure{fmt.Sprintf(format, args...)})
}

// Skip ends the case as skipped.
func (t *T) Skip(format string, args ...any) {
	panic(skipped{fmt.Sprintf(format, args...)})
}

type skipped struct{ msg string }

// Check fails the case when err is not nil.
func (t *T) Check(err error, what string) {
	if err != nil {
		t.Failf("%s: %v", what, err)
	}
}

// quietWait is how long a case listens to be sure no event comes.
const quietWait = 300 * time.Millisecond

// wait is how long a case waits for a response or an event it expects.
func (t *T) wait() time.Duration { return t.Options.Wait }

// Client connects to the relay speaking exactly version v.
func (t *T) Client(v smp.Version) *client.Client {
	return t.ClientWith(client.Config{Versions: smp.VersionRange{Min: v, Max: v}})
}

// ClientWith connects with the given options.
func (t *T) ClientWith(cfg client.Config) *client.Client {
	if cfg.PingInterval == 0 {
		cfg.PingInterval = -1
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	cl, err := t.dialObserved(cfg)
	if err != nil {
		if errors.Is(err, transport.ErrIdentity) {
			t.Failf("connect: the relay's identity is not %s, the one in the address: %v", Fingerprint(t.Target.KeyHash), err)
		}
		t.Failf("connect (versions %v): %v", cfg.Versions, err)
	}
	t.Cleanup(cl)
	if r := cfg.Versions; r != (smp.VersionRange{}) && !r.Contains(cl.Version()) {
		t.Failf("agreed %v outside %v", cl.Version(), r)
	}
	return cl
}

// dialObserved is client.Dial with the observation layer (observe.go)
// installed on the session before the client reads from it.
func (t *T) dialObserved(cfg client.Config) (*client.Client, error) {
	ctx, cancel := context.WithTimeout(t.ctx, cfg.ConnectTimeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", t.Target.HostPort)
	if err != nil {
		return nil, fmt.Errorf("client: connect: %w", err)
	}
	sess, err := client.Handshake(ctx, raw, t.Target.KeyHash, cfg)
	if err != nil {
		raw.Close()
		return nil, err
	}
	t.observe(sess)
	return client.New(sess, t.server(), cfg), nil
}

func (t *T) server() smp.Server {
	host, port, _ := net.SplitHostPort(t.Target.HostPort)
	return smp.Server{Hosts: []string{host}, Port: port, KeyHash: t.Target.KeyHash}
}

// Key makes a fresh key pair.
func (t *T) Key(alg smpcrypto.Alg) smpcrypto.PrivateKey {
	k, err := smpcrypto.GenerateKey(alg, rand.Reader)
	t.Check(err, "generate key")
	return k
}

// Do sends one command and returns the response or the relay's error.
func (t *T) Do(cl *client.Client, req client.Request) (smp.Response, error) {
	ctx, cancel := context.WithTimeout(t.ctx, t.wait())
	defer cancel()
	rsp, err := cl.Do(ctx, req)
	t.checkWire()
	var se *client.ServerError
	if err != nil && !errors.As(err, &se) {
		t.Failf("%s: no response: %v", req.Command.Tag(), err)
	}
	if se != nil && (se.Err.Kind == smp.ErrEXPIRED || se.Err.Kind == smp.ErrDUPLICATE_) {
		t.Failf("%s: relay sent ERR %s, which relays never send (SMP-ERR-4)", req.Command.Tag(), se.Err)
	}
	switch {
	case t.quiet:
	case err != nil:
		t.Logf("%s → ERR %s", req.Command.Tag(), se.Err)
	default:
		t.Logf("%s → %s", req.Command.Tag(), rsp.Tag())
	}
	return rsp, err
}

// Want sends a command and requires a response with the given tag.
func (t *T) Want(cl *client.Client, req client.Request, tag string) smp.Response {
	rsp, err := t.Do(cl, req)
	if err != nil {
		t.Failf("%s: got %v, want %s", req.Command.Tag(), err, tag)
	}
	if rsp.Tag() != tag {
		t.Failf("%s: got %s, want %s", req.Command.Tag(), rsp.Tag(), tag)
	}
	return rsp
}

// WantOK accepts OK, and SOK for commands answered SOK from v16.
func (t *T) WantOK(cl *client.Client, req client.Request) {
	rsp, err := t.Do(cl, req)
	if err != nil {
		t.Failf("%s: got %v, want OK", req.Command.Tag(), err)
	}
	if rsp.Tag() != "OK" && rsp.Tag() != "SOK" {
		t.Failf("%s: got %s, want OK", req.Command.Tag(), rsp.Tag())
	}
}

// WantErr sends a command and requires ERR e.
func (t *T) WantErr(cl *client.Client, req client.Request, e smp.ErrorType) {
	rsp, err := t.Do(cl, req)
	var se *client.ServerError
	switch {
	case err == nil:
		t.Failf("%s: got %s, want ERR %s", req.Command.Tag(), rsp.Tag(), e)
	case !errors.As(err, &se):
		t.Failf("%s: %v, want ERR %s", req.Command.Tag(), err, e)
	case !se.Err.Equal(e):
		t.Failf("%s: got ERR %s, want ERR %s", req.Command.Tag(), se.Err, e)
	}
}

// Event waits for the next event on cl.
func (t *T) Event(cl *client.Client) client.Event {
	select {
	case ev, ok := <-cl.Events():
		t.checkWire()
		if !ok {
			t.Failf("connection closed while waiting for an event: %v", cl.Err())
		}
		t.Logf("event %s", ev.Response.Tag())
		return ev
	case <-time.After(t.wait()):
		t.Failf("no event within %v", t.wait())
	case <-t.ctx.Done():
		t.Failf("case timed out waiting for an event")
	}
	panic("unreachable")
}

// WantEvent waits for an event with the given tag about entity.
func (t *T) WantEvent(cl *client.Client, tag string, entity []byte) smp.Response {
	ev := t.Event(cl)
	if ev.Response.Tag() != tag {
		t.Failf("got event %s, want %s", describe(ev.Response), tag)
	}
	if entity != nil && !bytes.Equal(ev.EntityID, entity) {
		t.Failf("event %s for entity %x, want %x", tag, ev.EntityID, entity)
	}
	return ev.Response
}

// Quiet requires that no event arrives for a short while.
func (t *T) Quiet(cl *client.Client) {
	select {
	case ev, ok := <-cl.Events():
		if ok {
			t.Failf("unexpected event %s", describe(ev.Response))
		}
	case <-time.After(quietWait):
	}
}

func describe(r smp.Response) string {
	if e, ok := r.(smp.RspERR); ok {
		return "ERR " + e.Err.String()
	}
	return r.Tag()
}

// Queue is a recipient's queue, with the keys of both ends.
type Queue struct {
	t      *T
	RcvKey smpcrypto.PrivateKey
	DHKey  smpcrypto.PrivateKey
	SndKey smpcrypto.PrivateKey // zero until secured by the case
	IDS    smp.RspIDS
	Secret []byte // rcvDhSecret
	v      smp.Version
}

// NewOpts shape a NEW.
type NewOpts struct {
	Alg      smpcrypto.Alg // recipient key algorithm (default Ed25519)
	SubMode  smp.SubMode   // default S
	QueueReq *smp.QueueReq
	Ntf      *smp.NewNtfCreds
	CorrID   []byte
}

// NewQueue creates a queue on cl with the target's password.
func (t *T) NewQueue(cl *client.Client, o NewOpts) *Queue {
	q, err := t.TryNewQueue(cl, o)
	if err != nil {
		if e, ok := errTypeOf(err); ok && e.Kind == smp.ErrAUTH && t.Target.Password == "" {
			t.Failf("%v (the relay may need a password: pass --password)", err)
		}
		t.Failf("%v", err)
	}
	return q
}

// TryNewQueue is NewQueue returning the relay's error.
func (t *T) TryNewQueue(cl *client.Client, o NewOpts) (*Queue, error) {
	if o.Alg == 0 {
		o.Alg = smpcrypto.Ed25519
	}
	if o.SubMode == 0 {
		o.SubMode = smp.SubModeSubscribe
	}
	q := &Queue{t: t, RcvKey: t.Key(o.Alg), DHKey: t.Key(smpcrypto.X25519), v: cl.Version()}
	cmd := smp.CmdNEW{RcvAuthKey: q.RcvKey.Public(), RcvDHKey: q.DHKey.Public(), SubMode: o.SubMode, QueueReq: o.QueueReq, NtfCreds: o.Ntf}
	if q.v >= smp.VersionSndAuthKey && cmd.QueueReq == nil {
		cmd.QueueReq = &smp.QueueReq{Mode: smp.QueueMessaging}
	}
	if t.Target.Password != "" {
		pw := t.Target.Password
		cmd.BasicAuth = &pw
	}
	rsp, err := t.Do(cl, client.Request{Key: q.RcvKey, Command: cmd, CorrID: o.CorrID})
	if err != nil {
		return nil, err
	}
	ids, ok := rsp.(smp.RspIDS)
	if !ok {
		t.Failf("NEW: got %s, want IDS", describe(rsp))
	}
	q.IDS = ids
	t.created = append(t.created, q)
	q.Secret, err = q.DHKey.DH(ids.RcvDHKey)
	t.Check(err, "IDS relay DH key")
	return q, nil
}

// Rcv is a recipient command on the queue.
func (q *Queue) Rcv(cmd smp.Command) client.Request {
	return client.Request{Key: q.RcvKey, EntityID: q.IDS.RcvID, Command: cmd}
}

// Send is a SEND, signed once the queue is secured by the case.
func (q *Queue) Send(body string) client.Request {
	return client.Request{Key: q.SndKey, EntityID: q.IDS.SndID, Command: smp.CmdSEND{Body: []byte(body)}}
}

// Secure sets the sender key with KEY (any version) on the recipient's
// connection.
func (q *Queue) Secure(cl *client.Client) {
	q.SndKey = q.t.Key(smpcrypto.Ed25519)
	q.t.Want(cl, q.Rcv(smp.CmdKEY{SenderKey: q.SndKey.Public()}), "OK")
}

// Open decrypts a MSG of this queue.
func (q *Queue) Open(m smp.Response) smp.RcvMessageBody {
	msg, ok := m.(smp.RspMSG)
	if !ok {
		q.t.Failf("got %s, want MSG", describe(m))
	}
	b, err := smp.OpenMsgBody(q.Secret, msg.MsgID, msg.Body)
	if err != nil {
		q.t.Failf("MSG %x does not decrypt with the queue secret (SMP-MSG-2): %v", msg.MsgID, err)
	}
	return b
}

// WantMsg requires that r is a MSG with this body and returns its id.
func (q *Queue) WantMsg(r smp.Response, body string) []byte {
	b := q.Open(r)
	if b.Quota {
		q.t.Failf("got the quota marker, want message %q", body)
	}
	if string(b.Body) != body {
		q.t.Failf("got message %q, want %q", trim(b.Body), body)
	}
	return r.(smp.RspMSG).MsgID
}

func trim(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// Raw is a connection for bytes a well-behaved client never sends.
type Raw struct {
	t       *T
	Sess    *transport.Session
	pending [][]byte // transmissions of the last batch not yet returned
}

// RawSession opens a session at version v without the client library.
func (t *T) RawSession(v smp.Version) *Raw {
	return t.rawSession(client.Config{Versions: smp.VersionRange{Min: v, Max: v}})
}

func (t *T) rawSession(cfg client.Config) *Raw {
	var d net.Dialer
	conn, err := d.DialContext(t.ctx, "tcp", t.Target.HostPort)
	t.Check(err, "dial")
	sess, err := client.Handshake(t.ctx, conn, t.Target.KeyHash, cfg)
	if err != nil {
		conn.Close()
		t.Failf("handshake: %v", err)
	}
	t.Cleanup(sess)
	return &Raw{t: t, Sess: sess}
}

// Tx encodes an unauthorized transmission of this session.
func (r *Raw) Tx(corrID, entityID []byte, cmd []byte) []byte {
	tx, err := smp.EncodeTransmission(r.Sess.Version, smp.Transmission{SessionID: r.Sess.SessionID, CorrID: corrID, EntityID: entityID, Command: cmd})
	r.t.Check(err, "encode")
	return tx
}

// Read returns the next transmission the relay sends, parsed.
func (r *Raw) Read() (smp.Transmission, smp.Response) {
	if len(r.pending) == 0 {
		type res struct {
			txs [][]byte
			err error
		}
		ch := make(chan res, 1)
		go func() {
			txs, err := r.Sess.ReadTransmissions()
			for i := range txs {
				txs[i] = bytes.Clone(txs[i])
			}
			ch <- res{txs, err}
		}()
		select {
		case x := <-ch:
			if x.err != nil {
				r.t.Failf("read: %v", x.err)
			}
			if len(x.txs) == 0 {
				r.t.Failf("empty batch")
			}
			r.pending = x.txs
		case <-time.After(r.t.wait()):
			r.Sess.Close()
			r.t.Failf("no answer within %v", r.t.wait())
		}
	}
	raw := r.pending[0]
	r.pending = r.pending[1:]
	tx, err := smp.ParseTransmission(r.Sess.Version, raw)
	r.t.Check(err, "relay's transmission")
	rsp, err := smp.ParseResponse(r.Sess.Version, tx.Command)
	r.t.Check(err, "relay's response")
	if !r.t.quiet {
		r.t.Logf("received %s", describe(rsp))
	}
	return tx, rsp
}

// WantErr reads the next transmission and requires ERR e with corrID.
func (r *Raw) WantErr(corrID []byte, e smp.ErrorType) { r.wantErr(corrID, nil, false, e) }

// WantErrFor is WantErr that also requires the entity id (nil: empty).
func (r *Raw) WantErrFor(corrID, entityID []byte, e smp.ErrorType) {
	r.wantErr(corrID, entityID, true, e)
}

func (r *Raw) wantErr(corrID, entityID []byte, checkEntity bool, e smp.ErrorType) {
	tx, rsp := r.Read()
	if checkEntity && !bytes.Equal(tx.EntityID, entityID) {
		r.t.Failf("ERR %s with entity id %x, want %x", e, tx.EntityID, entityID)
	}
	er, ok := rsp.(smp.RspERR)
	if !ok || !er.Err.Equal(e) {
		r.t.Failf("got %s, want ERR %s", describe(rsp), e)
	}
	if !bytes.Equal(tx.CorrID, corrID) {
		r.t.Failf("ERR %s with correlation id %x, want %x", e, tx.CorrID, corrID)
	}
}

// Alive checks the session still answers PING.
func (r *Raw) Alive() {
	corr := []byte("ping-after-bad-input----")
	r.t.Check(r.Sess.WriteTransmissions([][]byte{r.Tx(corr, nil, []byte("PING"))}), "write PING")
	tx, rsp := r.Read()
	if rsp.Tag() != "PONG" || !bytes.Equal(tx.CorrID, corr) {
		r.t.Failf("after bad input, PING got %s", describe(rsp))
	}
}

func corrID() []byte {
	b := make([]byte, 24)
	rand.Read(b)
	return b
}

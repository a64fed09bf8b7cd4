package client

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/transport"
)

// Proxied is a destination relay reached through a sending proxy (spec
// §10): commands sent with Do travel as PFWD to the proxy, which forwards
// them; the proxy sees neither their content nor their queue.
type Proxied struct {
	proxy     *Client
	dest      smp.Server
	SessionID []byte              // the proxy–relay session id from PKEY
	Version   smp.Version         // the version used with the destination
	ServerKey smpcrypto.PublicKey // the destination's session key
}

// ProxyTo asks the relay of c to act as a proxy for dest (PRXY) and checks
// the PKEY answer (SMP-PROXY-3). versions is the range to use with the
// destination (zero: every version).
func (c *Client) ProxyTo(ctx context.Context, dest smp.Server, basicAuth *string, versions smp.VersionRange) (*Proxied, error) {
	rsp, err := c.Do(ctx, Request{Command: smp.CmdPRXY{Server: dest, BasicAuth: basicAuth}})
	if err != nil {
		return nil, err
	}
	pk, ok := rsp.(smp.RspPKEY)
	if !ok {
		return nil, fmt.Errorf("client: PRXY answered %s", rsp.Tag())
	}
	key, err := transport.VerifyCertKey(pk.Key, dest.KeyHash)
	if err != nil {
		return nil, fmt.Errorf("client: PKEY: %w", err)
	}
	if versions == (smp.VersionRange{}) {
		versions = smp.SupportedRange
	}
	vr, ok := pk.Versions.Intersect(versions)
	if !ok {
		return nil, fmt.Errorf("client: PKEY offers %v, client speaks %v", pk.Versions, versions)
	}
	return &Proxied{proxy: c, dest: dest, SessionID: pk.SessionID, Version: vr.Max, ServerKey: key}, nil
}

// Do sends one sender command (SEND, SKEY, LKEY, LGET) to the destination
// through the proxy (SMP-PROXY-4) and returns the destination's response;
// an ERR from the destination is a *ServerError, an ERR from the proxy too
// (with a PROXY error type).
func (p *Proxied) Do(ctx context.Context, req Request) (smp.Response, error) {
	cmdKey, err := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader)
	if err != nil {
		return nil, err
	}
	secret, err := cmdKey.DH(p.ServerKey)
	if err != nil {
		return nil, err
	}
	n := make([]byte, smpcrypto.NonceSize)
	if _, err := io.ReadFull(rand.Reader, n); err != nil {
		return nil, err
	}
	cmd, err := smp.EncodeCommand(p.Version, req.Command)
	if err != nil {
		return nil, err
	}
	t := smp.Transmission{SessionID: p.SessionID, CorrID: n, EntityID: req.EntityID, Command: cmd}
	if req.Key.Alg != 0 {
		auth := smp.Authorized(p.SessionID, n, req.EntityID, cmd)
		if t.Auth, err = smp.Authorize(req.Key, p.ServerKey, n, auth); err != nil {
			return nil, fmt.Errorf("client: authorize %s: %w", req.Command.Tag(), err)
		}
	}
	tx, err := smp.EncodeTransmission(p.Version, t)
	if err != nil {
		return nil, err
	}
	content, err := smp.EncodeBlockContent([][]byte{tx})
	if err != nil {
		return nil, err
	}
	nonce := smpcrypto.NonceFromID(n)
	et, err := smp.SealProxied(secret, nonce, content)
	if err != nil {
		return nil, err
	}
	rsp, err := p.proxy.Do(ctx, Request{CorrID: n, EntityID: p.SessionID,
		Command: smp.CmdPFWD{Version: p.Version, Key: cmdKey.Public(), EncTx: et}})
	if err != nil {
		return nil, err
	}
	pres, ok := rsp.(smp.RspPRES)
	if !ok {
		return nil, fmt.Errorf("client: PFWD answered %s", rsp.Tag())
	}
	inner, err := smp.OpenProxied(secret, nonce.Reversed(), pres.Enc)
	if err != nil {
		return nil, fmt.Errorf("client: PRES: %w", err)
	}
	txs, err := smp.ParseBlockContent(inner)
	if err != nil || len(txs) != 1 {
		return nil, fmt.Errorf("client: PRES holds %d transmissions (%v)", len(txs), err)
	}
	rt, err := smp.ParseTransmission(p.Version, txs[0])
	if err != nil {
		return nil, fmt.Errorf("client: PRES: %w", err)
	}
	r, err := smp.ParseResponse(p.Version, rt.Command)
	if err != nil {
		return nil, fmt.Errorf("client: PRES: %w", err)
	}
	if e, ok := r.(smp.RspERR); ok {
		return nil, &ServerError{Command: req.Command.Tag(), Err: e.Err}
	}
	return r, nil
}

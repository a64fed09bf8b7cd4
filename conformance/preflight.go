package conformance

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/transport"
)

// PreflightTimeout bounds each step of Preflight.
const PreflightTimeout = 4 * time.Second

// Fingerprint writes a relay identity as addresses do: base64url.
func Fingerprint(keyHash []byte) string { return base64.URLEncoding.EncodeToString(keyHash) }

// Preflight checks in a few seconds that target is an SMP relay the run can
// use: TCP, TLS, the relay identity, the server hello, and that NEW is
// accepted with the password given. Its error is one line saying what is
// wrong and what to do, so that a run against the wrong port or without a
// password stops at once instead of failing every case slowly.
func Preflight(ctx context.Context, target Target) error {
	dctx, cancel := context.WithTimeout(ctx, PreflightTimeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(dctx, "tcp", target.HostPort)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %v", target.HostPort, err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(PreflightTimeout))
	var chain [][]byte
	cfg := transport.ClientTLSConfig(target.KeyHash, false, nil)
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		for _, c := range cs.PeerCertificates {
			chain = append(chain, c.Raw)
		}
		return nil
	}
	tc := transport.TLSClient(raw, cfg)
	if err := tc.Handshake(dctx); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("%s accepts TCP but completes no TLS handshake within %v: not an SMP relay", target.HostPort, PreflightTimeout)
		}
		return fmt.Errorf("TLS with %s failed: %v (is it an SMP relay's port?)", target.HostPort, err)
	}
	if len(chain) < 2 {
		return fmt.Errorf("%s presents %d TLS certificate(s); an SMP relay presents its chain with the identity certificate second (SMP-TLS-3)", target.HostPort, len(chain))
	}
	if fp := sha256.Sum256(chain[1]); !bytesEqual(fp[:], target.KeyHash) {
		return fmt.Errorf("wrong relay identity: the relay at %s is %s, the address names %s (check the address's identity part)",
			target.HostPort, Fingerprint(fp[:]), Fingerprint(target.KeyHash))
	}
	b, err := transport.RawSession(tc).ReadBlock()
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("%s completes TLS but sends no SMP server hello within %v: not an SMP relay", target.HostPort, PreflightTimeout)
		}
		return fmt.Errorf("reading the SMP server hello from %s: %v", target.HostPort, err)
	}
	sh, err := smp.ParseServerHello(b)
	if err != nil {
		return fmt.Errorf("%s sent a block that is not an SMP server hello: %v", target.HostPort, err)
	}
	if _, ok := sh.Versions.Intersect(smp.SupportedRange); !ok {
		return fmt.Errorf("%s offers SMP versions %v, none in %v", target.HostPort, sh.Versions, smp.SupportedRange)
	}
	tc.Close()
	return preflightNEW(ctx, target)
}

// preflightNEW creates and deletes one queue, turning ERR AUTH into the hint
// about --password.
func preflightNEW(ctx context.Context, target Target) error {
	ctx, cancel := context.WithTimeout(ctx, 2*PreflightTimeout)
	defer cancel()
	host, port, _ := net.SplitHostPort(target.HostPort)
	cl, err := client.Dial(ctx, smp.Server{Hosts: []string{host}, Port: port, KeyHash: target.KeyHash}, client.Config{PingInterval: -1})
	if err != nil {
		return fmt.Errorf("SMP handshake with %s failed: %v", target.HostPort, err)
	}
	defer cl.Close()
	rk, err := smpcrypto.GenerateKey(smpcrypto.Ed25519, rand.Reader)
	if err != nil {
		return err
	}
	dh, err := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader)
	if err != nil {
		return err
	}
	cmd := smp.CmdNEW{RcvAuthKey: rk.Public(), RcvDHKey: dh.Public(), SubMode: smp.SubModeOnlyCreate}
	if cl.Version() >= smp.VersionSndAuthKey {
		cmd.QueueReq = &smp.QueueReq{Mode: smp.QueueMessaging}
	}
	if target.Password != "" {
		pw := target.Password
		cmd.BasicAuth = &pw
	}
	rsp, err := cl.Do(ctx, client.Request{Key: rk, Command: cmd})
	if err != nil {
		if e, ok := errTypeOf(err); ok && e.Kind == smp.ErrAUTH {
			if target.Password == "" {
				return fmt.Errorf("the relay refuses NEW with ERR AUTH: it needs a password; pass --password P (or put it in the address, smp://IDENTITY:P@host)")
			}
			return fmt.Errorf("the relay refuses NEW with ERR AUTH: the password given with --password (or in the address) is wrong")
		}
		return fmt.Errorf("NEW: %v", err)
	}
	if ids, ok := rsp.(smp.RspIDS); ok {
		cl.Do(ctx, client.Request{Key: rk, EntityID: ids.RcvID, Command: smp.CmdDEL{}})
	}
	return nil
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

package fuzz

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/ratchet"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/wire"
)

// Every parser of the wire format has a target here, seeded from the
// vector files. A target fails on a panic, and where the format allows,
// when a value that parsed does not survive an encode/parse round trip.

func FuzzTransmission(f *testing.F) {
	for _, c := range vectorCases(f, "smp/transmissions.json") {
		if b, ok := hexField(c, "transmission"); ok {
			v, _ := intField(c, "version")
			f.Add(uint16(v), b)
		}
	}
	f.Fuzz(func(t *testing.T, v uint16, data []byte) {
		ver := smp.Version(6 + v%13)
		tx, err := smp.ParseTransmission(ver, data)
		if err != nil {
			if _, ok := smp.ErrorTypeOf(err); !ok {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		smp.AuthKindOf(tx.Auth)
		if len(tx.ServiceSig) > 0 && len(tx.Auth) == 0 {
			t.Fatal("service signature without authorization")
		}
		again, err := smp.EncodeTransmission(ver, tx)
		if err != nil {
			return // e.g. an over-long session id in v6 cannot come back
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("round trip:\n%x\n%x", data, again)
		}
	})
}

func FuzzCommand(f *testing.F) {
	for _, c := range vectorCases(f, "smp/commands.json") {
		if c["kind"] == "command" {
			b, _ := hexField(c, "bytes")
			v, _ := intField(c, "version")
			f.Add(uint16(v), b)
		}
	}
	f.Fuzz(func(t *testing.T, v uint16, data []byte) {
		ver := smp.Version(6 + v%13)
		cmd, err := smp.ParseCommand(ver, data)
		if err != nil {
			e, ok := smp.ErrorTypeOf(err)
			if !ok || (!e.Equal(smp.CMDUnknown) && !e.Equal(smp.CMDSyntax)) {
				t.Fatalf("error %v is not CMD UNKNOWN or CMD SYNTAX", err)
			}
			return
		}
		enc, err := smp.EncodeCommand(ver, cmd)
		if err != nil {
			t.Fatalf("parsed %#v does not encode: %v", cmd, err)
		}
		back, err := smp.ParseCommand(ver, enc)
		if err != nil {
			t.Fatalf("re-encoded command does not parse: %v", err)
		}
		if again, _ := smp.EncodeCommand(ver, back); !bytes.Equal(again, enc) {
			t.Fatalf("encoding is not stable:\n%x\n%x", enc, again)
		}
	})
}

func FuzzResponse(f *testing.F) {
	for _, c := range vectorCases(f, "smp/commands.json") {
		if c["kind"] == "response" {
			b, _ := hexField(c, "bytes")
			v, _ := intField(c, "version")
			f.Add(uint16(v), b)
		}
	}
	f.Fuzz(func(t *testing.T, v uint16, data []byte) {
		ver := smp.Version(6 + v%13)
		rsp, err := smp.ParseResponse(ver, data)
		if err != nil {
			return
		}
		enc, err := smp.EncodeResponse(ver, rsp)
		if err != nil {
			return // parsers are lenient where encoders are strict (NO_QUEUE, NETWORK detail)
		}
		back, err := smp.ParseResponse(ver, enc)
		if err != nil {
			t.Fatalf("re-encoded %s does not parse: %v", rsp.Tag(), err)
		}
		if again, _ := smp.EncodeResponse(ver, back); !bytes.Equal(again, enc) {
			t.Fatalf("encoding is not stable:\n%x\n%x", enc, again)
		}
	})
}

func FuzzBlock(f *testing.F) {
	for _, c := range vectorCases(f, "smp/batch.json") {
		if cs, ok := c["contents"].([]any); ok && len(cs) > 0 {
			if s, ok := cs[0].(string); ok {
				b, _ := hexField(map[string]any{"x": s}, "x")
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		txs, err := smp.ParseBlockContent(content)
		if err != nil {
			return
		}
		again, err := smp.EncodeBlockContent(txs)
		if err != nil || !bytes.Equal(again, content) {
			t.Fatalf("round trip: %v", err)
		}
		if block, err := wire.Pad(content, smp.BlockSize); err == nil {
			if _, err := smp.ParseBlock(block); err != nil {
				t.Fatalf("padded content does not parse: %v", err)
			}
		}
	})
}

func FuzzHello(f *testing.F) {
	for _, c := range vectorCases(f, "smp/hello.json") {
		if b, ok := hexField(c, "bytes"); ok {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if h, err := smp.ParseServerHello(data); err == nil {
			if _, err := smp.EncodeServerHello(h); err != nil {
				t.Fatalf("server hello parsed but does not encode: %v", err)
			}
		}
		if h, err := smp.ParseClientHello(data); err == nil {
			enc, err := smp.EncodeClientHello(h)
			if err != nil {
				t.Fatalf("client hello parsed but does not encode: %v", err)
			}
			if !bytes.HasPrefix(data, enc) {
				t.Fatalf("client hello round trip:\n%x\n%x", data, enc)
			}
		}
		smp.ParseServiceReply(data)
	})
}

func FuzzKeys(f *testing.F) {
	seedBytes(f, "crypto/keys.json", "spki")
	seedBytes(f, "crypto/signed-key.json", "signed", "dh_public")
	f.Fuzz(func(t *testing.T, der []byte) {
		if k, err := smpcrypto.ParseSPKI(der); err == nil && !bytes.Equal(k.SPKI(), der) {
			t.Fatalf("SPKI is not canonical:\n%x\n%x", der, k.SPKI())
		}
		if sk, err := smpcrypto.ParseSignedKey(der); err == nil {
			sk.Verify(sk.Key)
		}
	})
}

func FuzzPadding(f *testing.F) {
	seedBytes(f, "smp/padding.json", "padded")
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := wire.Unpad(p)
		if err != nil {
			return
		}
		again, err := wire.Pad(m, len(p))
		if err != nil || len(again) != len(p) || !bytes.Equal(again[:2+len(m)], p[:2+len(m)]) {
			t.Fatalf("pad(unpad(p)) differs: %v", err)
		}
	})
}

func FuzzAddress(f *testing.F) {
	// The upstream literals seed the legacy queue URI forms, short key
	// hashes, https:// links and contact links with data.
	for _, path := range []string{"smp/uri.json", "graph-chat/links.json", "graph-chat/upstream-literals.json"} {
		for _, c := range vectorCases(f, path) {
			if s, ok := c["text"].(string); ok {
				f.Add(s)
			}
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		if inv, err := agent.ParseInvitation(s); err == nil {
			back, err := agent.ParseInvitation(inv.String())
			if err != nil || back.String() != inv.String() {
				t.Fatalf("invitation %q prints as %q, which does not parse back: %v", s, inv.String(), err)
			}
		}
		if ct, err := agent.ParseContact(s); err == nil {
			back, err := agent.ParseContact(ct.String())
			if err != nil || back.String() != ct.String() {
				t.Fatalf("contact %q prints as %q, which does not parse back: %v", s, ct.String(), err)
			}
		}
		if l, err := agent.ParseShortLink(s); err == nil {
			back, err := agent.ParseShortLink(l.String())
			if err != nil || back.String() != l.String() {
				t.Fatalf("short link %q prints as %q, which does not parse back: %v", s, l.String(), err)
			}
		}
		if sa, err := smp.ParseServerWithAuth(s); err == nil {
			back, err := smp.ParseServerWithAuth(sa.String())
			if err != nil || back.String() != sa.String() {
				t.Fatalf("%q prints as %q, which parses to %q (%v)", s, sa.String(), back.String(), err)
			}
			b := wire.NewBuilder(nil)
			sa.Server.AppendBinary(b)
			if bin, err := b.Bytes(); err == nil {
				p := wire.NewParser(bin)
				if got := smp.ParseServerBinary(p); p.Finish() != nil || got.String() != sa.Server.String() {
					t.Fatalf("binary form of %q does not parse back", s)
				}
			}
		}
		if q, err := smp.ParseQueueURI(s); err == nil {
			back, err := smp.ParseQueueURI(q.String())
			if err != nil || back.String() != q.String() {
				t.Fatalf("%q prints as %q, which does not parse back (%v)", s, q.String(), err)
			}
		}
	})
}

func FuzzMessageBody(f *testing.F) {
	seedBytes(f, "smp/msg-body.json", "plaintext", "bytes")
	f.Fuzz(func(t *testing.T, data []byte) {
		if m, err := smp.ParseRcvMessageBody(data); err == nil {
			b := wire.NewBuilder(nil)
			smp.AppendRcvMessageBody(b, m)
			enc, err := b.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			back, err := smp.ParseRcvMessageBody(enc)
			if err != nil || back.Timestamp != m.Timestamp || back.Quota != m.Quota || !bytes.Equal(back.Body, m.Body) {
				t.Fatalf("message body round trip: %v", err)
			}
		}
		if e, err := smp.ParseClientMsgEnvelope(data); err == nil {
			if _, err := smp.EncodeClientMsgEnvelope(e); err != nil {
				t.Fatalf("envelope parsed but does not encode: %v", err)
			}
		}
		if fw, err := smp.ParseFwdTransmission(data); err == nil {
			if _, err := smp.EncodeFwdTransmission(fw); err != nil {
				t.Fatalf("forwarded transmission parsed but does not encode: %v", err)
			}
		}
		smp.ParseFwdResponse(data)
	})
}

func FuzzPrimitives(f *testing.F) {
	seedBytes(f, "smp/primitives.json", "bytes")
	f.Fuzz(func(t *testing.T, data []byte) {
		p := wire.NewParser(data)
		p.Word16()
		p.Maybe()
		p.Bool()
		p.Short()
		p.Large()
		smp.ParseVersionRange(p)
		n := p.Count(false)
		for i := 0; i < n && p.Err() == nil; i++ {
			p.Short()
		}
		p.Int64()
		p.Tail()
		p.Finish()
	})
}

func FuzzRatchet(f *testing.F) {
	for _, c := range vectorCases(f, "graph-chat/ratchet.json") {
		for _, k := range []string{"initiator_params", "joiner_params"} {
			if b, ok := hexField(c, k); ok {
				f.Add(b)
			}
		}
		if ms, ok := c["messages"].([]any); ok {
			for _, m := range ms[:4] {
				if b, ok := hexField(m.(map[string]any), "ciphertext"); ok {
					f.Add(b)
				}
			}
		}
	}
	joiner, initiator := ratchetPair(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := wire.NewParser(data)
		ratchet.ParseParams(p)
		p.Finish()
		for _, s := range []*ratchet.State{joiner, initiator} {
			before := *s
			if _, err := s.Decrypt(rand.Reader, ratchet.Skipped{}, data); err == nil {
				t.Fatal("random input decrypted")
			}
			if s.Nr != before.Nr || !bytes.Equal(s.RK, before.RK) {
				t.Fatal("a failed decryption changed the state")
			}
		}
	})
}

func ratchetPair(tb testing.TB) (*ratchet.State, *ratchet.State) {
	key := func() smpcrypto.PrivateKey {
		k, err := smpcrypto.GenerateKey(smpcrypto.X448, rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		return k
	}
	i1, i2, j1, j2 := key(), key(), key(), key()
	ip := ratchet.Params{Version: ratchet.VersionPQ, Key1: i1.Public(), Key2: i2.Public()}
	jp := ratchet.Params{Version: ratchet.VersionPQ, Key1: j1.Public(), Key2: j2.Public()}
	ji, err := ratchet.X3DHJoin(j1, j2, ip)
	if err != nil {
		tb.Fatal(err)
	}
	ii, err := ratchet.X3DHInit(i1, i2, jp)
	if err != nil {
		tb.Fatal(err)
	}
	j, err := ratchet.InitJoin(ratchet.VersionPQ, ratchet.VersionMax, ip.Key2, key(), ji)
	if err != nil {
		tb.Fatal(err)
	}
	// Give the initiator a receiving chain so that both paths are fuzzed.
	first, _ := j.Encrypt([]byte("hello"), 100)
	i := ratchet.InitInitiator(ratchet.VersionPQ, ratchet.VersionMax, i2, ii)
	if _, err := i.Decrypt(rand.Reader, ratchet.Skipped{}, first); err != nil {
		tb.Fatal(err)
	}
	return j, i
}

func FuzzAgentEnvelope(f *testing.F) {
	seedBytes(f, "graph-chat/envelopes.json", "bytes")
	f.Fuzz(func(t *testing.T, data []byte) {
		if e, err := agent.ParseEnvelope(data); err == nil {
			enc, err := agent.EncodeEnvelope(e)
			if err != nil {
				t.Fatalf("envelope parsed but does not encode: %v", err)
			}
			if _, err := agent.ParseEnvelope(enc); err != nil {
				t.Fatalf("re-encoded envelope does not parse: %v", err)
			}
		}
		if m, err := agent.ParseAgentMessage(data); err == nil {
			if _, err := agent.EncodeAgentMessage(m); err != nil {
				t.Fatalf("agent message parsed but does not encode: %v", err)
			}
		}
	})
}

// FuzzBlockingInfo: the blocking info of ERR BLOCKED and of the control
// port's block command, seeded from the BLOCKED vectors. What parses
// encodes (at v18, notice included) to text that parses to the same value.
func FuzzBlockingInfo(f *testing.F) {
	for _, c := range vectorCases(f, "smp/commands.json") {
		b, _ := hexField(c, "bytes")
		if info, ok := bytes.CutPrefix(b, []byte("ERR BLOCKED ")); ok {
			f.Add(info)
		}
	}
	for _, s := range []string{`reason=content,notice={}`, `reason=spam,notice={"ttl":null}`, `reason=spam,notice= {"ttl":3.6e3} `,
		`reason=spam,notice={"TTL":1}`, `reason=spam,notice={"ttl":1e1025}`, `reason=spam,notice=null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		bi, err := smp.ParseBlockingInfo(data)
		if err != nil {
			return
		}
		b := wire.NewBuilder(nil)
		smp.AppendErrorType(b, smp.VersionClientNotices, smp.ErrorType{Kind: smp.ErrBLOCKED, Blocked: bi})
		enc, err := b.Bytes()
		if err != nil {
			t.Fatalf("%q parsed but does not encode: %v", data, err)
		}
		info, _ := bytes.CutPrefix(enc, []byte("BLOCKED "))
		back, err := smp.ParseBlockingInfo(info)
		if err != nil {
			t.Fatalf("re-encoded %q does not parse: %v", info, err)
		}
		e1 := smp.ErrorType{Kind: smp.ErrBLOCKED, Blocked: bi}
		if !e1.Equal(smp.ErrorType{Kind: smp.ErrBLOCKED, Blocked: back}) {
			t.Fatalf("%q and %q differ", data, info)
		}
	})
}

package vectors

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
)

func init() {
	Register(Topic{Path: "smp/transmissions.json", Generate: genTransmissions, Verify: verifyTransmissions})
	Register(Topic{Path: "smp/batch.json", Generate: genBatch, Verify: verifyBatch})
	Register(Topic{Path: "smp/block-chain.json", Generate: genChain, Verify: verifyChain})
}

type txCase struct {
	Case
	SessionID Hex    `json:"session_id"`
	AuthAlg   string `json:"auth_alg"` // none | ed25519 | ed448 | x25519
	AuthSeed  Hex    `json:"auth_seed,omitempty"`
	// ServerPrivate is the relay's session key, for x25519 authenticators.
	ServerPrivate Hex `json:"server_private,omitempty"`
	// ServiceSeed and ServiceFingerprint are set for a service signature.
	ServiceSeed        Hex `json:"service_seed,omitempty"`
	ServiceFingerprint Hex `json:"service_fingerprint,omitempty"`
	CorrID             Hex `json:"corr_id"`
	EntityID           Hex `json:"entity_id"`
	Command            Hex `json:"command"`
	// SignedBytes is what the entity key authorizes.
	SignedBytes  Hex `json:"signed_bytes,omitempty"`
	Auth         Hex `json:"auth,omitempty"`
	ServiceSig   Hex `json:"service_sig,omitempty"`
	Transmission Hex `json:"transmission"`
}

func genTransmissions() (any, error) {
	f := File[txCase]{
		Topic: "Transmissions and their authorization",
		Description: "signed_bytes = short(session_id) ‖ short(corr_id) ‖ short(entity_id) ‖ command in every version " +
			"(SMP-AUTH-1); with a service signature the entity key signs service_fingerprint ‖ signed_bytes and the service " +
			"key signs signed_bytes (SMP-AUTH-4). auth is the Ed25519/Ed448 signature by auth_seed, or the X25519 " +
			"authenticator of auth_seed (a scalar) towards the public key of server_private with nonce corr_id. " +
			"transmission is the on-wire layout of version (SMP-TX-1, TX-2). Valid: rebuild transmission from the fields " +
			"and parse it back. Invalid: the transmission must be rejected with error.",
		Spec: "spec/smp.md §4.4, §4.5",
	}
	sess := RandBytes("tx session", 32)
	server, _ := keyFor(smpcrypto.X25519, "tx server")
	svc, _ := keyFor(smpcrypto.Ed25519, "tx service")
	fp := sha256.Sum256([]byte("tx service identity certificate"))
	type spec struct {
		id      string
		v       smp.Version
		alg     string
		service bool
		cmd     string
	}
	for i, s := range []spec{
		{"v6-unsigned", 6, "none", false, "PING"},
		{"v6-ed25519", 6, "ed25519", false, "SUB"},
		{"v7-ed25519", 7, "ed25519", false, "SUB"},
		{"v10-ed448", 10, "ed448", false, "ACK \x18" + string(RandBytes("tx msg id", 24))},
		{"v11-x25519", 11, "x25519", false, "SEND F hello"},
		{"v15-unsigned-send", 15, "none", false, "SEND T hello"},
		{"v16-ed25519", 16, "ed25519", false, "SUB"},
		{"v16-unsigned", 16, "none", false, "PING"},
		{"v16-service", 16, "ed25519", true, "NSUB"},
		{"v18-x25519-service", 18, "x25519", true, "SUB"},
	} {
		c := txCase{Case: Case{ID: s.id, Spec: "SMP-TX-1", Valid: true, Version: int(s.v)}, SessionID: sess, AuthAlg: s.alg,
			CorrID: RandBytes(fmt.Sprint("tx corr ", i), 24), EntityID: RandBytes(fmt.Sprint("tx entity ", i), 24), Command: []byte(s.cmd)}
		if s.cmd == "PING" {
			c.EntityID = Hex{}
		}
		if err := fillTx(&c, server, svc, fp[:], s.service); err != nil {
			return nil, fmt.Errorf("%s: %w", s.id, err)
		}
		f.Cases = append(f.Cases, c)
	}
	// Invalid transmissions.
	good := f.Cases[2] // v7 signed
	badAuthLen, err := smp.EncodeTransmission(7, smp.Transmission{Auth: good.Auth[:10], CorrID: good.CorrID, EntityID: good.EntityID, Command: good.Command})
	if err != nil {
		return nil, err
	}
	v16 := f.Cases[6]
	badMaybe := bytes.Clone(v16.Transmission)
	badMaybe[65] = '2' // the service-signature Maybe after a 64-byte signature
	v6 := f.Cases[1]
	otherSess := bytes.Clone(v6.Transmission)
	otherSess[66] ^= 0xff // first byte of the session id after short(sig) and its length
	for _, b := range []struct {
		id, spec, err string
		v             int
		tx            []byte
	}{
		{"auth-length-10", "SMP-AUTH-3", "BLOCK", 7, badAuthLen},
		{"truncated", "SMP-TX-5", "BLOCK", 7, good.Transmission[:70]},
		{"empty", "SMP-TX-5", "BLOCK", 7, nil},
		{"v16-bad-service-maybe", "SMP-TX-2", "BLOCK", 16, badMaybe},
		{"v6-other-session", "SMP-TX-4", "SESSION", 6, otherSess},
	} {
		f.Cases = append(f.Cases, txCase{Case: Case{ID: b.id, Spec: b.spec, Error: b.err, Version: b.v}, SessionID: sess, AuthAlg: "none",
			CorrID: Hex{}, EntityID: Hex{}, Command: Hex{}, Transmission: b.tx})
	}
	return f, nil
}

// fillTx computes the authorization and the transmission of a case.
func fillTx(c *txCase, server smpcrypto.PrivateKey, svc smpcrypto.PrivateKey, fp []byte, service bool) error {
	v := smp.Version(c.Version)
	signed := smp.Authorized(c.SessionID, c.CorrID, c.EntityID, c.Command)
	t := smp.Transmission{SessionID: c.SessionID, CorrID: c.CorrID, EntityID: c.EntityID, Command: c.Command}
	if c.AuthAlg != "none" {
		alg, err := smpcrypto.ParseAlg(c.AuthAlg)
		if err != nil {
			return err
		}
		k, err := keyFor(alg, "tx key "+c.ID)
		if err != nil {
			return err
		}
		c.AuthSeed = k.Raw
		c.SignedBytes = signed
		entityMsg := signed
		if service {
			c.ServiceSeed, c.ServiceFingerprint = svc.Raw, fp
			if t.ServiceSig, err = svc.Sign(signed); err != nil {
				return err
			}
			c.ServiceSig = t.ServiceSig
			entityMsg = smp.ServiceAuthorized(fp, signed)
		}
		if alg == smpcrypto.X25519 {
			c.ServerPrivate = server.Raw
		}
		if t.Auth, err = smp.Authorize(k, server.Public(), c.CorrID, entityMsg); err != nil {
			return err
		}
		c.Auth = t.Auth
	}
	tx, err := smp.EncodeTransmission(v, t)
	c.Transmission = tx
	return err
}

func verifyTransmissions(data []byte) error {
	return Check(data, func(c txCase) string { return c.ID }, func(c txCase) error {
		v := smp.Version(c.Version)
		t, err := smp.ParseTransmission(v, c.Transmission)
		if err == nil {
			err = t.CheckSession(v, c.SessionID)
		}
		if err == nil {
			_, err = smp.AuthKindOf(t.Auth)
		}
		if !c.Valid {
			e, _ := smp.ErrorTypeOf(err)
			if err == nil || e.String() != c.Error {
				return fmt.Errorf("got %v, want %s", err, c.Error)
			}
			return nil
		}
		if err != nil {
			return err
		}
		if !bytes.Equal(t.CorrID, c.CorrID) || !bytes.Equal(t.EntityID, c.EntityID) || !bytes.Equal(t.Command, c.Command) ||
			!bytes.Equal(t.Auth, c.Auth) || !bytes.Equal(t.ServiceSig, c.ServiceSig) {
			return errors.New("parsed fields differ")
		}
		if c.AuthAlg == "none" {
			return nil
		}
		signed := t.AuthorizedBytes(c.SessionID)
		if !bytes.Equal(signed, c.SignedBytes) {
			return errors.New("signed bytes differ")
		}
		alg, _ := smpcrypto.ParseAlg(c.AuthAlg)
		k, err := smpcrypto.NewPrivateKey(alg, c.AuthSeed)
		if err != nil {
			return err
		}
		entityMsg := signed
		if c.ServiceSeed != nil {
			svc, err := smpcrypto.NewPrivateKey(smpcrypto.Ed25519, c.ServiceSeed)
			if err != nil {
				return err
			}
			if !smpcrypto.Verify(svc.Public(), signed, t.ServiceSig) {
				return errors.New("service signature does not verify")
			}
			entityMsg = smp.ServiceAuthorized(c.ServiceFingerprint, signed)
		}
		var server smpcrypto.PrivateKey
		if c.ServerPrivate != nil {
			if server, err = smpcrypto.NewPrivateKey(smpcrypto.X25519, c.ServerPrivate); err != nil {
				return err
			}
		}
		if !smp.VerifyAuth(k.Public(), server, t.Auth, t.CorrID, entityMsg) {
			return errors.New("authorization does not verify")
		}
		again, err := smp.EncodeTransmission(v, t)
		if err != nil || !bytes.Equal(again, c.Transmission) {
			return errors.New("re-encoding differs")
		}
		return nil
	})
}

type batchCase struct {
	Case
	Transmissions []Hex `json:"transmissions,omitempty"`
	// Contents are the block contents a sender packs them into
	// (SMP-BATCH-2, filled from the end like the reference client).
	Contents []Hex `json:"contents,omitempty"`
	// Block is the first content padded to a block, where given.
	Block Hex `json:"block,omitempty"`
}

func genBatch() (any, error) {
	f := File[batchCase]{
		Topic: "Batches and blocks",
		Description: "A block content is a count byte and that many large strings (SMP-BATCH-1). Valid: parsing each " +
			"content and concatenating gives transmissions; packing transmissions gives contents (block-filling order is " +
			"not normative: receivers accept any split within the budget of 16365 bytes, SMP-BATCH-2). block is " +
			"pad(contents[0], 16384). Invalid: the content must be rejected with ERR BLOCK.",
		Spec: "spec/smp.md §4.1, §4.2",
	}
	tx := func(i, n int) []byte { return RandBytes(fmt.Sprint("batch tx ", i), n) }
	sets := []struct {
		id    string
		sizes []int
	}{
		{"one", []int{40}},
		{"three", []int{40, 100, 7}},
		{"exact-budget", []int{16363}},
		{"two-blocks", []int{10000, 10000}},
		{"many-small", func() []int {
			s := make([]int, 300)
			for i := range s {
				s[i] = 5
			}
			return s
		}()},
	}
	for _, s := range sets {
		var txs [][]byte
		for i, n := range s.sizes {
			txs = append(txs, tx(i, n))
		}
		contents, err := smp.Batch(txs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.id, err)
		}
		c := batchCase{Case: Case{ID: s.id, Spec: "SMP-BATCH-2", Valid: true}, Transmissions: hexList(txs), Contents: hexList(contents)}
		if s.id == "three" {
			if c.Block, err = smp.EncodeBlock(contents[0]); err != nil {
				return nil, err
			}
		}
		f.Cases = append(f.Cases, c)
	}
	for _, b := range []struct {
		id, comment string
		content     []byte
	}{
		{"count-zero", "N = 0", []byte{0}},
		{"truncated-item", "the item claims 5 bytes, 2 follow", []byte{1, 0, 5, 'a', 'b'}},
		{"missing-item", "N = 2, one item", []byte{2, 0, 1, 'a'}},
		{"trailing-bytes", "bytes after the N-th item", []byte{1, 0, 1, 'a', 'x'}},
		{"empty", "no count byte", []byte{}},
	} {
		f.Cases = append(f.Cases, batchCase{Case: Case{ID: b.id, Spec: "SMP-BATCH-1", Error: "BLOCK", Comment: b.comment}, Contents: []Hex{b.content}})
	}
	return f, nil
}

func verifyBatch(data []byte) error {
	return Check(data, func(c batchCase) string { return c.ID }, func(c batchCase) error {
		if !c.Valid {
			if _, err := smp.ParseBlockContent(c.Contents[0]); err == nil {
				return errors.New("parsed")
			}
			return nil
		}
		var all [][]byte
		for _, content := range c.Contents {
			if len(content) > smp.BatchBudget+1 {
				return fmt.Errorf("content of %d bytes exceeds the budget", len(content))
			}
			txs, err := smp.ParseBlockContent(content)
			if err != nil {
				return err
			}
			all = append(all, txs...)
		}
		if len(all) != len(c.Transmissions) {
			return fmt.Errorf("%d transmissions, want %d", len(all), len(c.Transmissions))
		}
		for i := range all {
			if !bytes.Equal(all[i], c.Transmissions[i]) {
				return fmt.Errorf("transmission %d differs", i)
			}
		}
		var txs [][]byte
		for _, t := range c.Transmissions {
			txs = append(txs, t)
		}
		packed, err := smp.Batch(txs)
		if err != nil || len(packed) != len(c.Contents) {
			return fmt.Errorf("packing: %d contents, %v", len(packed), err)
		}
		for i := range packed {
			if !bytes.Equal(packed[i], c.Contents[i]) {
				return fmt.Errorf("content %d differs", i)
			}
		}
		if c.Block != nil {
			got, err := smp.ParseBlock(c.Block)
			if err != nil || len(got) != len(txs) || len(c.Block) != smp.BlockSize {
				return fmt.Errorf("block: %v", err)
			}
		}
		return nil
	})
}

type chainStep struct {
	ChainKey Hex `json:"chain_key"` // before the step
	Key      Hex `json:"key"`
	Nonce    Hex `json:"nonce"`
	// Content and Block: a block content sent with this step's key and
	// nonce: box(key, nonce, pad(content, 16368)) (SMP-CHAIN-3).
	Content Hex `json:"content,omitempty"`
	Block   Hex `json:"block,omitempty"`
}

type chainCase struct {
	Case
	ClientPrivate Hex         `json:"client_private"`
	RelayPrivate  Hex         `json:"relay_private"`
	SessionID     Hex         `json:"session_id"`
	Secret        Hex         `json:"secret"`
	CK1           Hex         `json:"ck1"`
	CK2           Hex         `json:"ck2"`
	RelaySends    []chainStep `json:"relay_sends"`  // chain ck1
	ClientSends   []chainStep `json:"client_sends"` // chain ck2
}

func genChain() (any, error) {
	f := File[chainCase]{
		Topic: "Block encryption key chains (v ≥ 11)",
		Description: "secret = X25519(client_private, relay public) = X25519(relay_private, client public); ck1 ‖ ck2 = " +
			"HKDF-SHA512(salt = session_id, ikm = secret, info = \"SimpleXSbChainInit\", 64 bytes) (SMP-CHAIN-1). Each step: " +
			"HKDF-SHA512(salt = empty, ikm = chain_key, info = \"SimpleXSbChain\", 88) = next chain key ‖ key ‖ nonce " +
			"(SMP-CHAIN-2). The relay sends with ck1, the client with ck2. Each step's block is 16384 bytes " +
			"(SMP-CHAIN-3, SMP-BLOCK-1); the first blocks after the handshake use the first steps.",
		Spec: "spec/smp.md §4.3",
	}
	for i := range 2 {
		cl, _ := keyFor(smpcrypto.X25519, fmt.Sprint("chain client ", i))
		rl, _ := keyFor(smpcrypto.X25519, fmt.Sprint("chain relay ", i))
		secret, err := cl.DH(rl.Public())
		if err != nil {
			return nil, err
		}
		sess := RandBytes(fmt.Sprint("chain session ", i), 32)
		ck1, ck2 := smpcrypto.ChainInit(sess, secret)
		c := chainCase{Case: Case{ID: fmt.Sprint("session-", i), Spec: "SMP-CHAIN-1", Valid: true, Version: 11},
			ClientPrivate: cl.Raw, RelayPrivate: rl.Raw, SessionID: sess, Secret: secret, CK1: ck1[:], CK2: ck2[:]}
		steps := func(ck smpcrypto.ChainKey, who string) ([]chainStep, error) {
			var out []chainStep
			for s := range 4 {
				next, key, nonce := ck.Step()
				st := chainStep{ChainKey: bytes.Clone(ck[:]), Key: key[:], Nonce: nonce[:]}
				if s < 2 && i == 0 {
					content, err := smp.EncodeBlockContent([][]byte{[]byte(fmt.Sprintf("%s block %d", who, s))})
					if err != nil {
						return nil, err
					}
					blk, err := smpcrypto.SealPadded(key[:], nonce, content, smp.BlockSize-smpcrypto.TagSize)
					if err != nil {
						return nil, err
					}
					st.Content, st.Block = content, blk
				}
				out = append(out, st)
				ck = next
			}
			return out, nil
		}
		if c.RelaySends, err = steps(ck1, "relay"); err != nil {
			return nil, err
		}
		if c.ClientSends, err = steps(ck2, "client"); err != nil {
			return nil, err
		}
		f.Cases = append(f.Cases, c)
	}
	return f, nil
}

func verifyChain(data []byte) error {
	return Check(data, func(c chainCase) string { return c.ID }, func(c chainCase) error {
		cl, err := smpcrypto.NewPrivateKey(smpcrypto.X25519, c.ClientPrivate)
		if err != nil {
			return err
		}
		rl, err := smpcrypto.NewPrivateKey(smpcrypto.X25519, c.RelayPrivate)
		if err != nil {
			return err
		}
		s1, err1 := cl.DH(rl.Public())
		s2, err2 := rl.DH(cl.Public())
		if err1 != nil || err2 != nil || !bytes.Equal(s1, c.Secret) || !bytes.Equal(s2, c.Secret) {
			return errors.New("secret differs")
		}
		ck1, ck2 := smpcrypto.ChainInit(c.SessionID, c.Secret)
		if !bytes.Equal(ck1[:], c.CK1) || !bytes.Equal(ck2[:], c.CK2) {
			return errors.New("chain keys differ")
		}
		for _, dir := range []struct {
			ck    smpcrypto.ChainKey
			steps []chainStep
		}{{ck1, c.RelaySends}, {ck2, c.ClientSends}} {
			ck := dir.ck
			for i, st := range dir.steps {
				if !bytes.Equal(ck[:], st.ChainKey) {
					return fmt.Errorf("step %d: chain key differs", i)
				}
				next, key, nonce := ck.Step()
				if !bytes.Equal(key[:], st.Key) || !bytes.Equal(nonce[:], st.Nonce) {
					return fmt.Errorf("step %d: key or nonce differs", i)
				}
				if st.Block != nil {
					got, err := smpcrypto.OpenPadded(key[:], nonce, st.Block)
					if err != nil || !bytes.Equal(got, st.Content) || len(st.Block) != smp.BlockSize {
						return fmt.Errorf("step %d: block does not open to content (%v)", i, err)
					}
				}
				ck = next
			}
		}
		return nil
	})
}

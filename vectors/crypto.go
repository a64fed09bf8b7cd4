package vectors

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
)

func init() {
	Register(Topic{Path: "crypto/keys.json", Generate: genKeys, Verify: verifyKeys})
	Register(Topic{Path: "crypto/cbox.json", Generate: genCbox, Verify: verifyCbox})
	Register(Topic{Path: "crypto/sbox.json", Generate: genSbox, Verify: verifySbox})
	Register(Topic{Path: "crypto/authenticator.json", Generate: genAuthenticator, Verify: verifyAuthenticator})
	Register(Topic{Path: "crypto/signed-key.json", Generate: genSignedKey, Verify: verifySignedKey})
}

// keyFor derives a private key of alg from a label.
func keyFor(alg smpcrypto.Alg, label string) (smpcrypto.PrivateKey, error) {
	return smpcrypto.GenerateKey(alg, Rand(label))
}

type keyCase struct {
	Case
	Alg     string `json:"alg"`
	Private Hex    `json:"private,omitempty"` // seed (EdDSA) or scalar (X25519/X448)
	Raw     Hex    `json:"raw,omitempty"`     // the raw public key
	SPKI    Hex    `json:"spki"`
}

func genKeys() (any, error) {
	f := File[keyCase]{
		Topic: "Public keys as X.509 SubjectPublicKeyInfo",
		Description: "Valid: the public key of private is raw, and spki is its DER SubjectPublicKeyInfo (RFC 8410); " +
			"parsing spki gives alg and raw. Invalid: spki must be rejected (a relay answers CMD SYNTAX for it inside a command).",
		Spec: "spec/smp.md §3.1",
	}
	for _, alg := range []smpcrypto.Alg{smpcrypto.Ed25519, smpcrypto.X25519, smpcrypto.Ed448, smpcrypto.X448} {
		for i := range 2 {
			k, err := keyFor(alg, fmt.Sprintf("keys %s %d", alg, i))
			if err != nil {
				return nil, err
			}
			pub := k.Public()
			f.Cases = append(f.Cases, keyCase{Case: Case{ID: fmt.Sprintf("%s-%d", alg, i), Spec: "SMP-KEY-1", Valid: true},
				Alg: alg.String(), Private: k.Raw, Raw: pub.Raw, SPKI: pub.SPKI()})
		}
	}
	ed := f.Cases[0].SPKI
	wrongLen := bytes.Clone(ed)
	wrongLen[1]-- // the outer SEQUENCE claims one byte less than follows
	bad := []struct {
		id, comment string
		b           []byte
	}{
		{"trailing-byte", "a byte after the SPKI", append(bytes.Clone(ed), 0)},
		{"truncated", "the key is one byte short", ed[:len(ed)-1]},
		{"length-mismatch", "the outer length claims a shorter object", wrongLen},
		{"unknown-oid", "OID 1.3.101.114 is not a key type of SMP", func() []byte { b := bytes.Clone(ed); b[8] = 0x72; return b }()},
		{"not-der", "random bytes", RandBytes("keys not der", 44)},
		{"rsa-like", "a SEQUENCE with an RSA OID", []byte{0x30, 0x0d, 0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01}},
	}
	for _, c := range bad {
		f.Cases = append(f.Cases, keyCase{Case: Case{ID: c.id, Spec: "SMP-KEY-2", Error: "CMD SYNTAX", Comment: c.comment}, SPKI: c.b})
	}
	return f, nil
}

func verifyKeys(data []byte) error {
	return Check(data, func(c keyCase) string { return c.ID }, func(c keyCase) error {
		k, err := smpcrypto.ParseSPKI(c.SPKI)
		if !c.Valid {
			if err == nil {
				return fmt.Errorf("parsed as %s", k.Alg)
			}
			return nil
		}
		if err != nil {
			return err
		}
		alg, err := smpcrypto.ParseAlg(c.Alg)
		if err != nil {
			return err
		}
		priv, err := smpcrypto.NewPrivateKey(alg, c.Private)
		if err != nil {
			return err
		}
		if k.Alg != alg || !bytes.Equal(k.Raw, c.Raw) || !bytes.Equal(priv.Public().Raw, c.Raw) || !bytes.Equal(priv.Public().SPKI(), c.SPKI) {
			return errors.New("key mismatch")
		}
		return nil
	})
}

type cboxCase struct {
	Case
	Private    Hex `json:"private"`
	Public     Hex `json:"public"`
	Secret     Hex `json:"secret"`
	Nonce      Hex `json:"nonce"`
	Plaintext  Hex `json:"plaintext"`
	PadTo      int `json:"pad_to,omitempty"`
	Ciphertext Hex `json:"ciphertext"`
}

func genCbox() (any, error) {
	f := File[cboxCase]{
		Topic: "crypto_box with X25519",
		Description: "secret = X25519(private, public) (raw scalars and keys, 32 bytes); ciphertext = 16-byte Poly1305 tag ‖ " +
			"XSalsa20 of the plaintext, keyed with HSalsa20(secret, 16 zero bytes) (NaCl crypto_box_beforenm), under nonce. " +
			"With pad_to the plaintext is first padded to pad_to bytes (SMP-PAD-1). Invalid: opening must fail.",
		Spec: "spec/smp.md §3.3",
	}
	a, _ := keyFor(smpcrypto.X25519, "cbox a")
	b, _ := keyFor(smpcrypto.X25519, "cbox b")
	secret, err := a.DH(b.Public())
	if err != nil {
		return nil, err
	}
	for i, c := range []struct {
		pt  []byte
		pad int
	}{{[]byte("hello"), 0}, {nil, 0}, {RandBytes("cbox long", 300), 0}, {[]byte("padded"), 64}, {RandBytes("cbox msg", 100), smp.MsgBodyPadded}} {
		n := smpcrypto.NonceFromID(RandBytes(fmt.Sprint("cbox nonce ", i), 24))
		var ct []byte
		if c.pad > 0 {
			ct, err = smpcrypto.SealPadded(secret, n, c.pt, c.pad)
		} else {
			ct, err = smpcrypto.Seal(secret, n, c.pt)
		}
		if err != nil {
			return nil, err
		}
		f.Cases = append(f.Cases, cboxCase{Case: Case{ID: fmt.Sprintf("box-%d", i), Spec: "SMP-BOX-1", Valid: true},
			Private: a.Raw, Public: b.Public().Raw, Secret: secret, Nonce: n[:], Plaintext: c.pt, PadTo: c.pad, Ciphertext: ct})
	}
	bad := f.Cases[0]
	bad.Case = Case{ID: "tampered", Spec: "SMP-BOX-1", Error: "decrypt", Comment: "one bit of the ciphertext flipped"}
	bad.Ciphertext = bytes.Clone(bad.Ciphertext)
	bad.Ciphertext[len(bad.Ciphertext)-1] ^= 1
	f.Cases = append(f.Cases, bad)
	return f, nil
}

func verifyCbox(data []byte) error {
	return Check(data, func(c cboxCase) string { return c.ID }, func(c cboxCase) error {
		priv, err := smpcrypto.NewPrivateKey(smpcrypto.X25519, c.Private)
		if err != nil {
			return err
		}
		pub, err := smpcrypto.NewPublicKey(smpcrypto.X25519, c.Public)
		if err != nil {
			return err
		}
		secret, err := priv.DH(pub)
		if err != nil || !bytes.Equal(secret, c.Secret) {
			return fmt.Errorf("secret %x, %v", secret, err)
		}
		return checkBox(c.Case, secret, c.Nonce, c.Plaintext, c.PadTo, c.Ciphertext)
	})
}

func checkBox(c Case, key, nonce, pt []byte, pad int, ct []byte) error {
	n := smpcrypto.NonceFromID(nonce)
	open := smpcrypto.Open
	if pad > 0 {
		open = smpcrypto.OpenPadded
	}
	got, err := open(key, n, ct)
	if !c.Valid {
		if err == nil {
			return errors.New("opened")
		}
		return nil
	}
	if err != nil || !bytes.Equal(got, pt) {
		return fmt.Errorf("open: %x, %v", got, err)
	}
	var again []byte
	if pad > 0 {
		again, err = smpcrypto.SealPadded(key, n, pt, pad)
	} else {
		again, err = smpcrypto.Seal(key, n, pt)
	}
	if err != nil || !bytes.Equal(again, ct) {
		return errors.New("seal differs")
	}
	return nil
}

type sboxCase struct {
	Case
	Key        Hex `json:"key"`
	Nonce      Hex `json:"nonce"`
	Plaintext  Hex `json:"plaintext"`
	PadTo      int `json:"pad_to,omitempty"`
	Ciphertext Hex `json:"ciphertext"`
}

func genSbox() (any, error) {
	f := File[sboxCase]{
		Topic: "Symmetric secretbox with the HSalsa20 pre-hashed key (block encryption)",
		Description: "ciphertext = tag ‖ XSalsa20-Poly1305 of pad(plaintext, pad_to) keyed with HSalsa20(key, 16 zero bytes) — " +
			"not the plain NaCl secretbox, whose key is used directly (SMP-BOX-2). Blocks use pad_to 16368 (SMP-CHAIN-3).",
		Spec: "spec/smp.md §3.3, §4.3",
	}
	for i, c := range []struct {
		pt  []byte
		pad int
	}{{[]byte("block content"), 64}, {RandBytes("sbox block", 200), 16368}, {[]byte("unpadded"), 0}} {
		key := RandBytes(fmt.Sprint("sbox key ", i), 32)
		n := RandBytes(fmt.Sprint("sbox nonce ", i), 24)
		var ct []byte
		var err error
		if c.pad > 0 {
			ct, err = smpcrypto.SealPadded(key, smpcrypto.NonceFromID(n), c.pt, c.pad)
		} else {
			ct, err = smpcrypto.Seal(key, smpcrypto.NonceFromID(n), c.pt)
		}
		if err != nil {
			return nil, err
		}
		f.Cases = append(f.Cases, sboxCase{Case: Case{ID: fmt.Sprintf("sbox-%d", i), Spec: "SMP-BOX-2", Valid: true}, Key: key, Nonce: n, Plaintext: c.pt, PadTo: c.pad, Ciphertext: ct})
	}
	bad := f.Cases[0]
	bad.Case = Case{ID: "wrong-nonce", Spec: "SMP-BOX-2", Error: "BLOCK", Comment: "the nonce of the next block: a relay answers ERR BLOCK"}
	bad.Nonce = RandBytes("sbox other nonce", 24)
	f.Cases = append(f.Cases, bad)
	return f, nil
}

func verifySbox(data []byte) error {
	return Check(data, func(c sboxCase) string { return c.ID }, func(c sboxCase) error {
		return checkBox(c.Case, c.Key, c.Nonce, c.Plaintext, c.PadTo, c.Ciphertext)
	})
}

type authCase struct {
	Case
	QueuePrivate  Hex `json:"queue_private"`
	ServerPrivate Hex `json:"server_private"`
	ServerPublic  Hex `json:"server_public"`
	Nonce         Hex `json:"nonce"`
	Message       Hex `json:"message"`
	Authenticator Hex `json:"authenticator"`
}

func genAuthenticator() (any, error) {
	f := File[authCase]{
		Topic: "X25519 authenticator",
		Description: "authenticator = crypto_box(X25519(queue_private, server_public), nonce, SHA-512(message)): 80 bytes. " +
			"message is the authorized bytes of a transmission and nonce its correlation id (SMP-AUTH-2). The relay " +
			"verifies with server_private and the queue's public key. Invalid: verification fails (ERR AUTH).",
		Spec: "spec/smp.md §3.6",
	}
	q, _ := keyFor(smpcrypto.X25519, "auth queue")
	s, _ := keyFor(smpcrypto.X25519, "auth server")
	for i, msg := range [][]byte{
		smp.Authorized(RandBytes("auth session", 32), RandBytes("auth corr 0", 24), RandBytes("auth entity", 24), []byte("SUB")),
		smp.Authorized(RandBytes("auth session", 32), RandBytes("auth corr 1", 24), RandBytes("auth entity", 24), []byte("SEND F hi")),
	} {
		corr := msg[34 : 34+24]
		a, err := smp.Authenticator(q, s.Public(), smpcrypto.NonceFromID(corr), msg)
		if err != nil {
			return nil, err
		}
		f.Cases = append(f.Cases, authCase{Case: Case{ID: fmt.Sprint("auth-", i), Spec: "SMP-AUTH-2", Valid: true},
			QueuePrivate: q.Raw, ServerPrivate: s.Raw, ServerPublic: s.Public().Raw, Nonce: corr, Message: msg, Authenticator: a})
	}
	bad := f.Cases[0]
	bad.Case = Case{ID: "other-message", Spec: "SMP-AUTH-2", Error: "AUTH", Comment: "the authenticator of case auth-1 over the message of auth-0"}
	bad.Authenticator = f.Cases[1].Authenticator
	f.Cases = append(f.Cases, bad)
	return f, nil
}

func verifyAuthenticator(data []byte) error {
	return Check(data, func(c authCase) string { return c.ID }, func(c authCase) error {
		q, err := smpcrypto.NewPrivateKey(smpcrypto.X25519, c.QueuePrivate)
		if err != nil {
			return err
		}
		s, err := smpcrypto.NewPrivateKey(smpcrypto.X25519, c.ServerPrivate)
		if err != nil {
			return err
		}
		ok := smp.VerifyAuth(q.Public(), s, c.Authenticator, c.Nonce, c.Message)
		if ok != c.Valid {
			return fmt.Errorf("verify = %v", ok)
		}
		if c.Valid {
			a, err := smp.Authenticator(q, s.Public(), smpcrypto.NonceFromID(c.Nonce), c.Message)
			if err != nil || !bytes.Equal(a, c.Authenticator) {
				return errors.New("authenticator differs")
			}
		}
		return nil
	})
}

type signedKeyCase struct {
	Case
	SignAlg  string `json:"sign_alg"`
	SignSeed Hex    `json:"sign_seed"`
	DHPublic Hex    `json:"dh_public"` // SPKI of the signed key
	Signed   Hex    `json:"signed"`
}

// bareSigned makes the variant with the bare SPKI as the signed element.
func bareSigned(signer smpcrypto.PrivateKey, key smpcrypto.PublicKey) ([]byte, error) {
	spki := key.SPKI()
	sig, err := signer.Sign(spki)
	if err != nil {
		return nil, err
	}
	oid := asn1.ObjectIdentifier{1, 3, 101, 112}
	if signer.Alg == smpcrypto.Ed448 {
		oid = asn1.ObjectIdentifier{1, 3, 101, 113}
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(spki)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oid) })
		b.AddASN1BitString(sig)
	})
	return b.Bytes()
}

func genSignedKey() (any, error) {
	f := File[signedKeyCase]{
		Topic: "Signed key object (server hello, PKEY, service hello)",
		Description: "signed = DER SEQUENCE { SEQUENCE { spki }, AlgorithmIdentifier { Ed25519 or Ed448 OID }, BIT STRING signature }, " +
			"the signature by the key of sign_seed over the DER of SEQUENCE { spki } (SMP-SIGNED-1). A bare spki as the first element, " +
			"signed as is, must be rejected, as the reference decoder rejects it (SMP-SIGNED-2). Valid: parse, check the key equals dh_public and the " +
			"signature verifies with the public key of sign_seed; Ed25519/Ed448 signatures are deterministic, so encoding " +
			"reproduces signed. Invalid: parsing or verification fails.",
		Spec: "spec/smp.md §3.5",
	}
	dh, _ := keyFor(smpcrypto.X25519, "signed dh")
	svc, _ := keyFor(smpcrypto.Ed25519, "signed service key")
	for _, c := range []struct {
		id  string
		alg smpcrypto.Alg
		key smpcrypto.PublicKey
	}{{"ed25519-x25519", smpcrypto.Ed25519, dh.Public()}, {"ed448-x25519", smpcrypto.Ed448, dh.Public()}, {"ed25519-ed25519-service", smpcrypto.Ed25519, svc.Public()}} {
		signer, _ := keyFor(c.alg, "signed signer "+c.id)
		s, err := smpcrypto.SignKey(signer, c.key)
		if err != nil {
			return nil, err
		}
		f.Cases = append(f.Cases, signedKeyCase{Case: Case{ID: c.id, Spec: "SMP-SIGNED-1", Valid: true}, SignAlg: c.alg.String(), SignSeed: signer.Raw, DHPublic: c.key.SPKI(), Signed: s})
	}
	signer, _ := keyFor(smpcrypto.Ed25519, "signed signer bare")
	bare, err := bareSigned(signer, dh.Public())
	if err != nil {
		return nil, err
	}
	f.Cases = append(f.Cases, signedKeyCase{Case: Case{ID: "bare-spki", Spec: "SMP-SIGNED-2", Error: "HANDSHAKE BAD_AUTH",
		Comment: "validly signed, but the signed element is the bare SPKI: upstream's decoder rejects it"},
		SignAlg: "ed25519", SignSeed: signer.Raw, DHPublic: dh.Public().SPKI(), Signed: bare})
	good := f.Cases[0]
	tampered := bytes.Clone(good.Signed)
	tampered[len(tampered)-1] ^= 1
	otherSigner, _ := keyFor(smpcrypto.Ed25519, "signed other signer")
	f.Cases = append(f.Cases,
		signedKeyCase{Case: Case{ID: "bad-signature", Spec: "SMP-SIGNED-3", Error: "HANDSHAKE BAD_AUTH", Comment: "last signature byte flipped"},
			SignAlg: "ed25519", SignSeed: good.SignSeed, DHPublic: good.DHPublic, Signed: tampered},
		signedKeyCase{Case: Case{ID: "other-signer", Spec: "SMP-SIGNED-3", Error: "HANDSHAKE BAD_AUTH", Comment: "verified with a key that did not sign"},
			SignAlg: "ed25519", SignSeed: otherSigner.Raw, DHPublic: good.DHPublic, Signed: good.Signed},
		signedKeyCase{Case: Case{ID: "trailing", Spec: "SMP-SIGNED-1", Error: "HANDSHAKE BAD_AUTH", Comment: "a byte after the object"},
			SignAlg: "ed25519", SignSeed: good.SignSeed, DHPublic: good.DHPublic, Signed: append(bytes.Clone(good.Signed), 0)},
	)
	return f, nil
}

func verifySignedKey(data []byte) error {
	return Check(data, func(c signedKeyCase) string { return c.ID }, func(c signedKeyCase) error {
		alg, err := smpcrypto.ParseAlg(c.SignAlg)
		if err != nil {
			return err
		}
		signer, err := smpcrypto.NewPrivateKey(alg, c.SignSeed)
		if err != nil {
			return err
		}
		sk, err := smpcrypto.ParseSignedKey(c.Signed)
		if err == nil {
			err = sk.Verify(signer.Public())
		}
		if !c.Valid {
			if err == nil {
				return errors.New("verified")
			}
			return nil
		}
		if err != nil {
			return err
		}
		if !bytes.Equal(sk.Key.SPKI(), c.DHPublic) {
			return errors.New("signed key differs")
		}
		if c.Spec == "SMP-SIGNED-1" {
			again, err := smpcrypto.SignKey(signer, sk.Key)
			if err != nil || !bytes.Equal(again, c.Signed) {
				return errors.New("re-signing differs")
			}
		}
		return nil
	})
}

package vectors

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
)

func init() {
	Register(Topic{Path: "graph-chat/queue-layer.json", Generate: genQueueLayer, Verify: verifyQueueLayer})
}

type queueLayerCase struct {
	Case
	SenderPrivate    Hex  `json:"sender_private"`    // X25519 scalar of the sender's per-queue key
	RecipientPrivate Hex  `json:"recipient_private"` // X25519 scalar behind the queue URI's dh=
	Secret           Hex  `json:"secret"`
	ClientVersion    int  `json:"client_version"`
	CarriesKey       bool `json:"carries_key"` // the envelope carries the sender key (first message)
	Nonce            Hex  `json:"nonce"`
	Plaintext        Hex  `json:"plaintext"` // private header ‖ agent envelope
	PadTo            int  `json:"pad_to"`
	Envelope         Hex  `json:"envelope"` // the SEND body
}

func genQueueLayer() (any, error) {
	f := File[queueLayerCase]{
		Topic: "graph-chat per-queue encryption inside SEND",
		Description: "secret = X25519(sender_private, recipient public) (GC-QUEUE-1); envelope = client version (Word16) ‖ " +
			"Maybe(sender public SPKI, present when carries_key) ‖ nonce ‖ crypto_box(secret, nonce, pad(plaintext, pad_to)) " +
			"(SMP-ENV-1, GC-QUEUE-3). plaintext starts with the private header: '_' or 'K' ‖ short(sender auth key SPKI) " +
			"(GC-QUEUE-2). Recompute envelope; open it with recipient_private.",
		Spec: "spec/graph-chat.md §4",
	}
	rcp, _ := smpcrypto.GenerateKey(smpcrypto.X25519, Rand("ql recipient"))
	auth, _ := smpcrypto.GenerateKey(smpcrypto.Ed25519, Rand("ql sender auth"))
	for i, c := range []struct {
		id       string
		key      bool
		pad      int
		header   []byte
		envelope string
	}{
		{"confirmation-fast", true, 15904, []byte("_"), "\x00\x07C0confirmation"},
		{"confirmation-standard", true, 15904, append([]byte{'K', byte(len(auth.Public().SPKI()))}, auth.Public().SPKI()...), "\x00\x07C0confirmation"},
		{"message", false, 16000, []byte("_"), "\x00\x07Mratchet message"},
		{"contact-request", true, 15904, []byte("_"), "\x00\x07I\x00\x04linkinfo"},
	} {
		snd, _ := smpcrypto.GenerateKey(smpcrypto.X25519, Rand(fmt.Sprint("ql sender ", i)))
		secret, err := snd.DH(rcp.Public())
		if err != nil {
			return nil, err
		}
		nonce := RandBytes(fmt.Sprint("ql nonce ", i), 24)
		plain := append(bytes.Clone(c.header), c.envelope...)
		ce := smp.ClientMsgEnvelope{Version: 4, Nonce: smpcrypto.NonceFromID(nonce)}
		if c.key {
			k := snd.Public()
			ce.DHKey = &k
		}
		if ce.Body, err = smpcrypto.SealPadded(secret, ce.Nonce, plain, c.pad); err != nil {
			return nil, err
		}
		env, err := smp.EncodeClientMsgEnvelope(ce)
		if err != nil {
			return nil, err
		}
		f.Cases = append(f.Cases, queueLayerCase{Case: Case{ID: c.id, Spec: "GC-QUEUE-3", Valid: true}, SenderPrivate: snd.Raw, RecipientPrivate: rcp.Raw,
			Secret: secret, ClientVersion: 4, CarriesKey: c.key, Nonce: nonce, Plaintext: plain, PadTo: c.pad, Envelope: env})
	}
	return f, nil
}

func verifyQueueLayer(data []byte) error {
	return Check(data, func(c queueLayerCase) string { return c.ID }, func(c queueLayerCase) error {
		snd, err1 := smpcrypto.NewPrivateKey(smpcrypto.X25519, c.SenderPrivate)
		rcp, err2 := smpcrypto.NewPrivateKey(smpcrypto.X25519, c.RecipientPrivate)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		secret, err := snd.DH(rcp.Public())
		if err != nil || !bytes.Equal(secret, c.Secret) {
			return errors.New("secret differs")
		}
		ce, err := smp.ParseClientMsgEnvelope(c.Envelope)
		if err != nil {
			return err
		}
		if int(ce.Version) != c.ClientVersion || (ce.DHKey != nil) != c.CarriesKey || !bytes.Equal(ce.Nonce[:], c.Nonce) {
			return errors.New("envelope fields differ")
		}
		if ce.DHKey != nil && !ce.DHKey.Equal(snd.Public()) {
			return errors.New("envelope key differs")
		}
		rs, err := rcp.DH(snd.Public())
		if err != nil {
			return err
		}
		plain, err := smpcrypto.OpenPadded(rs, ce.Nonce, ce.Body)
		if err != nil || !bytes.Equal(plain, c.Plaintext) || len(ce.Body) != c.PadTo+smpcrypto.TagSize {
			return fmt.Errorf("opened %x (%v)", plain, err)
		}
		again, err := smpcrypto.SealPadded(secret, ce.Nonce, c.Plaintext, c.PadTo)
		if err != nil || !bytes.Equal(again, ce.Body) {
			return errors.New("re-encryption differs")
		}
		return nil
	})
}

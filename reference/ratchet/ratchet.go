// Package ratchet is the end-to-end encryption of graph-chat connections
// (spec/graph-chat.md §5): an X3DH-style key agreement over X448 and a
// double ratchet with header encryption, AES-256-GCM with 16-byte IVs, and
// fixed padded sizes. Post-quantum KEM fields are parsed but never
// proposed: this implementation negotiates them off (GC-PQ-1).
package ratchet

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha512"
	"errors"
	"fmt"
	"io"

	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/wire"
)

// Ratchet (e2e) versions: a version space of its own (spec/smp.md §1.2).
const (
	VersionKDFX3DH uint16 = 2 // X3DH output through HKDF
	VersionPQ      uint16 = 3 // KEM field in headers, 2-byte header lengths
	VersionMin            = VersionKDFX3DH
	VersionMax            = VersionPQ
)

// Sizes and limits (GC-RATCHET-*).
const (
	// HeaderPadded is the padded size of a message header without KEM
	// support; with KEM support it is 2310 (never sent here).
	HeaderPadded    = 88
	HeaderPaddedPQ  = 2310
	IVSize          = 16
	TagSize         = 16
	KeySize         = 32
	MaxSkip         = 512 // message keys a receiver derives ahead at most
	infoX3DH        = "SimpleXX3DH"
	infoRootRatchet = "SimpleXRootRatchet"
	infoChain       = "SimpleXChainRatchet"
)

// Errors callers branch on.
var (
	ErrHeader       = errors.New("ratchet: header does not decrypt")
	ErrDuplicate    = errors.New("ratchet: duplicate message")
	ErrEarlier      = errors.New("ratchet: earlier message whose key is gone")
	ErrTooManySkip  = errors.New("ratchet: too many skipped messages")
	ErrState        = errors.New("ratchet: no sending chain yet")
	ErrDecrypt      = errors.New("ratchet: message does not decrypt")
	ErrParse        = errors.New("ratchet: malformed message")
	ErrKEM          = errors.New("ratchet: KEM ciphertext without a KEM key")
	ErrTooLarge     = errors.New("ratchet: message too large for its padded size")
	errWrongKeyType = errors.New("ratchet: keys must be X448")
)

// hkdf3 is HKDF-SHA512 with 96 output bytes split in three 32-byte parts.
func hkdf3(salt, ikm []byte, info string) (a, b, c []byte) {
	out, err := hkdf.Key(sha512.New, ikm, salt, info, 96)
	if err != nil {
		panic("ratchet: HKDF of 96 bytes: " + err.Error()) // cannot fail
	}
	return out[:32], out[32:64], out[64:]
}

// RootKDF advances the root chain with a DH output (GC-RATCHET-3): it
// returns the next root key, a chain key and the next header key.
func RootKDF(rk []byte, pub smpcrypto.PublicKey, priv smpcrypto.PrivateKey) (rk2, ck, nhk []byte, err error) {
	return rootKDF(rk, pub, priv)
}

// ChainKDF advances a chain (GC-RATCHET-4): the next chain key, the message
// key, the message IV and the header IV.
func ChainKDF(ck []byte) (next, mk, iv, hiv []byte) { return chainKDF(ck) }

func rootKDF(rk []byte, pub smpcrypto.PublicKey, priv smpcrypto.PrivateKey) (rk2, ck, nhk []byte, err error) {
	dh, err := priv.DH(pub)
	if err != nil {
		return nil, nil, nil, err
	}
	rk2, ck, nhk = hkdf3(rk, dh, infoRootRatchet)
	return rk2, ck, nhk, nil
}

// chainKDF advances a sending or receiving chain (GC-RATCHET-4): the next
// chain key, the message key, the message IV and the header IV.
func chainKDF(ck []byte) (next, mk, iv, hiv []byte) {
	next, mk, ivs := hkdf3(nil, ck, infoChain)
	return next, mk, ivs[:IVSize], ivs[IVSize:]
}

// sealAEAD pads msg to padTo (2-byte length, '#' fill) and encrypts it with
// AES-256-GCM under a 16-byte IV (GC-RATCHET-6). It returns tag and body.
func sealAEAD(key, iv []byte, padTo int, ad, msg []byte) (tag, body []byte, err error) {
	p, err := wire.Pad(msg, padTo)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %d bytes into %d", ErrTooLarge, len(msg), padTo)
	}
	g, err := gcm(key)
	if err != nil {
		return nil, nil, err
	}
	out := g.Seal(nil, iv, p, ad)
	return out[len(out)-TagSize:], out[:len(out)-TagSize], nil
}

func openAEAD(key, iv, ad, body, tag []byte) ([]byte, error) {
	g, err := gcm(key)
	if err != nil {
		return nil, err
	}
	p, err := g.Open(nil, iv, append(bytes.Clone(body), tag...), ad)
	if err != nil {
		return nil, ErrDecrypt
	}
	m, err := wire.Unpad(p)
	if err != nil {
		return nil, ErrDecrypt
	}
	return m, nil
}

func gcm(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithNonceSize(b, IVSize)
}

// Params are a party's X3DH keys as sent in a connection link or
// confirmation (GC-X3DH-1): the ratchet version and two X448 keys.
type Params struct {
	Version    uint16
	Key1, Key2 smpcrypto.PublicKey
}

// AppendParams writes version ‖ short(spki1) ‖ short(spki2) and, from v3,
// an absent KEM field ('0').
func AppendParams(b *wire.Builder, p Params) {
	b.Word16(p.Version)
	b.Short(p.Key1.SPKI())
	b.Short(p.Key2.SPKI())
	if p.Version >= VersionPQ {
		b.Maybe(false)
	}
}

// ParseParams reads Params. A KEM proposal ('P' key) or acceptance ('A'
// ciphertext key) from a peer that supports post-quantum keys is skipped:
// we answer without KEM, which turns it off (GC-PQ-1).
func ParseParams(p *wire.Parser) Params {
	var r Params
	r.Version = p.Word16()
	r.Key1 = parseX448(p)
	r.Key2 = parseX448(p)
	if r.Version >= VersionPQ && p.Maybe() {
		skipKEM(p)
	}
	return r
}

func parseX448(p *wire.Parser) smpcrypto.PublicKey {
	der := p.Short()
	if p.Err() != nil {
		return smpcrypto.PublicKey{}
	}
	k, err := smpcrypto.ParseSPKIAlg(der, smpcrypto.X448)
	if err != nil {
		p.Fail(err)
	}
	return k
}

// skipKEM reads RKEMParams: 'P' large(key) or 'A' large(ct) large(key).
func skipKEM(p *wire.Parser) (accepted bool) {
	switch p.Byte() {
	case 'P':
		p.Large()
	case 'A':
		p.Large()
		p.Large()
		return true
	default:
		if p.Err() == nil {
			p.Failf("bad KEM parameters")
		}
	}
	return false
}

// InitParams are the results of the X3DH agreement (GC-X3DH-2).
type InitParams struct {
	AD        []byte // associated data: raw key1 of the joining party ‖ raw key1 of the initiator
	RootKey   []byte
	SndHK     []byte // the joining party's first sending header key
	RcvNextHK []byte // the joining party's next receiving header key
}

func x3dh(sk1, rk1 smpcrypto.PublicKey, dh1, dh2, dh3 []byte) InitParams {
	dhs := append(append(bytes.Clone(dh1), dh2...), dh3...)
	hk, nhk, sk := hkdf3(make([]byte, 64), dhs, infoX3DH)
	return InitParams{AD: append(bytes.Clone(sk1.Raw), rk1.Raw...), RootKey: sk, SndHK: hk, RcvNextHK: nhk}
}

// X3DHJoin is the agreement of the party that joins a connection
// (the sender of the confirmation), with its private keys spk1, spk2 and the
// initiator's params from the link.
func X3DHJoin(spk1, spk2 smpcrypto.PrivateKey, initiator Params) (InitParams, error) {
	if spk1.Alg != smpcrypto.X448 || spk2.Alg != smpcrypto.X448 {
		return InitParams{}, errWrongKeyType
	}
	dh1, err1 := spk2.DH(initiator.Key1)
	dh2, err2 := spk1.DH(initiator.Key2)
	dh3, err3 := spk2.DH(initiator.Key2)
	if err := errors.Join(err1, err2, err3); err != nil {
		return InitParams{}, err
	}
	return x3dh(spk1.Public(), initiator.Key1, dh1, dh2, dh3), nil
}

// X3DHInit is the initiator's agreement once it receives the joining
// party's params: the same InitParams as X3DHJoin computes.
func X3DHInit(rpk1, rpk2 smpcrypto.PrivateKey, joiner Params) (InitParams, error) {
	if rpk1.Alg != smpcrypto.X448 || rpk2.Alg != smpcrypto.X448 {
		return InitParams{}, errWrongKeyType
	}
	dh1, err1 := rpk1.DH(joiner.Key2)
	dh2, err2 := rpk2.DH(joiner.Key1)
	dh3, err3 := rpk2.DH(joiner.Key2)
	if err := errors.Join(err1, err2, err3); err != nil {
		return InitParams{}, err
	}
	return x3dh(joiner.Key1, rpk1.Public(), dh1, dh2, dh3), nil
}

// State is one party's ratchet, everything a restart needs (GC-RATCHET-2).
type State struct {
	Current, MaxSupported uint16
	AD                    []byte
	DHRs                  smpcrypto.PrivateKey
	RK                    []byte
	Snd                   *SndChain
	Rcv                   *RcvChain
	Ns, Nr, PN            uint32
	NHKs, NHKr            []byte
}

// SndChain is the sending half of a ratchet step.
type SndChain struct {
	DHRr   smpcrypto.PublicKey
	CK, HK []byte
}

// RcvChain is the receiving half.
type RcvChain struct{ CK, HK []byte }

// MessageKey is a skipped message's key and IV.
type MessageKey struct{ Key, IV []byte }

// Skipped holds the keys of messages not yet received, by header key then
// message number; Decrypt adds and removes entries.
type Skipped map[string]map[uint32]MessageKey

func (s Skipped) count() int {
	n := 0
	for _, m := range s {
		n += len(m)
	}
	return n
}

// InitJoin starts the ratchet of the joining party: it can send at once.
// dhrr is the initiator's Key2; dhrs a fresh X448 key pair.
func InitJoin(current, maxSupported uint16, dhrr smpcrypto.PublicKey, dhrs smpcrypto.PrivateKey, p InitParams) (*State, error) {
	rk, ck, nhk, err := rootKDF(p.RootKey, dhrr, dhrs)
	if err != nil {
		return nil, err
	}
	return &State{Current: current, MaxSupported: maxSupported, AD: p.AD, DHRs: dhrs, RK: rk,
		Snd: &SndChain{DHRr: dhrr, CK: ck, HK: p.SndHK}, NHKs: nhk, NHKr: p.RcvNextHK}, nil
}

// InitInitiator starts the initiator's ratchet: it receives first. dhrs is
// the private part of its Key2.
func InitInitiator(current, maxSupported uint16, dhrs smpcrypto.PrivateKey, p InitParams) *State {
	return &State{Current: current, MaxSupported: maxSupported, AD: p.AD, DHRs: dhrs, RK: p.RootKey,
		NHKs: p.RcvNextHK, NHKr: p.SndHK}
}

// Header is a decrypted message header (GC-RATCHET-5).
type Header struct {
	MaxVersion uint16
	DH         smpcrypto.PublicKey
	PN, N      uint32
}

func encodeHeader(v uint16, h Header) ([]byte, error) {
	b := wire.NewBuilder(nil)
	b.Word16(h.MaxVersion)
	b.Short(h.DH.SPKI())
	if v >= VersionPQ {
		b.Maybe(false) // no KEM (GC-PQ-1)
	}
	b.Word32(h.PN)
	b.Word32(h.N)
	return b.Bytes()
}

func parseHeader(v uint16, data []byte) (Header, error) {
	p := wire.NewParser(data)
	h := Header{MaxVersion: p.Word16(), DH: parseX448(p)}
	if v >= VersionPQ && p.Maybe() {
		if skipKEM(p) {
			return Header{}, ErrKEM // an acceptance answers a proposal we never made
		}
	}
	h.PN, h.N = p.Word32(), p.Word32()
	if p.Err() != nil {
		return Header{}, fmt.Errorf("%w: header: %v", ErrParse, p.Err())
	}
	return h, nil
}

// appendLen writes a length-prefixed string: 2-byte length from v3, one
// byte before (GC-RATCHET-7).
func appendLen(b *wire.Builder, v uint16, s []byte) {
	if v >= VersionPQ {
		b.Large(s)
	} else {
		b.Short(s)
	}
}

// parseLen reads either form: a first byte below 32 starts a 2-byte length
// (headers are longer than 31 bytes, so a 1-byte length is never below 32).
func parseLen(p *wire.Parser) []byte {
	c, ok := p.Peek()
	if ok && c < 32 {
		return p.Large()
	}
	return p.Short()
}

// Encrypt encrypts one message, padded to paddedLen, and advances the
// sending chain (GC-RATCHET-6).
func (s *State) Encrypt(msg []byte, paddedLen int) ([]byte, error) {
	if s.Snd == nil {
		return nil, ErrState
	}
	if len(msg)+2 > paddedLen {
		return nil, fmt.Errorf("%w: %d bytes into %d", ErrTooLarge, len(msg), paddedLen)
	}
	ck, mk, iv, hiv := chainKDF(s.Snd.CK)
	v := s.Current
	hdr, err := encodeHeader(v, Header{MaxVersion: s.MaxSupported, DH: s.DHRs.Public(), PN: s.PN, N: s.Ns})
	if err != nil {
		return nil, err
	}
	htag, hbody, err := sealAEAD(s.Snd.HK, hiv, HeaderPadded, s.AD, hdr)
	if err != nil {
		return nil, err
	}
	eh := wire.NewBuilder(nil)
	eh.Word16(v)
	eh.Raw(hiv)
	eh.Raw(htag)
	appendLen(eh, v, hbody)
	encHeader, err := eh.Bytes()
	if err != nil {
		return nil, err
	}
	tag, body, err := sealAEAD(mk, iv, paddedLen, append(bytes.Clone(s.AD), encHeader...), msg)
	if err != nil {
		return nil, err
	}
	out := wire.NewBuilder(nil)
	appendLen(out, v, encHeader)
	out.Raw(tag)
	out.Tail(body)
	s.Snd.CK = ck
	s.Ns++
	return out.Bytes()
}

// encMessage is a parsed encrypted message.
type encMessage struct {
	header   []byte // the encrypted header as sent (part of the AD)
	hVersion uint16
	hIV      []byte
	hTag     []byte
	hBody    []byte
	tag      []byte
	body     []byte
}

func parseMessage(msg []byte) (encMessage, error) {
	p := wire.NewParser(msg)
	var m encMessage
	m.header = parseLen(p)
	m.tag = p.Raw(TagSize)
	m.body = p.Tail()
	if p.Err() != nil {
		return m, fmt.Errorf("%w: %v", ErrParse, p.Err())
	}
	hp := wire.NewParser(m.header)
	m.hVersion = hp.Word16()
	m.hIV = hp.Raw(IVSize)
	m.hTag = hp.Raw(TagSize)
	m.hBody = parseLen(hp)
	if err := hp.Finish(); err != nil {
		return m, fmt.Errorf("%w: encrypted header: %v", ErrParse, err)
	}
	return m, nil
}

func (s *State) openHeader(hk []byte, m encMessage) (Header, error) {
	plain, err := openAEAD(hk, m.hIV, s.AD, m.hBody, m.hTag)
	if err != nil {
		return Header{}, ErrHeader
	}
	return parseHeader(m.hVersion, plain)
}

func (s *State) openBody(k MessageKey, m encMessage) ([]byte, error) {
	return openAEAD(k.Key, k.IV, append(bytes.Clone(s.AD), m.header...), m.body, m.tag)
}

// ErrCommitted is matched, beside the failure itself, by a Decrypt error
// after which s and skipped hold an advanced state that the caller MUST
// persist, as the reference implementation does (GC-RATCHET-8).
var ErrCommitted = errors.New("ratchet: state advanced despite the failure")

type committedError struct{ err error }

func (e committedError) Error() string   { return e.err.Error() + " (ratchet state advanced)" }
func (e committedError) Unwrap() []error { return []error{e.err, ErrCommitted} }

// Decrypt decrypts one message (GC-RATCHET-8). Failures before the header
// is known (a malformed message, a header no key opens, a bad header) and
// a PN that cannot be skipped leave s and skipped unchanged. After that the
// state is committed whatever happens, as upstream commits it: the version
// raised by the header, the DH ratchet step with the keys skipped up to PN,
// and, when N can be skipped to, the message key used up even if the body
// does not decrypt. Such an error matches ErrCommitted. A message key found
// among the skipped keys is deleted even if the body does not decrypt (the
// rest of the state is then unchanged). rand is used for the new DH key of
// a ratchet step.
func (s *State) Decrypt(rand io.Reader, skipped Skipped, msg []byte) ([]byte, error) {
	m, err := parseMessage(msg)
	if err != nil {
		return nil, err
	}
	// A skipped message first: its header key and number have a key.
	for hk, keys := range skipped {
		h, err := s.openHeader([]byte(hk), m)
		if errors.Is(err, ErrHeader) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if k, ok := keys[h.N]; ok {
			delete(keys, h.N)
			if len(keys) == 0 {
				delete(skipped, hk)
			}
			plain, err := s.openBody(k, m)
			if err != nil {
				return nil, committedError{err}
			}
			return plain, nil
		}
		break // the header key is known but this number is not skipped
	}
	next := s.clone()
	newSkipped := Skipped{}
	var h Header
	step := false
	if next.Rcv != nil {
		h, err = next.openHeader(next.Rcv.HK, m)
	}
	if next.Rcv == nil || errors.Is(err, ErrHeader) {
		h, err = next.openHeader(next.NHKr, m)
		step = true
	}
	if err != nil {
		return nil, err
	}
	if h.MaxVersion > next.Current {
		next.Current = max(next.Current, min(h.MaxVersion, next.MaxSupported))
	}
	if step {
		if err := next.skip(h.PN, newSkipped); err != nil {
			return nil, err
		}
		if err := next.dhStep(rand, h); err != nil {
			return nil, err
		}
	}
	commit := func() {
		*s = *next
		for hk, keys := range newSkipped {
			if skipped[hk] == nil {
				skipped[hk] = map[uint32]MessageKey{}
			}
			for n, k := range keys {
				skipped[hk][n] = k
			}
		}
	}
	if err := next.skip(h.N, newSkipped); err != nil {
		commit()
		return nil, committedError{err}
	}
	ck, mk, iv, _ := chainKDF(next.Rcv.CK)
	next.Rcv.CK = ck
	next.Nr++
	commit()
	plain, err := s.openBody(MessageKey{mk, iv}, m)
	if err != nil {
		return nil, committedError{err}
	}
	return plain, nil
}

// skip derives and keeps the keys of messages before number until on the
// current receiving chain (GC-RATCHET-9).
func (s *State) skip(until uint32, into Skipped) error {
	if s.Rcv == nil {
		return nil
	}
	switch {
	case s.Nr > until+1:
		return ErrEarlier
	case s.Nr == until+1:
		return ErrDuplicate
	case s.Nr+MaxSkip < until:
		return ErrTooManySkip
	}
	for s.Nr < until {
		ck, mk, iv, _ := chainKDF(s.Rcv.CK)
		hk := string(s.Rcv.HK)
		if into[hk] == nil {
			into[hk] = map[uint32]MessageKey{}
		}
		into[hk][s.Nr] = MessageKey{Key: mk, IV: iv}
		s.Rcv.CK = ck
		s.Nr++
	}
	return nil
}

// dhStep is the DH ratchet step on a header with a new key (GC-RATCHET-3).
func (s *State) dhStep(rand io.Reader, h Header) error {
	newKey, err := smpcrypto.GenerateKey(smpcrypto.X448, rand)
	if err != nil {
		return err
	}
	rk1, ckr, nhkr, err := rootKDF(s.RK, h.DH, s.DHRs)
	if err != nil {
		return err
	}
	rk2, cks, nhks, err := rootKDF(rk1, h.DH, newKey)
	if err != nil {
		return err
	}
	s.PN, s.Ns, s.Nr = s.Ns, 0, 0
	s.Snd = &SndChain{DHRr: h.DH, CK: cks, HK: s.NHKs}
	s.Rcv = &RcvChain{CK: ckr, HK: s.NHKr}
	s.DHRs, s.RK, s.NHKs, s.NHKr = newKey, rk2, nhks, nhkr
	return nil
}

func (s *State) clone() *State {
	c := *s
	if s.Snd != nil {
		sc := *s.Snd
		c.Snd = &sc
	}
	if s.Rcv != nil {
		rc := *s.Rcv
		c.Rcv = &rc
	}
	return &c
}

package vectors

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/smpkit/smpkit/reference/ratchet"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/wire"
)

func init() {
	Register(Topic{Path: "graph-chat/ratchet.json", Generate: genRatchet, Verify: verifyRatchet})
}

// ratchetMsg is one encrypted message of the conversation, with every
// intermediate value a reimplementation needs to find its first mistake.
type ratchetMsg struct {
	From      string `json:"from"` // joiner | initiator
	Plaintext Hex    `json:"plaintext"`
	PaddedLen int    `json:"padded_len"`
	// Sender state before encrypting.
	ChainKey  Hex `json:"chain_key"`
	HeaderKey Hex `json:"header_key"`
	// chainKDF(chain_key): next chain key, message key, IVs.
	NextChainKey Hex `json:"next_chain_key"`
	MessageKey   Hex `json:"message_key"`
	MessageIV    Hex `json:"message_iv"`
	HeaderIV     Hex `json:"header_iv"`
	// The header before encryption: max version, sender DH key, PN, N.
	HeaderMaxVersion int    `json:"header_max_version"`
	HeaderDH         Hex    `json:"header_dh"` // SPKI
	HeaderPN         uint32 `json:"header_pn"`
	HeaderN          uint32 `json:"header_n"`
	Ciphertext       Hex    `json:"ciphertext"`
}

// ratchetStep is one event of the conversation: the sender encrypts
// messages[message], or the other party receives it.
type ratchetStep struct {
	Action  string `json:"action"`           // send | deliver
	Message int    `json:"message"`          // index into messages
	Result  string `json:"result,omitempty"` // deliver: ok | duplicate | earlier | header | decrypt
	// Tamper "body": the last ciphertext byte is flipped before delivery.
	Tamper string `json:"tamper,omitempty"`
	// Committed: the delivery failed, yet the receiver keeps the state it
	// reached (GC-RATCHET-8); later results depend on it.
	Committed bool `json:"committed,omitempty"`
	// DHStep is set when this delivery made the receiver take a DH ratchet
	// step: its new key pair's private scalar (taken from the receiver's
	// random stream) and the keys rootKDF gave.
	NewDHPrivate Hex `json:"new_dh_private,omitempty"`
}

type ratchetCase struct {
	Case
	RatchetVersion int `json:"ratchet_version"`
	// Initiator: the link's X3DH keys (key2 is also its first ratchet key).
	InitiatorKey1   Hex `json:"initiator_key1_private"`
	InitiatorKey2   Hex `json:"initiator_key2_private"`
	InitiatorParams Hex `json:"initiator_params"`
	// Joiner: its X3DH keys and its first ratchet key pair.
	JoinerKey1    Hex `json:"joiner_key1_private"`
	JoinerKey2    Hex `json:"joiner_key2_private"`
	JoinerDHRs    Hex `json:"joiner_ratchet_private"`
	JoinerParams  Hex `json:"joiner_params"`
	AD            Hex `json:"associated_data"`
	RootKey       Hex `json:"x3dh_root_key"`
	JoinerSndHK   Hex `json:"x3dh_joiner_send_header_key"`
	JoinerRcvNHK  Hex `json:"x3dh_joiner_next_receive_header_key"`
	JoinerRootKey Hex `json:"joiner_root_key_after_init"`
	// The conversation: messages in the order they were encrypted, and the
	// steps (encryptions and deliveries, with their outcome) in order.
	Messages []ratchetMsg  `json:"messages"`
	Steps    []ratchetStep `json:"steps"`
}

func genRatchet() (any, error) {
	f := File[ratchetCase]{
		Topic: "graph-chat end-to-end ratchet: X3DH over X448 and the header-encrypted double ratchet",
		Description: "All private keys are raw X448 scalars. The joiner computes X3DH with its key1/key2 and the initiator's " +
			"params, the initiator with its keys and the joiner's params; both must get associated_data, x3dh_root_key and " +
			"the two header keys (GC-X3DH-2). Then the joiner starts its ratchet with joiner_ratchet_private towards the " +
			"initiator's key2, and the initiator with its key2. messages are encrypted in order by the stated party " +
			"(chain and header keys shown before each); deliveries give the order messages reach the other party and the " +
			"result. A receiver taking a DH ratchet step generates new_dh_private (given here, as a fixed random stream " +
			"would produce it). A step with tamper \"body\" delivers the message with its last byte flipped; committed means " +
			"the failed delivery keeps the state reached (GC-RATCHET-8), which later results depend on. " +
			"Reproduce every ciphertext byte for byte and every delivery result.",
		Spec: "spec/graph-chat.md §5",
	}
	for _, v := range []uint16{ratchet.VersionKDFX3DH, ratchet.VersionPQ} {
		c, err := genConversation(v)
		if err != nil {
			return nil, err
		}
		f.Cases = append(f.Cases, c)
	}
	return f, nil
}

// queued is a stream of pre-drawn X448 scalars used as the receivers'
// randomness, so that the file can list them.
type scalarStream struct{ next [][]byte }

func (s *scalarStream) Read(p []byte) (int, error) {
	if len(s.next) == 0 {
		return 0, errors.New("no more scalars")
	}
	n := copy(p, s.next[0])
	s.next = s.next[1:]
	return n, nil
}

func x448(label string) (smpcrypto.PrivateKey, error) {
	return smpcrypto.GenerateKey(smpcrypto.X448, Rand(label))
}

func encodeParams(p ratchet.Params) []byte {
	b := wire.NewBuilder(nil)
	ratchet.AppendParams(b, p)
	out, _ := b.Bytes()
	return out
}

func genConversation(v uint16) (ratchetCase, error) {
	lbl := func(s string) string { return fmt.Sprintf("ratchet v%d %s", v, s) }
	rk1, _ := x448(lbl("initiator key1"))
	rk2, _ := x448(lbl("initiator key2"))
	sk1, _ := x448(lbl("joiner key1"))
	sk2, _ := x448(lbl("joiner key2"))
	sdh, _ := x448(lbl("joiner ratchet"))
	ip := ratchet.Params{Version: v, Key1: rk1.Public(), Key2: rk2.Public()}
	jp := ratchet.Params{Version: v, Key1: sk1.Public(), Key2: sk2.Public()}
	jInit, err := ratchet.X3DHJoin(sk1, sk2, ip)
	if err != nil {
		return ratchetCase{}, err
	}
	j, err := ratchet.InitJoin(v, ratchet.VersionMax, ip.Key2, sdh, jInit)
	if err != nil {
		return ratchetCase{}, err
	}
	iInit, err := ratchet.X3DHInit(rk1, rk2, jp)
	if err != nil {
		return ratchetCase{}, err
	}
	i := ratchet.InitInitiator(v, ratchet.VersionMax, rk2, iInit)
	c := ratchetCase{Case: Case{ID: fmt.Sprintf("conversation-v%d", v), Spec: "GC-RATCHET-1", Valid: true},
		RatchetVersion: int(v), InitiatorKey1: rk1.Raw, InitiatorKey2: rk2.Raw, InitiatorParams: encodeParams(ip),
		JoinerKey1: sk1.Raw, JoinerKey2: sk2.Raw, JoinerDHRs: sdh.Raw, JoinerParams: encodeParams(jp),
		AD: jInit.AD, RootKey: jInit.RootKey, JoinerSndHK: jInit.SndHK, JoinerRcvNHK: jInit.RcvNextHK, JoinerRootKey: j.RK}
	states := map[string]*ratchet.State{"joiner": j, "initiator": i}
	skipped := map[string]ratchet.Skipped{"joiner": {}, "initiator": {}}
	other := map[string]string{"joiner": "initiator", "initiator": "joiner"}
	steps := 0
	send := func(from string) error {
		s := states[from]
		pt := []byte(fmt.Sprintf("%s message %d", from, len(c.Messages)))
		m := ratchetMsg{From: from, Plaintext: pt, PaddedLen: 15840, ChainKey: bytes.Clone(s.Snd.CK), HeaderKey: bytes.Clone(s.Snd.HK),
			HeaderMaxVersion: int(s.MaxSupported), HeaderDH: s.DHRs.Public().SPKI(), HeaderPN: s.PN, HeaderN: s.Ns}
		m.NextChainKey, m.MessageKey, m.MessageIV, m.HeaderIV = ratchet.ChainKDF(s.Snd.CK)
		ct, err := s.Encrypt(pt, m.PaddedLen)
		if err != nil {
			return err
		}
		m.Ciphertext = ct
		c.Steps = append(c.Steps, ratchetStep{Action: "send", Message: len(c.Messages)})
		c.Messages = append(c.Messages, m)
		return nil
	}
	deliver := func(idx int, want string, tamper bool) error {
		m := c.Messages[idx]
		to := other[m.From]
		s := states[to]
		steps++
		newKey, _ := x448(lbl(fmt.Sprint("receiver step ", steps)))
		rnd := &scalarStream{next: [][]byte{newKey.Raw}}
		d := ratchetStep{Action: "deliver", Message: idx}
		ct := m.Ciphertext
		if tamper {
			d.Tamper, ct = "body", tamperBody(ct)
		}
		_, err := s.Decrypt(rnd, skipped[to], ct)
		d.Committed = errors.Is(err, ratchet.ErrCommitted) && want != "duplicate" && want != "earlier"
		switch {
		case err == nil:
			d.Result = "ok"
		case errors.Is(err, ratchet.ErrDuplicate):
			d.Result = "duplicate"
		case errors.Is(err, ratchet.ErrEarlier):
			d.Result = "earlier"
		case errors.Is(err, ratchet.ErrHeader):
			d.Result = "header"
		default:
			d.Result = "decrypt"
		}
		if d.Result != want {
			return fmt.Errorf("delivery of message %d: %s (%v), want %s", idx, d.Result, err, want)
		}
		if len(rnd.next) == 0 {
			d.NewDHPrivate = newKey.Raw
		}
		c.Steps = append(c.Steps, d)
		return nil
	}
	// 24 messages in both directions: bursts, a skipped message delivered
	// three ratchet steps later, reordering inside a chain, and replays.
	script := []struct {
		send string
		dlv  []int
		want []string
		bad  []bool
	}{
		{send: "joiner"}, {send: "joiner"}, {send: "joiner"}, // 0 1 2
		{dlv: []int{0, 2}, want: []string{"ok", "ok"}}, // 1 skipped
		{send: "initiator"}, {send: "initiator"},       // 3 4
		{dlv: []int{4, 3}, want: []string{"ok", "ok"}}, // reordered, 3 from skipped keys
		{send: "joiner"}, {send: "joiner"}, {send: "joiner"}, {send: "joiner"}, // 5 6 7 8
		{dlv: []int{8, 5, 7}, want: []string{"ok", "ok", "ok"}}, // 6 skipped
		{send: "initiator"}, // 9
		{dlv: []int{9}, want: []string{"ok"}},
		{send: "joiner"}, {send: "joiner"}, // 10 11
		{dlv: []int{11, 1, 10}, want: []string{"ok", "ok", "ok"}}, // 1 from two steps back
		{send: "initiator"}, {send: "initiator"}, {send: "initiator"}, // 12 13 14
		{dlv: []int{12, 13, 14, 14, 13}, want: []string{"ok", "ok", "ok", "duplicate", "earlier"}},
		{send: "joiner"}, {send: "joiner"}, {send: "joiner"}, // 15 16 17
		{dlv: []int{17, 16, 15, 6}, want: []string{"ok", "ok", "ok", "ok"}},
		{send: "initiator"}, {send: "initiator"}, // 18 19
		{dlv: []int{19, 18, 19}, want: []string{"ok", "ok", "duplicate"}},
		{send: "joiner"}, {send: "joiner"}, {send: "joiner"}, {send: "joiner"}, // 20 21 22 23
		{dlv: []int{20, 21, 22, 23, 20}, want: []string{"ok", "ok", "ok", "ok", "earlier"}},
		// Failures that keep the advanced state (GC-RATCHET-8): a tampered
		// body on a new chain (the DH step is kept), one skipping a key, one
		// found among the skipped keys; the genuine copies then fail.
		{send: "initiator"}, // 24
		{dlv: []int{24, 24}, want: []string{"decrypt", "duplicate"}, bad: []bool{true, false}},
		{send: "initiator"}, {send: "initiator"}, // 25 26
		{dlv: []int{26, 25, 26}, want: []string{"decrypt", "ok", "duplicate"}, bad: []bool{true, false, false}},
		{send: "initiator"}, {send: "initiator"}, // 27 28
		{dlv: []int{28, 27, 27}, want: []string{"ok", "decrypt", "earlier"}, bad: []bool{false, true, false}},
		{send: "joiner"}, // 29
		{dlv: []int{29}, want: []string{"ok"}},
	}
	for _, st := range script {
		if st.send != "" {
			if err := send(st.send); err != nil {
				return c, err
			}
		}
		for k, idx := range st.dlv {
			if err := deliver(idx, st.want[k], k < len(st.bad) && st.bad[k]); err != nil {
				return c, err
			}
		}
	}
	return c, nil
}

func verifyRatchet(data []byte) error {
	return Check(data, func(c ratchetCase) string { return c.ID }, func(c ratchetCase) error {
		v := uint16(c.RatchetVersion)
		priv := func(raw []byte) (smpcrypto.PrivateKey, error) { return smpcrypto.NewPrivateKey(smpcrypto.X448, raw) }
		rk1, err1 := priv(c.InitiatorKey1)
		rk2, err2 := priv(c.InitiatorKey2)
		sk1, err3 := priv(c.JoinerKey1)
		sk2, err4 := priv(c.JoinerKey2)
		sdh, err5 := priv(c.JoinerDHRs)
		if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
			return err
		}
		ip := ratchet.Params{Version: v, Key1: rk1.Public(), Key2: rk2.Public()}
		jp := ratchet.Params{Version: v, Key1: sk1.Public(), Key2: sk2.Public()}
		if !bytes.Equal(encodeParams(ip), c.InitiatorParams) || !bytes.Equal(encodeParams(jp), c.JoinerParams) {
			return errors.New("params encoding differs")
		}
		for _, enc := range [][]byte{c.InitiatorParams, c.JoinerParams} {
			p := wire.NewParser(enc)
			ratchet.ParseParams(p)
			if err := p.Finish(); err != nil {
				return fmt.Errorf("params do not parse: %w", err)
			}
		}
		jInit, err := ratchet.X3DHJoin(sk1, sk2, ip)
		if err != nil {
			return err
		}
		iInit, err := ratchet.X3DHInit(rk1, rk2, jp)
		if err != nil {
			return err
		}
		for _, x := range []ratchet.InitParams{jInit, iInit} {
			if !bytes.Equal(x.AD, c.AD) || !bytes.Equal(x.RootKey, c.RootKey) || !bytes.Equal(x.SndHK, c.JoinerSndHK) || !bytes.Equal(x.RcvNextHK, c.JoinerRcvNHK) {
				return errors.New("X3DH results differ")
			}
		}
		j, err := ratchet.InitJoin(v, ratchet.VersionMax, ip.Key2, sdh, jInit)
		if err != nil {
			return err
		}
		if !bytes.Equal(j.RK, c.JoinerRootKey) {
			return errors.New("joiner root key differs")
		}
		states := map[string]*ratchet.State{"joiner": j, "initiator": ratchet.InitInitiator(v, ratchet.VersionMax, rk2, iInit)}
		skipped := map[string]ratchet.Skipped{"joiner": {}, "initiator": {}}
		other := map[string]string{"joiner": "initiator", "initiator": "joiner"}
		if len(c.Messages) < 20 {
			return fmt.Errorf("%d messages, want at least 20", len(c.Messages))
		}
		for _, st := range c.Steps {
			m := c.Messages[st.Message]
			if st.Action == "send" {
				s := states[m.From]
				if !bytes.Equal(s.Snd.CK, m.ChainKey) || !bytes.Equal(s.Snd.HK, m.HeaderKey) {
					return fmt.Errorf("message %d: sender chain or header key differs", st.Message)
				}
				next, mk, iv, hiv := ratchet.ChainKDF(m.ChainKey)
				if !bytes.Equal(next, m.NextChainKey) || !bytes.Equal(mk, m.MessageKey) || !bytes.Equal(iv, m.MessageIV) || !bytes.Equal(hiv, m.HeaderIV) {
					return fmt.Errorf("message %d: chain KDF differs", st.Message)
				}
				if !bytes.Equal(s.DHRs.Public().SPKI(), m.HeaderDH) || s.PN != m.HeaderPN || s.Ns != m.HeaderN || int(s.MaxSupported) != m.HeaderMaxVersion {
					return fmt.Errorf("message %d: header fields differ", st.Message)
				}
				ct, err := s.Encrypt(m.Plaintext, m.PaddedLen)
				if err != nil || !bytes.Equal(ct, m.Ciphertext) {
					return fmt.Errorf("message %d: ciphertext differs (%v)", st.Message, err)
				}
				continue
			}
			to := other[m.From]
			rnd := &scalarStream{}
			if st.NewDHPrivate != nil {
				rnd.next = [][]byte{st.NewDHPrivate}
			}
			ct := m.Ciphertext
			switch st.Tamper {
			case "":
			case "body":
				ct = tamperBody(ct)
			default:
				return fmt.Errorf("tamper %q", st.Tamper)
			}
			got, err := states[to].Decrypt(rnd, skipped[to], ct)
			if st.Committed && !errors.Is(err, ratchet.ErrCommitted) {
				return fmt.Errorf("delivery of message %d: the state should be kept (%v)", st.Message, err)
			}
			result := "ok"
			switch {
			case err == nil && !bytes.Equal(got, m.Plaintext):
				return fmt.Errorf("message %d decrypted to %q", st.Message, got)
			case err == nil:
			case errors.Is(err, ratchet.ErrDuplicate):
				result = "duplicate"
			case errors.Is(err, ratchet.ErrEarlier):
				result = "earlier"
			case errors.Is(err, ratchet.ErrHeader):
				result = "header"
			default:
				result = "decrypt"
			}
			if result != st.Result {
				return fmt.Errorf("delivery of message %d: %s (%v), want %s", st.Message, result, err, st.Result)
			}
		}
		return nil
	})
}

// tamperBody flips the last byte of a ratchet message: the body, not the
// header, so the header still opens.
func tamperBody(ct []byte) []byte {
	out := bytes.Clone(ct)
	out[len(out)-1] ^= 1
	return out
}

package vectors

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"

	cm "github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/ratchet"
	"github.com/smpkit/smpkit/reference/smpcrypto"
)

func init() {
	Register(Topic{Path: "chat/codes.json", Generate: genChatCodes, Verify: verifyChatCodes})
}

type chatCodeCase struct {
	Case
	// X3DH keys of both parties (raw X448 scalars) from which ad comes,
	// when the case has them.
	RatchetVersion int    `json:"ratchetVersion,omitempty"`
	InitiatorKey1  Hex    `json:"initiatorKey1,omitempty"`
	InitiatorKey2  Hex    `json:"initiatorKey2,omitempty"`
	JoinerKey1     Hex    `json:"joinerKey1,omitempty"`
	JoinerKey2     Hex    `json:"joinerKey2,omitempty"`
	AD             Hex    `json:"ad"`     // the ratchet's associated data
	ADHash         Hex    `json:"adHash"` // SHA-256 of ad
	Code           string `json:"code"`
}

func genChatCodes() (any, error) {
	f := File[chatCodeCase]{
		Topic: "Connection security codes",
		Description: "adHash is SHA-256 of the ratchet's associated data ad (the joiner's raw X3DH key1 then the " +
			"initiator's, GC-RATCHET-1), and code the security code both sides show (CH-CODE-1): adHash as a " +
			"big-endian integer in decimal, in groups of five digits. When keys are given, ad is what X3DH makes of them.",
		Spec: "spec/chat.md §6",
	}
	for _, v := range []uint16{2, 3} {
		lbl := func(s string) string { return fmt.Sprintf("security code v%d %s", v, s) }
		rk1, _ := x448(lbl("initiator key1"))
		rk2, _ := x448(lbl("initiator key2"))
		sk1, _ := x448(lbl("joiner key1"))
		sk2, _ := x448(lbl("joiner key2"))
		jInit, err := ratchet.X3DHJoin(sk1, sk2, ratchet.Params{Version: v, Key1: rk1.Public(), Key2: rk2.Public()})
		if err != nil {
			return nil, err
		}
		iInit, err := ratchet.X3DHInit(rk1, rk2, ratchet.Params{Version: v, Key1: sk1.Public(), Key2: sk2.Public()})
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(jInit.AD, iInit.AD) {
			return nil, fmt.Errorf("v%d: the parties' associated data differ", v)
		}
		h := sha256.Sum256(jInit.AD)
		f.Cases = append(f.Cases, chatCodeCase{Case: Case{ID: fmt.Sprintf("x3dh-v%d", v), Spec: "CH-CODE-1", Valid: true},
			RatchetVersion: int(v), InitiatorKey1: rk1.Raw, InitiatorKey2: rk2.Raw, JoinerKey1: sk1.Raw, JoinerKey2: sk2.Raw,
			AD: jInit.AD, ADHash: h[:], Code: cm.SecurityCode(h[:])})
	}
	// A hash with leading zero bytes: the integer has fewer digits.
	ad := RandBytes("security code leading zeros", 112)
	for i := 0; ; i++ {
		ad[0] = byte(i)
		ad[1] = byte(i >> 8)
		if h := sha256.Sum256(ad); h[0] == 0 {
			f.Cases = append(f.Cases, chatCodeCase{Case: Case{ID: "leading-zero-byte", Spec: "CH-CODE-1", Valid: true,
				Comment: "the first byte of adHash is 0: no leading zeros in the decimal form"},
				AD: bytes.Clone(ad), ADHash: h[:], Code: cm.SecurityCode(h[:])})
			break
		}
	}
	return f, nil
}

func verifyChatCodes(data []byte) error {
	return Check(data, func(c chatCodeCase) string { return c.ID }, func(c chatCodeCase) error {
		if c.JoinerKey1 != nil {
			rk1, err1 := x448Raw(c.InitiatorKey1)
			rk2, err2 := x448Raw(c.InitiatorKey2)
			sk1, err3 := x448Raw(c.JoinerKey1)
			sk2, err4 := x448Raw(c.JoinerKey2)
			for _, err := range []error{err1, err2, err3, err4} {
				if err != nil {
					return err
				}
			}
			init, err := ratchet.X3DHJoin(sk1, sk2, ratchet.Params{Version: uint16(c.RatchetVersion), Key1: rk1.Public(), Key2: rk2.Public()})
			if err != nil {
				return err
			}
			if !bytes.Equal(init.AD, c.AD) {
				return fmt.Errorf("X3DH associated data %x, want %x", init.AD, c.AD)
			}
		}
		h := sha256.Sum256(c.AD)
		if !bytes.Equal(h[:], c.ADHash) {
			return fmt.Errorf("adHash %x, want %x", h, c.ADHash)
		}
		if got := cm.SecurityCode(c.ADHash); got != c.Code {
			return fmt.Errorf("code %q, want %q", got, c.Code)
		}
		if !cm.SameSecurityCode(c.Code, stripSpaces(c.Code)) {
			return fmt.Errorf("code without spaces not the same")
		}
		return nil
	})
}

func x448Raw(raw []byte) (smpcrypto.PrivateKey, error) {
	return smpcrypto.NewPrivateKey(smpcrypto.X448, raw)
}

func stripSpaces(s string) string { return strings.ReplaceAll(s, " ", "") }

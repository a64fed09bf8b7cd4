package smp

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/smpkit/smpkit/reference/smpcrypto"
)

// Property: for every version and every command and response, a value the
// encoder accepts parses back to itself (decode(encode(x)) == x), and its
// encoding is what the parser saw.

var (
	genVersion = rapid.Custom(func(t *rapid.T) Version {
		return Version(rapid.IntRange(int(VersionMin), int(VersionMax)).Draw(t, "v"))
	})
	genID    = rapid.SliceOfN(rapid.Byte(), 24, 24)
	genShort = rapid.SliceOfN(rapid.Byte(), 0, 255)
	genLarge = rapid.SliceOfN(rapid.Byte(), 0, 600)
)

func genKey(algs ...smpcrypto.Alg) *rapid.Generator[smpcrypto.PublicKey] {
	return rapid.Custom(func(t *rapid.T) smpcrypto.PublicKey {
		alg := rapid.SampledFrom(algs).Draw(t, "alg")
		raw := rapid.SliceOfN(rapid.Byte(), alg.Size(), alg.Size()).Draw(t, "raw")
		k, err := smpcrypto.NewPublicKey(alg, raw)
		if err != nil {
			t.Fatal(err)
		}
		return k
	})
}

var (
	genAuthKey = genKey(smpcrypto.Ed25519, smpcrypto.Ed448, smpcrypto.X25519)
	genDHKey   = genKey(smpcrypto.X25519)
	genPass    = rapid.StringMatching(`[!-.0-9;-?A-~]{1,30}`)
)

func maybe[T any](t *rapid.T, label string, g *rapid.Generator[T]) *T {
	if !rapid.Bool().Draw(t, label+"?") {
		return nil
	}
	v := g.Draw(t, label)
	return &v
}

func genCommand(t *rapid.T, v Version) Command {
	switch rapid.IntRange(0, 23).Draw(t, "command") {
	case 0:
		c := CmdNEW{RcvAuthKey: genAuthKey.Draw(t, "auth"), RcvDHKey: genDHKey.Draw(t, "dh"),
			BasicAuth: maybe(t, "password", genPass), SubMode: rapid.SampledFrom([]SubMode{SubModeSubscribe, SubModeOnlyCreate}).Draw(t, "sub")}
		mode := rapid.SampledFrom([]QueueMode{QueueMessaging, QueueContact}).Draw(t, "mode")
		switch {
		case v >= VersionShortLinks:
			if rapid.Bool().Draw(t, "req?") {
				c.QueueReq = &QueueReq{Mode: mode}
				if rapid.Bool().Draw(t, "link?") {
					l := &QueueLinkReq{SenderID: genID.Draw(t, "sid"), Fixed: genLarge.Draw(t, "fixed"), User: genLarge.Draw(t, "user")}
					if mode == QueueContact {
						l.LinkID = genID.Draw(t, "lnk")
					}
					c.QueueReq.Link = l
				}
			}
			if v >= VersionNewNtfCreds && rapid.Bool().Draw(t, "ntf?") {
				c.NtfCreds = &NewNtfCreds{AuthKey: genAuthKey.Draw(t, "nkey"), DHKey: genDHKey.Draw(t, "ndh")}
			}
		case v >= VersionSndAuthKey:
			c.QueueReq = &QueueReq{Mode: mode}
		}
		return c
	case 1:
		return CmdSUB{}
	case 2:
		return CmdSUBS{}
	case 3:
		return CmdKEY{SenderKey: genAuthKey.Draw(t, "k")}
	case 4:
		return CmdRKEY{Keys: rapid.SliceOfN(genAuthKey, 1, 5).Draw(t, "keys")}
	case 5:
		return CmdLSET{LinkID: genID.Draw(t, "l"), Fixed: genLarge.Draw(t, "f"), User: genLarge.Draw(t, "u")}
	case 6:
		return CmdLDEL{}
	case 7:
		return CmdNKEY{NotifierKey: genAuthKey.Draw(t, "n"), DHKey: genDHKey.Draw(t, "d")}
	case 8:
		return CmdNDEL{}
	case 9:
		return CmdGET{}
	case 10:
		return CmdACK{MsgID: genShort.Draw(t, "id")}
	case 11:
		return CmdOFF{}
	case 12:
		return CmdDEL{}
	case 13:
		return CmdQUE{}
	case 14:
		return CmdSKEY{SenderKey: genAuthKey.Draw(t, "k")}
	case 15:
		return CmdSEND{Notify: rapid.Bool().Draw(t, "n"), Body: rapid.SliceOfN(rapid.Byte(), 0, MaxMessageLength(v)).Draw(t, "body")}
	case 16:
		return CmdPING{}
	case 17:
		return CmdLKEY{SenderKey: genAuthKey.Draw(t, "k")}
	case 18:
		return CmdLGET{}
	case 19:
		return CmdNSUB{}
	case 20:
		return CmdNSUBS{}
	case 21:
		hosts := rapid.SliceOfN(rapid.SampledFrom([]string{"smp.example.com", "10.1.2.3", "fd00::1", "abcdefghij234567.onion"}), 1, 3).Draw(t, "hosts")
		port := rapid.SampledFrom([]string{"", "5223", "443"}).Draw(t, "port")
		return CmdPRXY{Server: Server{Hosts: hosts, Port: port, KeyHash: rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "kh")}, BasicAuth: maybe(t, "pw", genPass)}
	case 22:
		return CmdPFWD{Version: genVersion.Draw(t, "fv"), Key: genDHKey.Draw(t, "key"), EncTx: genLarge.Draw(t, "et")}
	default:
		return CmdRFWD{EncTx: genLarge.Draw(t, "et")}
	}
}

var genErr = rapid.Custom(func(t *rapid.T) ErrorType {
	ttl := rapid.Int64Range(0, 1<<40).Draw(t, "ttl")
	proto := ErrorType{Kind: ErrQUOTA}
	return rapid.SampledFrom([]ErrorType{
		BLOCK, SESSION, AUTH, CMDUnknown, CMDSyntax, CMDProhibited, CMDNoAuth, CMDHasAuth, CMDNoEntity,
		{Kind: ErrSERVICE}, {Kind: ErrCRYPTO}, {Kind: ErrQUOTA}, {Kind: ErrNOMSG}, {Kind: ErrLARGEMSG},
		{Kind: ErrEXPIRED}, {Kind: ErrINTERNAL}, {Kind: ErrDUPLICATE_}, {Kind: ErrSTORE, Store: "disk"},
		{Kind: ErrBLOCKED, Blocked: &BlockingInfo{Reason: "content"}},
		{Kind: ErrBLOCKED, Blocked: &BlockingInfo{Reason: "spam", Notice: &ClientNotice{TTL: &ttl}}},
		{Kind: ErrPROXY, Proxy: &ProxyError{Kind: ProxyPROTOCOL, Protocol: &proto}},
		{Kind: ErrPROXY, Proxy: &ProxyError{Kind: ProxyNOSESSION}},
		{Kind: ErrPROXY, Proxy: &ProxyError{Kind: ProxyBROKER, Broker: BrokerError{Kind: BrokerRESPONSE, Text: "x y"}}},
		{Kind: ErrPROXY, Proxy: &ProxyError{Kind: ProxyBROKER, Broker: BrokerError{Kind: BrokerTRANSPORT, Transport: TransportError{Kind: "HANDSHAKE", Handshake: "IDENTITY"}}}},
	}).Draw(t, "err")
})

func genResponse(t *rapid.T, v Version) Response {
	mode := rapid.SampledFrom([]QueueMode{QueueMessaging, QueueContact}).Draw(t, "mode")
	switch rapid.IntRange(0, 16).Draw(t, "response") {
	case 0:
		r := RspIDS{RcvID: genID.Draw(t, "r"), SndID: genID.Draw(t, "s"), RcvDHKey: genDHKey.Draw(t, "dh")}
		if v >= VersionSndAuthKey {
			r.Mode = &mode
		}
		if v >= VersionShortLinks {
			if !rapid.Bool().Draw(t, "mode?") {
				r.Mode = nil
			}
			if rapid.Bool().Draw(t, "link?") {
				r.LinkID = genID.Draw(t, "l")
			}
		}
		if v >= VersionServiceCerts && rapid.Bool().Draw(t, "svc?") {
			r.ServiceID = genID.Draw(t, "svc")
		}
		if v >= VersionNewNtfCreds && rapid.Bool().Draw(t, "ntf?") {
			r.NtfCreds = &ServerNtfCreds{NotifierID: genID.Draw(t, "n"), DHKey: genDHKey.Draw(t, "ndh")}
		}
		return r
	case 1:
		return RspLNK{SenderID: genID.Draw(t, "s"), Fixed: genLarge.Draw(t, "f"), User: genLarge.Draw(t, "u")}
	case 2:
		if v < VersionServiceCerts {
			return RspOK{}
		}
		var id []byte
		if rapid.Bool().Draw(t, "svc?") {
			id = genID.Draw(t, "svc")
		}
		return RspSOK{ServiceID: id}
	case 3:
		return RspSOKS{Count: rapid.Int64().Draw(t, "n")}
	case 4:
		return RspMSG{MsgID: genID.Draw(t, "id"), Body: genLarge.Draw(t, "b")}
	case 5:
		return RspNID{NotifierID: genID.Draw(t, "id"), DHKey: genDHKey.Draw(t, "k")}
	case 6:
		return RspNMSG{Nonce: smpcrypto.NonceFromID(genID.Draw(t, "n")), EncMeta: genShort.Draw(t, "m")}
	case 7:
		lo := genVersion.Draw(t, "lo")
		return RspPKEY{SessionID: genShort.Draw(t, "s"), Versions: VersionRange{Min: lo, Max: lo + Version(rapid.IntRange(0, 3).Draw(t, "w"))},
			Key: CertKey{Chain: rapid.SliceOfN(genLarge, 1, 4).Draw(t, "chain"), SignedKey: genLarge.Draw(t, "sk")}}
	case 8:
		return RspRRES{Enc: genLarge.Draw(t, "e")}
	case 9:
		return RspPRES{Enc: genLarge.Draw(t, "e")}
	case 10:
		return RspEND{}
	case 11:
		return RspENDS{Count: rapid.Int64().Draw(t, "n")}
	case 12:
		if v < VersionDeletedEvent {
			return RspEND{}
		}
		return RspDELD{}
	case 13:
		return RspINFO{JSON: []byte(`{"qiSize":` + rapid.StringMatching(`[0-9]{1,5}`).Draw(t, "n") + `}`)}
	case 14:
		return RspOK{}
	case 15:
		e := genErr.Draw(t, "e")
		if e.Kind == ErrBLOCKED {
			if v < VersionBlockedEntity {
				e = AUTH
			} else if v < VersionClientNotices {
				e.Blocked = &BlockingInfo{Reason: e.Blocked.Reason}
			}
		}
		return RspERR{Err: e}
	default:
		return RspPONG{}
	}
}

var cmpOpts = cmp.Options{cmpopts.EquateEmpty(), cmp.Comparer(func(a, b smpcrypto.PublicKey) bool { return a.Equal(b) }),
	cmp.Comparer(func(a, b ErrorType) bool { return a.Equal(b) })}

func TestCommandRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := genVersion.Draw(t, "version")
		c := genCommand(t, v)
		b, err := EncodeCommand(v, c)
		if err != nil {
			t.Fatalf("v%d %s does not encode: %v", v, c.Tag(), err)
		}
		got, err := ParseCommand(v, b)
		if err != nil {
			t.Fatalf("v%d %s: %x does not parse: %v", v, c.Tag(), b, err)
		}
		if d := cmp.Diff(c, got, cmpOpts); d != "" {
			t.Fatalf("v%d %s round trip (-sent +parsed):\n%s", v, c.Tag(), d)
		}
		if again, _ := EncodeCommand(v, got); !bytes.Equal(again, b) {
			t.Fatalf("v%d %s re-encodes differently", v, c.Tag())
		}
	})
}

func TestResponseRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := genVersion.Draw(t, "version")
		r := genResponse(t, v)
		b, err := EncodeResponse(v, r)
		if err != nil {
			t.Fatalf("v%d %s does not encode: %v", v, r.Tag(), err)
		}
		got, err := ParseResponse(v, b)
		if err != nil {
			t.Fatalf("v%d %s: %q does not parse: %v", v, r.Tag(), b, err)
		}
		if d := cmp.Diff(r, got, cmpOpts); d != "" {
			t.Fatalf("v%d %s round trip (-sent +parsed):\n%s", v, r.Tag(), d)
		}
	})
}

func TestTransmissionRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := genVersion.Draw(t, "version")
		tx := Transmission{CorrID: genShort.Draw(t, "corr"), EntityID: genShort.Draw(t, "entity"), Command: genLarge.Draw(t, "cmd")}
		tx.Auth = rapid.SampledFrom([][]byte{nil, make([]byte, 64), make([]byte, 80), make([]byte, 114)}).Draw(t, "auth")
		if v >= VersionServiceCerts && len(tx.Auth) > 0 && rapid.Bool().Draw(t, "svc?") {
			tx.ServiceSig = rapid.SliceOfN(rapid.Byte(), ServiceSigSize, ServiceSigSize).Draw(t, "sig")
		}
		if v < VersionAuthCmds {
			tx.SessionID = genShort.Draw(t, "session")
		}
		b, err := EncodeTransmission(v, tx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseTransmission(v, b)
		if err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		if d := cmp.Diff(tx, got, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("v%d round trip:\n%s", v, d)
		}
		// Batches of such transmissions split and reassemble.
		txs := [][]byte{b, b, b}
		contents, err := Batch(txs)
		if err != nil {
			t.Fatal(err)
		}
		var all [][]byte
		for _, c := range contents {
			part, err := ParseBlockContent(c)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, part...)
		}
		if len(all) != 3 || !bytes.Equal(all[2], b) {
			t.Fatalf("batch of 3 gave %d", len(all))
		}
	})
}

func TestHelloRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := genVersion.Draw(t, "version")
		h := ClientHello{Version: v, KeyHash: rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "kh")}
		if v >= VersionAuthCmds && rapid.Bool().Draw(t, "key?") {
			k := genDHKey.Draw(t, "k")
			h.DHKey = &k
		}
		if v >= VersionProxyServerHello {
			h.ProxyServer = rapid.Bool().Draw(t, "proxy")
		}
		if v >= VersionServiceCerts && rapid.Bool().Draw(t, "svc?") {
			h.Service = &HelloService{Role: rapid.SampledFrom([]ServiceRole{RoleMessaging, RoleNotifier, RoleProxy}).Draw(t, "role"),
				Key: CertKey{Chain: rapid.SliceOfN(genLarge, 1, 4).Draw(t, "chain"), SignedKey: genLarge.Draw(t, "sk")}}
		}
		b, err := EncodeClientHello(h)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseClientHello(b)
		if err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		if d := cmp.Diff(h, got, cmpOpts); d != "" {
			t.Fatalf("v%d round trip:\n%s", v, d)
		}
	})
}

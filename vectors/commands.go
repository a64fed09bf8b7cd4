package vectors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode"

	"golang.org/x/crypto/sha3"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
)

func init() {
	Register(Topic{Path: "smp/commands.json", Generate: genCommands, Verify: verifyCommands})
}

// cmdCase is one command or response at the versions from Version to
// VersionMax, which all encode it to the same bytes.
type cmdCase struct {
	Case
	Kind       string          `json:"kind"` // command | response
	Tag        string          `json:"tag,omitempty"`
	VersionMax int             `json:"version_max,omitempty"`
	Fields     json.RawMessage `json:"fields,omitempty"`
	Bytes      Hex             `json:"bytes"`
	// Canonical, when set, is what encoding the decoded fields gives:
	// parsers accept bytes, encoders write canonical (SMP-ERR-3).
	Canonical Hex `json:"canonical,omitempty"`
}

// toFields renders a decoded command or response as JSON the way the file
// documents: byte strings as hex (null when absent), keys as the hex of
// their SPKI, one-byte modes as characters, error types as their ERR text,
// version ranges as [min, max], struct fields in snake_case.
func toFields(v any) any {
	return fieldValue(reflect.ValueOf(v))
}

var (
	pubKeyType = reflect.TypeOf(smpcrypto.PublicKey{})
	errType    = reflect.TypeOf(smp.ErrorType{})
	rangeType  = reflect.TypeOf(smp.VersionRange{})
	serverType = reflect.TypeOf(smp.Server{})
)

func fieldValue(v reflect.Value) any {
	switch {
	case !v.IsValid():
		return nil
	case v.Type() == pubKeyType:
		k := v.Interface().(smpcrypto.PublicKey)
		if k.IsZero() {
			return nil
		}
		return Hex(k.SPKI())
	case v.Type() == errType:
		return v.Interface().(smp.ErrorType).String()
	case v.Type() == rangeType:
		r := v.Interface().(smp.VersionRange)
		return []int{int(r.Min), int(r.Max)}
	case v.Type() == serverType:
		return v.Interface().(smp.Server).String()
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return fieldValue(v.Elem())
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if v.IsNil() {
				return nil
			}
			return Hex(v.Bytes())
		}
		out := []any{}
		for i := 0; i < v.Len(); i++ {
			out = append(out, fieldValue(v.Index(i)))
		}
		return out
	case reflect.Array:
		b := make([]byte, v.Len())
		reflect.Copy(reflect.ValueOf(b), v)
		return Hex(b)
	case reflect.Struct:
		out := map[string]any{}
		for i := 0; i < v.NumField(); i++ {
			out[snake(v.Type().Field(i).Name)] = fieldValue(v.Field(i))
		}
		return out
	case reflect.Uint8:
		return string(rune(v.Uint()))
	case reflect.Uint16, reflect.Int64, reflect.Int:
		return v.Convert(reflect.TypeOf(int64(0))).Int()
	}
	return v.Interface()
}

func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 && !unicode.IsUpper(rune(s[i-1])) {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

func encodeAny(kind string, v smp.Version, x any) ([]byte, error) {
	if kind == "command" {
		return smp.EncodeCommand(v, x.(smp.Command))
	}
	return smp.EncodeResponse(v, x.(smp.Response))
}

func parseAny(kind string, v smp.Version, b []byte) (any, error) {
	if kind == "command" {
		return smp.ParseCommand(v, b)
	}
	return smp.ParseResponse(v, b)
}

func genCommands() (any, error) {
	f := File[cmdCase]{
		Topic: "Every SMP command and response, per version",
		Description: "Valid cases hold the same bytes at every version from version to version_max: parsing bytes at " +
			"any of them gives fields, and encoding the decoded value gives bytes. fields: byte strings hex (null when " +
			"absent), keys the hex of their SPKI, modes single characters, errors their ERR text. Invalid command cases " +
			"give the error a relay answers (CMD UNKNOWN or CMD SYNTAX); invalid response cases must fail to parse " +
			"(error RESPONSE: a client reports BROKER RESPONSE).",
		Spec: "spec/smp.md §6, §7",
	}
	key := func(alg smpcrypto.Alg, label string) smpcrypto.PublicKey {
		k, err := keyFor(alg, "commands "+label)
		if err != nil {
			panic(err)
		}
		return k.Public()
	}
	ed, ed448, x := key(smpcrypto.Ed25519, "ed"), key(smpcrypto.Ed448, "ed448"), key(smpcrypto.X25519, "x")
	id := func(label string) []byte { return RandBytes("commands id "+label, 24) }
	pw := "s3cret!"
	corr := RandBytes("commands new corr", 24)
	h := sha3.Sum384(corr)
	sid := h[:24]
	mode := func(m smp.QueueMode) *smp.QueueMode { return &m }
	srv := smp.Server{Hosts: []string{"smp.example.com", "abcdefghijklmnop.onion"}, Port: "5223", KeyHash: RandBytes("commands key hash", 32)}
	chain, leaf, err := fixedChain("commands relay")
	if err != nil {
		return nil, err
	}
	signed, err := smpcrypto.SignKey(leaf, x)
	if err != nil {
		return nil, err
	}
	ttl := int64(3600)
	commands := []struct {
		id, spec, comment string
		c                 smp.Command
	}{
		{"new-basic", "SMP-CMD-NEW-1", "subscribe now, messaging queue where the version has modes", smp.CmdNEW{RcvAuthKey: ed, RcvDHKey: x, SubMode: smp.SubModeSubscribe}},
		{"new-password", "SMP-CMD-NEW-1", "with the relay password", smp.CmdNEW{RcvAuthKey: ed, RcvDHKey: x, BasicAuth: &pw, SubMode: smp.SubModeOnlyCreate}},
		{"new-sender-secures", "SMP-CMD-NEW-1", "messaging mode (the sender may secure the queue)", smp.CmdNEW{RcvAuthKey: ed, RcvDHKey: x, SubMode: smp.SubModeSubscribe, QueueReq: &smp.QueueReq{Mode: smp.QueueMessaging}}},
		{"new-contact", "SMP-CMD-NEW-1", "contact mode", smp.CmdNEW{RcvAuthKey: ed448, RcvDHKey: x, SubMode: smp.SubModeSubscribe, QueueReq: &smp.QueueReq{Mode: smp.QueueContact}}},
		{"new-invitation-link", "SMP-CMD-NEW-2", "messaging with link data; the sender id is SHA3-384(corrId)[:24] of the transmission's correlation id " + fmt.Sprintf("%x", corr),
			smp.CmdNEW{RcvAuthKey: ed, RcvDHKey: x, SubMode: smp.SubModeSubscribe, QueueReq: &smp.QueueReq{Mode: smp.QueueMessaging, Link: &smp.QueueLinkReq{SenderID: sid, Fixed: []byte("fixed"), User: []byte("user")}}}},
		{"new-contact-link", "SMP-CMD-NEW-2", "contact with link data: client link id and sender id",
			smp.CmdNEW{RcvAuthKey: x, RcvDHKey: x, SubMode: smp.SubModeSubscribe, QueueReq: &smp.QueueReq{Mode: smp.QueueContact, Link: &smp.QueueLinkReq{LinkID: id("link"), SenderID: sid, Fixed: []byte("f"), User: nil}}}},
		{"new-ntf-creds", "SMP-NTFCRED-1", "with notifier credentials", smp.CmdNEW{RcvAuthKey: ed, RcvDHKey: x, SubMode: smp.SubModeSubscribe, QueueReq: &smp.QueueReq{Mode: smp.QueueMessaging}, NtfCreds: &smp.NewNtfCreds{AuthKey: ed, DHKey: x}}},
		{"sub", "SMP-CMD-SUB-1", "", smp.CmdSUB{}},
		{"subs", "SMP-CMD-SUBS-1", "", smp.CmdSUBS{}},
		{"key", "SMP-CMD-KEY-1", "", smp.CmdKEY{SenderKey: ed}},
		{"rkey", "SMP-CMD-RKEY-1", "", smp.CmdRKEY{Keys: []smpcrypto.PublicKey{ed, ed448, x}}},
		{"lset", "SMP-CMD-LSET-1", "", smp.CmdLSET{LinkID: id("lset"), Fixed: []byte("fixed data"), User: []byte("user data")}},
		{"ldel", "SMP-CMD-LDEL-1", "", smp.CmdLDEL{}},
		{"nkey", "SMP-CMD-NKEY-1", "", smp.CmdNKEY{NotifierKey: ed, DHKey: x}},
		{"ndel", "SMP-CMD-NDEL-1", "", smp.CmdNDEL{}},
		{"get", "SMP-CMD-GET-1", "", smp.CmdGET{}},
		{"ack", "SMP-CMD-ACK-1", "", smp.CmdACK{MsgID: id("msg")}},
		{"ack-empty", "SMP-CMD-ACK-1", "empty message id", smp.CmdACK{MsgID: []byte{}}},
		{"off", "SMP-CMD-OFF-1", "", smp.CmdOFF{}},
		{"del", "SMP-CMD-DEL-1", "", smp.CmdDEL{}},
		{"que", "SMP-CMD-QUE-1", "", smp.CmdQUE{}},
		{"skey", "SMP-CMD-SKEY-1", "", smp.CmdSKEY{SenderKey: x}},
		{"send-notify", "SMP-CMD-SEND-1", "", smp.CmdSEND{Notify: true, Body: []byte("hello")}},
		{"send-empty", "SMP-CMD-SEND-1", "empty body", smp.CmdSEND{Body: []byte{}}},
		{"ping", "SMP-CMD-PING-1", "", smp.CmdPING{}},
		{"lkey", "SMP-CMD-LKEY-1", "", smp.CmdLKEY{SenderKey: ed}},
		{"lget", "SMP-CMD-LGET-1", "", smp.CmdLGET{}},
		{"nsub", "SMP-CMD-NSUB-1", "", smp.CmdNSUB{}},
		{"nsubs", "SMP-CMD-NSUBS-1", "", smp.CmdNSUBS{}},
		{"prxy", "SMP-CMD-PRXY-1", "", smp.CmdPRXY{Server: srv}},
		{"prxy-password", "SMP-CMD-PRXY-1", "", smp.CmdPRXY{Server: smp.Server{Hosts: []string{"10.0.0.1"}, KeyHash: srv.KeyHash}, BasicAuth: &pw}},
		{"pfwd", "SMP-CMD-PFWD-1", "", smp.CmdPFWD{Version: 17, Key: x, EncTx: RandBytes("commands et", 64)}},
		{"rfwd", "SMP-CMD-RFWD-1", "", smp.CmdRFWD{EncTx: RandBytes("commands rfwd", 64)}},
	}
	blocked := func(notice bool) smp.ErrorType {
		bi := &smp.BlockingInfo{Reason: "spam"}
		if notice {
			bi.Notice = &smp.ClientNotice{TTL: &ttl}
		}
		return smp.ErrorType{Kind: smp.ErrBLOCKED, Blocked: bi}
	}
	protoErr := smp.AUTH
	responses := []struct {
		id, spec, comment string
		r                 smp.Response
	}{
		{"ids", "SMP-RSP-IDS-1", "no mode", smp.RspIDS{RcvID: id("rcv"), SndID: id("snd"), RcvDHKey: x}},
		{"ids-messaging", "SMP-RSP-IDS-1", "", smp.RspIDS{RcvID: id("rcv"), SndID: id("snd"), RcvDHKey: x, Mode: mode(smp.QueueMessaging)}},
		{"ids-link", "SMP-RSP-IDS-1", "", smp.RspIDS{RcvID: id("rcv"), SndID: sid, RcvDHKey: x, Mode: mode(smp.QueueMessaging), LinkID: id("link")}},
		{"ids-service", "SMP-RSP-IDS-1", "", smp.RspIDS{RcvID: id("rcv"), SndID: id("snd"), RcvDHKey: x, Mode: mode(smp.QueueContact), ServiceID: id("service")}},
		{"ids-ntf", "SMP-RSP-IDS-1", "", smp.RspIDS{RcvID: id("rcv"), SndID: id("snd"), RcvDHKey: x, Mode: mode(smp.QueueMessaging), NtfCreds: &smp.ServerNtfCreds{NotifierID: id("ntf"), DHKey: x}}},
		{"lnk", "SMP-RSP-LNK-1", "", smp.RspLNK{SenderID: sid, Fixed: []byte("fixed"), User: []byte("user")}},
		{"sok", "SMP-RSP-SOK-1", "OK below v16", smp.RspSOK{}},
		{"sok-service", "SMP-RSP-SOK-1", "", smp.RspSOK{ServiceID: id("service")}},
		{"soks", "SMP-RSP-SOKS-1", "", smp.RspSOKS{Count: 1000}},
		{"msg", "SMP-RSP-MSG-1", "the body is 16122 bytes in real use", smp.RspMSG{MsgID: id("msg"), Body: RandBytes("commands msg body", 40)}},
		{"nid", "SMP-RSP-NID-1", "", smp.RspNID{NotifierID: id("ntf"), DHKey: x}},
		{"nmsg", "SMP-RSP-NMSG-1", "", smp.RspNMSG{Nonce: smpcrypto.NonceFromID(id("nonce")), EncMeta: RandBytes("commands meta", 144)}},
		{"pkey", "SMP-RSP-PKEY-1", "", smp.RspPKEY{SessionID: RandBytes("commands session", 32), Versions: smp.VersionRange{Min: 8, Max: 17}, Key: smp.CertKey{Chain: chain, SignedKey: signed}}},
		{"rres", "SMP-RSP-RRES-1", "", smp.RspRRES{Enc: RandBytes("commands rres", 48)}},
		{"pres", "SMP-RSP-PRES-1", "", smp.RspPRES{Enc: RandBytes("commands pres", 48)}},
		{"end", "SMP-RSP-END-1", "", smp.RspEND{}},
		{"ends", "SMP-RSP-ENDS-1", "", smp.RspENDS{Count: 7}},
		{"deld", "SMP-RSP-DELD-1", "END below v10", smp.RspDELD{}},
		{"info", "SMP-RSP-INFO-1", "", smp.RspINFO{JSON: []byte(`{"qiSnd":false,"qiNtf":false,"qiSize":0}`)}},
		{"ok", "SMP-RSP-OK-1", "", smp.RspOK{}},
		{"pong", "SMP-RSP-PONG-1", "", smp.RspPONG{}},
		{"err-auth", "SMP-ERR-1", "", smp.RspERR{Err: protoErr}},
		{"err-cmd-syntax", "SMP-ERR-1", "", smp.RspERR{Err: smp.CMDSyntax}},
		{"err-no-entity", "SMP-ERR-3", "encoders write NO_ENTITY", smp.RspERR{Err: smp.CMDNoEntity}},
		{"err-store", "SMP-ERR-1", "", smp.RspERR{Err: smp.ErrorType{Kind: smp.ErrSTORE, Store: "disk full"}}},
		{"err-blocked", "SMP-ERR-2", "AUTH below v12; reason only from v12", smp.RspERR{Err: blocked(false)}},
		{"err-blocked-notice", "SMP-NOTICE-1", "AUTH below v12, notice dropped below v18", smp.RspERR{Err: blocked(true)}},
		{"err-proxy-protocol", "SMP-ERR-1", "", smp.RspERR{Err: smp.ErrorType{Kind: smp.ErrPROXY, Proxy: &smp.ProxyError{Kind: smp.ProxyPROTOCOL, Protocol: &protoErr}}}},
		{"err-proxy-broker-handshake", "SMP-ERR-1", "", smp.RspERR{Err: smp.ErrorType{Kind: smp.ErrPROXY, Proxy: &smp.ProxyError{Kind: smp.ProxyBROKER,
			Broker: smp.BrokerError{Kind: smp.BrokerTRANSPORT, Transport: smp.TransportError{Kind: "HANDSHAKE", Handshake: "IDENTITY"}}}}}},
		{"err-proxy-broker-network", "SMP-ERR-3", "encoders write NETWORK without detail", smp.RspERR{Err: smp.ErrorType{Kind: smp.ErrPROXY, Proxy: &smp.ProxyError{Kind: smp.ProxyBROKER, Broker: smp.BrokerError{Kind: smp.BrokerNETWORK}}}}},
		{"err-proxy-no-session", "SMP-ERR-1", "", smp.RspERR{Err: smp.ErrorType{Kind: smp.ErrPROXY, Proxy: &smp.ProxyError{Kind: smp.ProxyNOSESSION}}}},
		{"err-large-msg", "SMP-ERR-1", "", smp.RspERR{Err: smp.ErrorType{Kind: smp.ErrLARGEMSG}}},
	}
	simple := func(k smp.ErrKind) smp.ErrorType { return smp.ErrorType{Kind: k} }
	proxy := func(p smp.ProxyError) smp.ErrorType { return smp.ErrorType{Kind: smp.ErrPROXY, Proxy: &p} }
	broker := func(b smp.BrokerError) smp.ErrorType {
		return proxy(smp.ProxyError{Kind: smp.ProxyBROKER, Broker: b})
	}
	transport := func(kind, hs string) smp.ErrorType {
		return broker(smp.BrokerError{Kind: smp.BrokerTRANSPORT, Transport: smp.TransportError{Kind: kind, Handshake: hs}})
	}
	for _, e := range []struct {
		id string
		e  smp.ErrorType
	}{
		{"block", smp.BLOCK}, {"session", smp.SESSION}, {"cmd-unknown", smp.CMDUnknown}, {"cmd-prohibited", smp.CMDProhibited},
		{"cmd-no-auth", smp.CMDNoAuth}, {"cmd-has-auth", smp.CMDHasAuth}, {"service", simple(smp.ErrSERVICE)},
		{"crypto", simple(smp.ErrCRYPTO)}, {"quota", simple(smp.ErrQUOTA)}, {"no-msg", simple(smp.ErrNOMSG)},
		{"expired", simple(smp.ErrEXPIRED)}, {"internal", simple(smp.ErrINTERNAL)}, {"duplicate", simple(smp.ErrDUPLICATE_)},
		{"proxy-basic-auth", proxy(smp.ProxyError{Kind: smp.ProxyBASICAUTH})},
		{"proxy-broker-response", broker(smp.BrokerError{Kind: smp.BrokerRESPONSE, Text: "bad"})},
		{"proxy-broker-unexpected", broker(smp.BrokerError{Kind: smp.BrokerUNEXPECTED, Text: "IDS"})},
		{"proxy-broker-timeout", broker(smp.BrokerError{Kind: smp.BrokerTIMEOUT})},
		{"proxy-broker-host", broker(smp.BrokerError{Kind: smp.BrokerHOST})},
		{"proxy-broker-no-service", broker(smp.BrokerError{Kind: smp.BrokerNOSERVICE})},
		{"proxy-transport-block", transport("BLOCK", "")}, {"proxy-transport-version", transport("VERSION", "")},
		{"proxy-transport-large-msg", transport("LARGE_MSG", "")}, {"proxy-transport-session", transport("SESSION", "")},
		{"proxy-transport-no-auth", transport("NO_AUTH", "")}, {"proxy-handshake-parse", transport("HANDSHAKE", "PARSE")},
		{"proxy-handshake-bad-auth", transport("HANDSHAKE", "BAD_AUTH")}, {"proxy-handshake-bad-service", transport("HANDSHAKE", "BAD_SERVICE")},
		{"proxy-protocol-nested", proxy(smp.ProxyError{Kind: smp.ProxyPROTOCOL, Protocol: &smp.ErrorType{Kind: smp.ErrQUOTA}})},
	} {
		responses = append(responses, struct {
			id, spec, comment string
			r                 smp.Response
		}{"err-" + e.id, "SMP-ERR-1", "", smp.RspERR{Err: e.e}})
	}
	emit := func(kind, id, spec, comment string, val any) error {
		var groupStart smp.Version
		var groupBytes []byte
		flush := func(end smp.Version) {
			if groupBytes == nil {
				return
			}
			c := cmdCase{Case: Case{ID: fmt.Sprintf("%s-v%d", id, groupStart), Spec: spec, Valid: true, Version: int(groupStart), Comment: comment},
				Kind: kind, VersionMax: int(end), Bytes: groupBytes}
			parsed, err := parseAny(kind, groupStart, groupBytes)
			if err == nil {
				c.Tag = tagOf(parsed)
				c.Fields = rawJSON(toFields(parsed))
			}
			f.Cases = append(f.Cases, c)
			groupBytes = nil
		}
		for v := smp.VersionMin; v <= smp.VersionMax; v++ {
			b, err := encodeAny(kind, v, val)
			if err != nil {
				flush(v - 1)
				continue
			}
			if groupBytes != nil && !bytes.Equal(b, groupBytes) {
				flush(v - 1)
			}
			if groupBytes == nil {
				groupStart, groupBytes = v, b
			}
		}
		flush(smp.VersionMax)
		return nil
	}
	for _, c := range commands {
		if err := emit("command", c.id, c.spec, c.comment, c.c); err != nil {
			return nil, err
		}
	}
	for _, r := range responses {
		if err := emit("response", r.id, r.spec, r.comment, r.r); err != nil {
			return nil, err
		}
	}
	// Parser leniency (SMP-ERR-3): accepted, re-encoded canonically.
	for _, l := range []struct{ id, in, out string }{
		{"err-no-queue", "ERR CMD NO_QUEUE", "ERR CMD NO_ENTITY"},
		{"err-network-detail", "ERR PROXY BROKER NETWORK TIMEOUT", "ERR PROXY BROKER NETWORK"},
		{"err-network-connect", "ERR PROXY BROKER NETWORK CONNECT \x07refused", "ERR PROXY BROKER NETWORK"},
	} {
		in := []byte(l.in)
		parsed, err := smp.ParseResponse(18, in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.id, err)
		}
		enc, err := smp.EncodeResponse(18, parsed)
		if err != nil || string(enc) != l.out {
			return nil, fmt.Errorf("%s: re-encodes as %q (%v), the rules say %q", l.id, enc, err, l.out)
		}
		f.Cases = append(f.Cases, cmdCase{Case: Case{ID: l.id, Spec: "SMP-ERR-3", Valid: true, Version: 6, Comment: "parsers accept it; encoders write canonical"},
			Kind: "response", Tag: "ERR", VersionMax: 18, Fields: rawJSON(toFields(parsed)), Bytes: in, Canonical: enc})
	}
	// Invalid commands: the error a relay answers.
	short := func(b []byte) []byte { return append([]byte{byte(len(b))}, b...) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	newV18 := func(tail string) []byte { return cat([]byte("NEW "), short(ed.SPKI()), short(x.SPKI()), []byte(tail)) }
	x448 := key(smpcrypto.X448, "x448")
	invalid := []struct {
		id, err, spec string
		v             smp.Version
		b             []byte
	}{
		{"empty", "CMD UNKNOWN", "SMP-PARSE-1", 18, nil},
		{"unknown-tag", "CMD UNKNOWN", "SMP-PARSE-1", 18, []byte("FOO")},
		{"lower-case-tag", "CMD UNKNOWN", "SMP-PARSE-1", 18, []byte("ping")},
		{"response-tag-pong", "CMD UNKNOWN", "SMP-PARSE-1", 18, []byte("PONG")},
		{"response-tag-msg", "CMD UNKNOWN", "SMP-PARSE-1", 18, []byte("MSG \x01a")},
		{"tag-with-nul", "CMD UNKNOWN", "SMP-PARSE-1", 18, []byte("SUB\x00")},
		{"tag-glued", "CMD UNKNOWN", "SMP-PARSE-1", 18, []byte("SENDF hi")},
		{"sub-param", "CMD SYNTAX", "SMP-PARSE-2", 18, []byte("SUB x")},
		{"sub-space", "CMD SYNTAX", "SMP-PARSE-2", 18, []byte("SUB ")},
		{"ping-param", "CMD SYNTAX", "SMP-PARSE-2", 18, []byte("PING ")},
		{"get-param", "CMD SYNTAX", "SMP-PARSE-2", 18, []byte("GET 1")},
		{"off-param", "CMD SYNTAX", "SMP-PARSE-2", 18, []byte("OFF x")},
		{"del-param", "CMD SYNTAX", "SMP-PARSE-2", 18, []byte("DEL x")},
		{"que-param", "CMD SYNTAX", "SMP-PARSE-2", 18, []byte("QUE x")},
		{"lget-param", "CMD SYNTAX", "SMP-PARSE-2", 18, []byte("LGET x")},
		{"nsub-param", "CMD SYNTAX", "SMP-PARSE-2", 18, []byte("NSUB x")},
		{"send-no-params", "CMD SYNTAX", "SMP-CMD-SEND-1", 18, []byte("SEND")},
		{"send-no-second-space", "CMD SYNTAX", "SMP-CMD-SEND-1", 18, []byte("SEND T")},
		{"send-empty-flags", "CMD SYNTAX", "SMP-CMD-SEND-1", 18, []byte("SEND  body")},
		{"send-bad-flag", "CMD SYNTAX", "SMP-ENC-2", 18, []byte("SEND X body")},
		{"ack-no-id", "CMD SYNTAX", "SMP-CMD-ACK-1", 18, []byte("ACK")},
		{"ack-truncated", "CMD SYNTAX", "SMP-ENC-4", 18, []byte("ACK \x05ab")},
		{"ack-trailing", "CMD SYNTAX", "SMP-PARSE-2", 18, []byte("ACK \x01ab")},
		{"key-missing", "CMD SYNTAX", "SMP-CMD-KEY-1", 18, []byte("KEY")},
		{"key-empty", "CMD SYNTAX", "SMP-KEY-2", 18, []byte("KEY \x00")},
		{"key-trailing-der", "CMD SYNTAX", "SMP-KEY-2", 18, cat([]byte("KEY "), short(append(bytes.Clone(ed.SPKI()), 0)))},
		{"key-x448", "CMD SYNTAX", "SMP-KEY-4", 18, cat([]byte("KEY "), short(x448.SPKI()))},
		{"nkey-ed-dh", "CMD SYNTAX", "SMP-KEY-4", 18, cat([]byte("NKEY "), short(ed.SPKI()), short(ed.SPKI()))},
		{"nkey-missing-dh", "CMD SYNTAX", "SMP-CMD-NKEY-1", 18, cat([]byte("NKEY "), short(ed.SPKI()))},
		{"rkey-empty-list", "CMD SYNTAX", "SMP-ENC-7", 18, []byte("RKEY \x00")},
		{"new-ed-dh", "CMD SYNTAX", "SMP-KEY-4", 18, cat([]byte("NEW "), short(ed.SPKI()), short(ed.SPKI()), []byte("0S00"))},
		{"new-missing-submode", "CMD SYNTAX", "SMP-CMD-NEW-1", 18, newV18("0")},
		{"new-bad-submode", "CMD SYNTAX", "SMP-CMD-NEW-1", 18, newV18("0X00")},
		{"new-bad-maybe", "CMD SYNTAX", "SMP-ENC-3", 18, newV18("2S00")},
		{"new-bad-queue-mode", "CMD SYNTAX", "SMP-CMD-NEW-1", 18, newV18("0S1Z00")},
		{"new-trailing", "CMD SYNTAX", "SMP-PARSE-2", 18, newV18("0S00x")},
		{"new-v9-bad-bool", "CMD SYNTAX", "SMP-ENC-2", 9, newV18("0SX")},
		{"new-v17-missing-ntf", "CMD SYNTAX", "SMP-CMD-NEW-1", 17, newV18("0S0")},
		{"lset-missing-user", "CMD SYNTAX", "SMP-CMD-LSET-1", 18, cat([]byte("LSET "), short(id("l")), []byte{0, 1, 'f'})},
		{"lset-truncated-large", "CMD SYNTAX", "SMP-ENC-5", 18, cat([]byte("LSET "), short(id("l")), []byte{0, 9, 'f'})},
		{"prxy-no-hosts", "CMD SYNTAX", "SMP-ADDR-2", 18, cat([]byte("PRXY \x00"), short([]byte("5223")), short(srv.KeyHash), []byte("0"))},
		{"prxy-no-auth-flag", "CMD SYNTAX", "SMP-CMD-PRXY-1", 18, cat([]byte("PRXY \x01"), short([]byte("h")), short(nil), short(srv.KeyHash))},
		{"pfwd-ed-key", "CMD SYNTAX", "SMP-KEY-4", 18, cat([]byte("PFWD \x00\x11"), short(ed.SPKI()), []byte("et"))},
		{"pfwd-short-version", "CMD SYNTAX", "SMP-CMD-PFWD-1", 18, []byte("PFWD \x00")},
		{"rfwd-no-space", "CMD SYNTAX", "SMP-CMD-RFWD-1", 18, []byte("RFWD")},
		{"lkey-missing", "CMD SYNTAX", "SMP-CMD-LKEY-1", 18, []byte("LKEY ")},
	}
	for _, c := range invalid {
		got, err := smp.ParseCommand(c.v, c.b)
		e, ok := smp.ErrorTypeOf(err)
		if err == nil || !ok || e.String() != c.err {
			return nil, fmt.Errorf("invalid case %s: parser gives %v (%v), the rules say %s", c.id, err, got, c.err)
		}
		f.Cases = append(f.Cases, cmdCase{Case: Case{ID: "bad-" + c.id, Spec: c.spec, Error: c.err, Version: int(c.v)}, Kind: "command", Bytes: c.b})
	}
	badRsp := []struct {
		id, spec string
		b        []byte
	}{
		{"ids-truncated", "SMP-RSP-IDS-1", []byte("IDS \x18abc")},
		{"msg-no-id", "SMP-RSP-MSG-1", []byte("MSG")},
		{"err-unknown", "SMP-ERR-1", []byte("ERR FOO")},
		{"err-blocked-bad-reason", "SMP-ERR-1", []byte("ERR BLOCKED reason=other")},
		{"err-cmd-unknown-detail", "SMP-ERR-1", []byte("ERR CMD FOO")},
		{"soks-short", "SMP-RSP-SOKS-1", []byte("SOKS \x00\x01")},
	}
	for _, c := range badRsp {
		if _, err := smp.ParseResponse(18, c.b); err == nil {
			return nil, fmt.Errorf("invalid response %s parses", c.id)
		}
		f.Cases = append(f.Cases, cmdCase{Case: Case{ID: "bad-rsp-" + c.id, Spec: c.spec, Error: "RESPONSE", Version: 18}, Kind: "response", Bytes: c.b})
	}
	return f, nil
}

func tagOf(x any) string {
	if c, ok := x.(smp.Command); ok {
		return c.Tag()
	}
	return x.(smp.Response).Tag()
}

func verifyCommands(data []byte) error {
	seenTags := map[string]bool{}
	invalid := 0
	err := Check(data, func(c cmdCase) string { return c.ID }, func(c cmdCase) error {
		if !c.Valid {
			invalid++
			got, err := parseAny(c.Kind, smp.Version(c.Version), c.Bytes)
			if err == nil {
				return fmt.Errorf("parsed as %v", got)
			}
			if c.Kind == "command" {
				if e, _ := smp.ErrorTypeOf(err); e.String() != c.Error {
					return fmt.Errorf("error %v, want %s", err, c.Error)
				}
			}
			return nil
		}
		seenTags[c.Kind+" "+c.Tag] = true
		for v := smp.Version(c.Version); v <= smp.Version(c.VersionMax); v++ {
			got, err := parseAny(c.Kind, v, c.Bytes)
			if err != nil {
				return fmt.Errorf("v%d: %w", v, err)
			}
			if g := normJSON(rawJSON(toFields(got))); g != normJSON(c.Fields) {
				return fmt.Errorf("v%d: fields %s, want %s", v, g, c.Fields)
			}
			if tagOf(got) != c.Tag {
				return fmt.Errorf("v%d: tag %s", v, tagOf(got))
			}
			enc, err := encodeAny(c.Kind, v, got)
			want := c.Bytes
			if c.Canonical != nil {
				want = c.Canonical
			}
			if err != nil || !bytes.Equal(enc, want) {
				return fmt.Errorf("v%d: re-encoded %x (%v)", v, enc, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, t := range smp.CommandTags {
		if !seenTags["command "+t] {
			return fmt.Errorf("no case for command %s", t)
		}
	}
	for _, t := range smp.ResponseTags {
		if !seenTags["response "+t] {
			return fmt.Errorf("no case for response %s", t)
		}
	}
	if invalid < 40 {
		return fmt.Errorf("%d invalid cases, want at least 40", invalid)
	}
	return nil
}

package smp

import (
	"fmt"

	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/wire"
)

// A Response is a relay response or event (spec §7).
type Response interface{ Tag() string }

// ServerNtfCreds are the relay's notifier credentials in IDS (v ≥ 17).
type ServerNtfCreds struct {
	NotifierID []byte
	DHKey      smpcrypto.PublicKey // relay's X25519 key for notification metadata
}

// Response types, one per tag.
type (
	RspIDS struct {
		RcvID, SndID []byte
		RcvDHKey     smpcrypto.PublicKey // relay's per-queue X25519 key
		// Mode is the queue mode: from v9 (a Bool in v9..14, which cannot
		// express "no mode": nil is then sent as contact).
		Mode      *QueueMode
		LinkID    []byte          // v ≥ 15, nil when absent
		ServiceID []byte          // v ≥ 16, nil when absent
		NtfCreds  *ServerNtfCreds // v ≥ 17
	}
	RspLNK struct{ SenderID, Fixed, User []byte }
	// RspSOK is encoded as OK below v16 (SMP-RSP-SOK-1).
	RspSOK  struct{ ServiceID []byte }
	RspSOKS struct{ Count int64 }
	RspMSG  struct{ MsgID, Body []byte }
	RspNID  struct {
		NotifierID []byte
		DHKey      smpcrypto.PublicKey
	}
	RspNMSG struct {
		Nonce   smpcrypto.Nonce
		EncMeta []byte
	}
	RspPKEY struct {
		SessionID []byte
		Versions  VersionRange
		Key       CertKey
	}
	RspRRES struct{ Enc []byte }
	RspPRES struct{ Enc []byte }
	RspEND  struct{}
	RspENDS struct{ Count int64 }
	// RspDELD is encoded as END below v10 (SMP-RSP-DELD-1).
	RspDELD struct{}
	RspINFO struct{ JSON []byte }
	RspOK   struct{}
	RspERR  struct{ Err ErrorType }
	RspPONG struct{}
)

func (RspIDS) Tag() string  { return "IDS" }
func (RspLNK) Tag() string  { return "LNK" }
func (RspSOK) Tag() string  { return "SOK" }
func (RspSOKS) Tag() string { return "SOKS" }
func (RspMSG) Tag() string  { return "MSG" }
func (RspNID) Tag() string  { return "NID" }
func (RspNMSG) Tag() string { return "NMSG" }
func (RspPKEY) Tag() string { return "PKEY" }
func (RspRRES) Tag() string { return "RRES" }
func (RspPRES) Tag() string { return "PRES" }
func (RspEND) Tag() string  { return "END" }
func (RspENDS) Tag() string { return "ENDS" }
func (RspDELD) Tag() string { return "DELD" }
func (RspINFO) Tag() string { return "INFO" }
func (RspOK) Tag() string   { return "OK" }
func (RspERR) Tag() string  { return "ERR" }
func (RspPONG) Tag() string { return "PONG" }

// ResponseTags lists the 17 response and event tags.
var ResponseTags = []string{"IDS", "LNK", "SOK", "SOKS", "MSG", "NID", "NMSG", "PKEY", "RRES", "PRES", "END", "ENDS", "DELD", "INFO", "OK", "ERR", "PONG"}

func appendOptShort(b *wire.Builder, s []byte) {
	b.Maybe(s != nil)
	if s != nil {
		b.Short(s)
	}
}

func parseOptShort(p *wire.Parser) []byte {
	if !p.Maybe() {
		return nil
	}
	s := p.Short()
	if s == nil && p.Err() == nil {
		s = []byte{}
	}
	return s
}

// AppendResponse writes r as encoded at version v (SMP-RSP-*-1).
func AppendResponse(b *wire.Builder, v Version, r Response) {
	switch r := r.(type) {
	case RspIDS:
		b.String("IDS ")
		b.Short(r.RcvID)
		b.Short(r.SndID)
		checkDHKey(b, r.RcvDHKey)
		appendKey(b, r.RcvDHKey)
		appendIDS(b, v, r)
	case RspLNK:
		b.String("LNK ")
		b.Short(r.SenderID)
		b.Large(r.Fixed)
		b.Large(r.User)
	case RspSOK:
		if v < VersionServiceCerts {
			if r.ServiceID != nil {
				b.SetError(fmt.Errorf("smp: SOK with a service id needs v%d", VersionServiceCerts))
			}
			b.String("OK")
			return
		}
		b.String("SOK ")
		appendOptShort(b, r.ServiceID)
	case RspSOKS:
		b.String("SOKS ")
		b.Int64(r.Count)
	case RspMSG:
		b.String("MSG ")
		b.Short(r.MsgID)
		b.Tail(r.Body)
	case RspNID:
		b.String("NID ")
		b.Short(r.NotifierID)
		checkDHKey(b, r.DHKey)
		appendKey(b, r.DHKey)
	case RspNMSG:
		b.String("NMSG ")
		b.Raw(r.Nonce[:])
		b.Short(r.EncMeta)
	case RspPKEY:
		b.String("PKEY ")
		b.Short(r.SessionID)
		r.Versions.Append(b)
		r.Key.append(b)
	case RspRRES:
		b.String("RRES ")
		b.Tail(r.Enc)
	case RspPRES:
		b.String("PRES ")
		b.Tail(r.Enc)
	case RspEND:
		b.String("END")
	case RspENDS:
		b.String("ENDS ")
		b.Int64(r.Count)
	case RspDELD:
		if v < VersionDeletedEvent {
			b.String("END")
		} else {
			b.String("DELD")
		}
	case RspINFO:
		b.String("INFO ")
		b.Tail(r.JSON)
	case RspOK:
		b.String("OK")
	case RspERR:
		b.String("ERR ")
		AppendErrorType(b, v, r.Err)
	case RspPONG:
		b.String("PONG")
	default:
		b.SetError(fmt.Errorf("smp: unknown response type %T", r))
	}
}

func appendIDS(b *wire.Builder, v Version, r RspIDS) {
	if r.Mode != nil && *r.Mode != QueueMessaging && *r.Mode != QueueContact {
		b.SetError(fmt.Errorf("smp: IDS queue mode %q", *r.Mode))
		return
	}
	switch {
	case v < VersionSndAuthKey:
		if r.Mode != nil || r.LinkID != nil || r.ServiceID != nil || r.NtfCreds != nil {
			b.SetError(fmt.Errorf("smp: IDS at v%d has ids and keys only", v))
		}
		return
	case v < VersionShortLinks:
		if r.LinkID != nil || r.ServiceID != nil || r.NtfCreds != nil {
			b.SetError(fmt.Errorf("smp: IDS at v%d has no link, service or notifier", v))
			return
		}
		b.Bool(r.Mode != nil && *r.Mode == QueueMessaging)
		return
	}
	b.Maybe(r.Mode != nil)
	if r.Mode != nil {
		b.Byte(byte(*r.Mode))
	}
	appendOptShort(b, r.LinkID)
	if v >= VersionServiceCerts {
		appendOptShort(b, r.ServiceID)
	} else if r.ServiceID != nil {
		b.SetError(fmt.Errorf("smp: IDS service id needs v%d", VersionServiceCerts))
	}
	if v >= VersionNewNtfCreds {
		b.Maybe(r.NtfCreds != nil)
		if n := r.NtfCreds; n != nil {
			b.Short(n.NotifierID)
			checkDHKey(b, n.DHKey)
			appendKey(b, n.DHKey)
		}
	} else if r.NtfCreds != nil {
		b.SetError(fmt.Errorf("smp: IDS notifier credentials need v%d", VersionNewNtfCreds))
	}
}

// EncodeResponse returns the bytes of r at version v.
func EncodeResponse(v Version, r Response) ([]byte, error) {
	b := wire.NewBuilder(nil)
	AppendResponse(b, v, r)
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", r.Tag(), err)
	}
	return out, nil
}

// ParseResponse decodes a response or event at version v. Errors are
// *ProtocolError CMD UNKNOWN or CMD SYNTAX, as a client reports them.
func ParseResponse(v Version, data []byte) (Response, error) {
	tag, params := splitTag(data)
	p := wire.NewParser(params)
	var r Response
	switch tag {
	case "IDS":
		p.Space()
		ids := RspIDS{RcvID: p.Short(), SndID: p.Short(), RcvDHKey: parseDHKey(p)}
		parseIDS(p, v, &ids)
		r = ids
	case "LNK":
		p.Space()
		r = RspLNK{SenderID: p.Short(), Fixed: p.Large(), User: p.Large()}
	case "SOK":
		p.Space()
		r = RspSOK{ServiceID: parseOptShort(p)}
	case "SOKS":
		p.Space()
		r = RspSOKS{Count: p.Int64()}
	case "MSG":
		p.Space()
		r = RspMSG{MsgID: p.Short(), Body: p.Tail()}
	case "NID":
		p.Space()
		r = RspNID{NotifierID: p.Short(), DHKey: parseDHKey(p)}
	case "NMSG":
		p.Space()
		var n RspNMSG
		copy(n.Nonce[:], p.Raw(smpcrypto.NonceSize))
		n.EncMeta = p.Short()
		r = n
	case "PKEY":
		p.Space()
		r = RspPKEY{SessionID: p.Short(), Versions: ParseVersionRange(p), Key: parseCertKey(p)}
	case "RRES":
		p.Space()
		r = RspRRES{Enc: p.Tail()}
	case "PRES":
		p.Space()
		r = RspPRES{Enc: p.Tail()}
	case "END":
		r = RspEND{}
	case "ENDS":
		p.Space()
		r = RspENDS{Count: p.Int64()}
	case "DELD":
		r = RspDELD{}
	case "INFO":
		p.Space()
		r = RspINFO{JSON: p.Tail()}
	case "OK":
		r = RspOK{}
	case "ERR":
		p.Space()
		r = RspERR{Err: ParseErrorType(p)}
	case "PONG":
		r = RspPONG{}
	default:
		return nil, Errorf(CMDUnknown, "unknown response %q", clipText([]byte(tag), 16))
	}
	if err := p.Finish(); err != nil {
		return nil, wrapErr(CMDSyntax, "parse "+tag, err)
	}
	return r, nil
}

func parseIDS(p *wire.Parser, v Version, r *RspIDS) {
	switch {
	case v < VersionSndAuthKey:
		return
	case v < VersionShortLinks:
		m := QueueContact
		if p.Bool() {
			m = QueueMessaging
		}
		r.Mode = &m
		return
	}
	if p.Maybe() {
		m := QueueMode(p.Byte())
		if p.Err() == nil && m != QueueMessaging && m != QueueContact {
			p.Failf("bad queue mode %q", byte(m))
		}
		r.Mode = &m
	}
	r.LinkID = parseOptShort(p)
	if v >= VersionServiceCerts {
		r.ServiceID = parseOptShort(p)
	}
	if v >= VersionNewNtfCreds && p.Maybe() {
		r.NtfCreds = &ServerNtfCreds{NotifierID: p.Short(), DHKey: parseDHKey(p)}
	}
}

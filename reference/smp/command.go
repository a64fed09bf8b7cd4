package smp

import (
	"bytes"
	"fmt"

	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/wire"
)

// Party is who may send a command (spec §6.2); it selects the id kind a
// relay looks the entity up by and the key that authorizes the command.
type Party uint8

const (
	Creator          Party = iota + 1 // NEW
	Recipient                         // SUB KEY RKEY LSET LDEL NKEY NDEL GET ACK OFF DEL QUE
	RecipientService                  // SUBS
	Sender                            // SKEY SEND
	IdleClient                        // PING
	LinkClient                        // LKEY LGET
	Notifier                          // NSUB
	NotifierService                   // NSUBS
	ProxiedClient                     // PRXY PFWD (a client talking to a proxy)
	ProxyService                      // RFWD (a proxy talking to a relay)
)

var partyNames = [...]string{"", "Creator", "Recipient", "RecipientService", "Sender", "IdleClient", "LinkClient", "Notifier", "NotifierService", "ProxiedClient", "ProxyService"}

func (p Party) String() string {
	if int(p) < len(partyNames) && p > 0 {
		return partyNames[p]
	}
	return fmt.Sprintf("Party(%d)", uint8(p))
}

// A Command is one client command (spec §6.5).
type Command interface {
	Tag() string
	Party() Party
}

// SubMode is NEW's subscribe mode.
type SubMode byte

const (
	SubModeSubscribe  SubMode = 'S' // subscribe the creating connection
	SubModeOnlyCreate SubMode = 'C'
)

// QueueMode is fixed at creation (SMP-QSTATE-5).
type QueueMode byte

const (
	QueueMessaging QueueMode = 'M' // secured by the sender (SKEY/LKEY)
	QueueContact   QueueMode = 'C' // never secured by a sender
)

// QueueReq is NEW's queue request data (v ≥ 9; data from v15).
type QueueReq struct {
	Mode QueueMode
	// Link is the optional short-link data (v ≥ 15).
	Link *QueueLinkReq
}

// QueueLinkReq is the link part of a queue request. LinkID is sent only for
// contact queues; messaging queues get a relay-chosen link id.
type QueueLinkReq struct {
	LinkID   []byte // contact mode only
	SenderID []byte // SHA3-384(corrId)[:24] (SMP-CMD-NEW-2)
	Fixed    []byte // encrypted fixed link data (large string)
	User     []byte // encrypted user link data (large string)
}

// NewNtfCreds are the notifier credentials in NEW (v ≥ 17).
type NewNtfCreds struct {
	AuthKey smpcrypto.PublicKey // notifier authorization key
	DHKey   smpcrypto.PublicKey // recipient's X25519 key for notification metadata
}

// Command types, one per tag.
type (
	CmdNEW struct {
		RcvAuthKey smpcrypto.PublicKey
		RcvDHKey   smpcrypto.PublicKey
		BasicAuth  *string // the relay password, nil when absent
		SubMode    SubMode
		QueueReq   *QueueReq    // v ≥ 9 (mode only below v15)
		NtfCreds   *NewNtfCreds // v ≥ 17
	}
	CmdSUB  struct{}
	CmdSUBS struct{}
	CmdKEY  struct{ SenderKey smpcrypto.PublicKey }
	CmdRKEY struct{ Keys []smpcrypto.PublicKey }
	CmdLSET struct{ LinkID, Fixed, User []byte }
	CmdLDEL struct{}
	CmdNKEY struct{ NotifierKey, DHKey smpcrypto.PublicKey }
	CmdNDEL struct{}
	CmdGET  struct{}
	CmdACK  struct{ MsgID []byte }
	CmdOFF  struct{}
	CmdDEL  struct{}
	CmdQUE  struct{}
	CmdSKEY struct{ SenderKey smpcrypto.PublicKey }
	CmdSEND struct {
		Notify bool // the notification flag, the only flag
		Body   []byte
	}
	CmdPING  struct{}
	CmdLKEY  struct{ SenderKey smpcrypto.PublicKey }
	CmdLGET  struct{}
	CmdNSUB  struct{}
	CmdNSUBS struct{}
	CmdPRXY  struct {
		Server    Server
		BasicAuth *string
	}
	CmdPFWD struct {
		Version Version             // version for the destination relay
		Key     smpcrypto.PublicKey // the client's per-command X25519 key
		EncTx   []byte              // the encrypted inner transmission
	}
	CmdRFWD struct{ EncTx []byte }
)

func (CmdNEW) Tag() string   { return "NEW" }
func (CmdSUB) Tag() string   { return "SUB" }
func (CmdSUBS) Tag() string  { return "SUBS" }
func (CmdKEY) Tag() string   { return "KEY" }
func (CmdRKEY) Tag() string  { return "RKEY" }
func (CmdLSET) Tag() string  { return "LSET" }
func (CmdLDEL) Tag() string  { return "LDEL" }
func (CmdNKEY) Tag() string  { return "NKEY" }
func (CmdNDEL) Tag() string  { return "NDEL" }
func (CmdGET) Tag() string   { return "GET" }
func (CmdACK) Tag() string   { return "ACK" }
func (CmdOFF) Tag() string   { return "OFF" }
func (CmdDEL) Tag() string   { return "DEL" }
func (CmdQUE) Tag() string   { return "QUE" }
func (CmdSKEY) Tag() string  { return "SKEY" }
func (CmdSEND) Tag() string  { return "SEND" }
func (CmdPING) Tag() string  { return "PING" }
func (CmdLKEY) Tag() string  { return "LKEY" }
func (CmdLGET) Tag() string  { return "LGET" }
func (CmdNSUB) Tag() string  { return "NSUB" }
func (CmdNSUBS) Tag() string { return "NSUBS" }
func (CmdPRXY) Tag() string  { return "PRXY" }
func (CmdPFWD) Tag() string  { return "PFWD" }
func (CmdRFWD) Tag() string  { return "RFWD" }

func (CmdNEW) Party() Party   { return Creator }
func (CmdSUB) Party() Party   { return Recipient }
func (CmdSUBS) Party() Party  { return RecipientService }
func (CmdKEY) Party() Party   { return Recipient }
func (CmdRKEY) Party() Party  { return Recipient }
func (CmdLSET) Party() Party  { return Recipient }
func (CmdLDEL) Party() Party  { return Recipient }
func (CmdNKEY) Party() Party  { return Recipient }
func (CmdNDEL) Party() Party  { return Recipient }
func (CmdGET) Party() Party   { return Recipient }
func (CmdACK) Party() Party   { return Recipient }
func (CmdOFF) Party() Party   { return Recipient }
func (CmdDEL) Party() Party   { return Recipient }
func (CmdQUE) Party() Party   { return Recipient }
func (CmdSKEY) Party() Party  { return Sender }
func (CmdSEND) Party() Party  { return Sender }
func (CmdPING) Party() Party  { return IdleClient }
func (CmdLKEY) Party() Party  { return LinkClient }
func (CmdLGET) Party() Party  { return LinkClient }
func (CmdNSUB) Party() Party  { return Notifier }
func (CmdNSUBS) Party() Party { return NotifierService }
func (CmdPRXY) Party() Party  { return ProxiedClient }
func (CmdPFWD) Party() Party  { return ProxiedClient }
func (CmdRFWD) Party() Party  { return ProxyService }

// CommandTags lists the 24 command tags (SMP-PARSE-1).
var CommandTags = []string{"NEW", "SUB", "SUBS", "KEY", "RKEY", "LSET", "LDEL", "NKEY", "NDEL", "GET", "ACK", "OFF", "DEL", "QUE", "SKEY", "SEND", "PING", "LKEY", "LGET", "NSUB", "NSUBS", "PRXY", "PFWD", "RFWD"}

// appendKey writes a key as a short string holding its SPKI (SMP-KEY-3).
func appendKey(b *wire.Builder, k smpcrypto.PublicKey) {
	if _, err := smpcrypto.NewPublicKey(k.Alg, k.Raw); err != nil {
		b.SetError(err)
		return
	}
	b.Short(k.SPKI())
}

// parseAuthKey reads an authorization key: Ed25519, Ed448 or X25519.
func parseAuthKey(p *wire.Parser) smpcrypto.PublicKey {
	der := p.Short()
	if p.Err() != nil {
		return smpcrypto.PublicKey{}
	}
	k, err := smpcrypto.ParseSPKI(der)
	if err != nil {
		p.Fail(err)
		return smpcrypto.PublicKey{}
	}
	if k.Alg == smpcrypto.X448 {
		p.Failf("X448 is not an authorization key")
	}
	return k
}

// parseDHKey reads an X25519 key.
func parseDHKey(p *wire.Parser) smpcrypto.PublicKey {
	der := p.Short()
	if p.Err() != nil {
		return smpcrypto.PublicKey{}
	}
	k, err := smpcrypto.ParseSPKIAlg(der, smpcrypto.X25519)
	if err != nil {
		p.Fail(err)
	}
	return k
}

func checkAuthKey(b *wire.Builder, k smpcrypto.PublicKey) {
	if k.Alg == smpcrypto.X448 {
		b.SetError(fmt.Errorf("smp: X448 is not an authorization key"))
	}
}

func checkDHKey(b *wire.Builder, k smpcrypto.PublicKey) {
	if k.Alg != smpcrypto.X25519 {
		b.SetError(fmt.Errorf("smp: %s key where X25519 is required", k.Alg))
	}
}

func appendOptString(b *wire.Builder, s *string) {
	b.Maybe(s != nil)
	if s != nil {
		if err := ValidBasicAuth(*s); err != nil {
			b.SetError(err)
			return
		}
		b.Short([]byte(*s))
	}
}

func parseBasicAuth(p *wire.Parser) *string {
	s := string(p.Short())
	if p.Err() != nil {
		return nil
	}
	if err := ValidBasicAuth(s); err != nil {
		p.Fail(err)
		return nil
	}
	return &s
}

// AppendCommand writes c (tag and parameters) as encoded at version v
// (SMP-CMD-*-1). A field that does not exist at v is an encoding error.
func AppendCommand(b *wire.Builder, v Version, c Command) {
	b.String(c.Tag())
	switch c := c.(type) {
	case CmdNEW:
		b.Byte(' ')
		checkAuthKey(b, c.RcvAuthKey)
		appendKey(b, c.RcvAuthKey)
		checkDHKey(b, c.RcvDHKey)
		appendKey(b, c.RcvDHKey)
		appendNEW(b, v, c)
	case CmdKEY:
		b.Byte(' ')
		checkAuthKey(b, c.SenderKey)
		appendKey(b, c.SenderKey)
	case CmdSKEY:
		b.Byte(' ')
		checkAuthKey(b, c.SenderKey)
		appendKey(b, c.SenderKey)
	case CmdLKEY:
		b.Byte(' ')
		checkAuthKey(b, c.SenderKey)
		appendKey(b, c.SenderKey)
	case CmdRKEY:
		b.Byte(' ')
		b.Count(len(c.Keys), true)
		for _, k := range c.Keys {
			checkAuthKey(b, k)
			appendKey(b, k)
		}
	case CmdLSET:
		b.Byte(' ')
		b.Short(c.LinkID)
		b.Large(c.Fixed)
		b.Large(c.User)
	case CmdNKEY:
		b.Byte(' ')
		checkAuthKey(b, c.NotifierKey)
		appendKey(b, c.NotifierKey)
		checkDHKey(b, c.DHKey)
		appendKey(b, c.DHKey)
	case CmdACK:
		b.Byte(' ')
		b.Short(c.MsgID)
	case CmdSEND:
		b.Byte(' ')
		b.Bool(c.Notify)
		b.Byte(' ')
		b.Tail(c.Body)
	case CmdPRXY:
		b.Byte(' ')
		c.Server.AppendBinary(b)
		appendOptString(b, c.BasicAuth)
	case CmdPFWD:
		b.Byte(' ')
		b.Word16(uint16(c.Version))
		checkDHKey(b, c.Key)
		appendKey(b, c.Key)
		b.Tail(c.EncTx)
	case CmdRFWD:
		b.Byte(' ')
		b.Tail(c.EncTx)
	case CmdSUB, CmdSUBS, CmdLDEL, CmdNDEL, CmdGET, CmdOFF, CmdDEL, CmdQUE, CmdPING, CmdLGET, CmdNSUB, CmdNSUBS:
	default:
		b.SetError(fmt.Errorf("smp: unknown command type %T", c))
	}
}

func appendNEW(b *wire.Builder, v Version, c CmdNEW) {
	if c.SubMode != SubModeSubscribe && c.SubMode != SubModeOnlyCreate {
		b.SetError(fmt.Errorf("smp: NEW subscribe mode %q", c.SubMode))
		return
	}
	if c.NtfCreds != nil && v < VersionNewNtfCreds {
		b.SetError(fmt.Errorf("smp: NEW notifier credentials need v%d", VersionNewNtfCreds))
		return
	}
	if c.QueueReq != nil && c.QueueReq.Link != nil && v < VersionShortLinks {
		b.SetError(fmt.Errorf("smp: NEW link data needs v%d", VersionShortLinks))
		return
	}
	if c.QueueReq != nil && c.QueueReq.Mode != QueueMessaging && c.QueueReq.Mode != QueueContact {
		b.SetError(fmt.Errorf("smp: NEW queue mode %q", c.QueueReq.Mode))
		return
	}
	if v < VersionSndAuthKey {
		// v6..8: an optional 'A'-prefixed password, then the mode.
		if c.QueueReq != nil {
			b.SetError(fmt.Errorf("smp: NEW queue mode needs v%d", VersionSndAuthKey))
			return
		}
		if c.BasicAuth != nil {
			if err := ValidBasicAuth(*c.BasicAuth); err != nil {
				b.SetError(err)
				return
			}
			b.Byte('A')
			b.Short([]byte(*c.BasicAuth))
		}
		b.Byte(byte(c.SubMode))
		return
	}
	appendOptString(b, c.BasicAuth)
	b.Byte(byte(c.SubMode))
	if v < VersionShortLinks {
		// v9..14: a Bool, true when the sender may secure (messaging).
		b.Bool(c.QueueReq != nil && c.QueueReq.Mode == QueueMessaging)
		return
	}
	b.Maybe(c.QueueReq != nil)
	if q := c.QueueReq; q != nil {
		b.Byte(byte(q.Mode))
		b.Maybe(q.Link != nil)
		if l := q.Link; l != nil {
			if q.Mode == QueueContact {
				b.Short(l.LinkID)
			} else if l.LinkID != nil {
				b.SetError(fmt.Errorf("smp: NEW messaging link data has no link id"))
				return
			}
			b.Short(l.SenderID)
			b.Large(l.Fixed)
			b.Large(l.User)
		}
	}
	if v >= VersionNewNtfCreds {
		b.Maybe(c.NtfCreds != nil)
		if n := c.NtfCreds; n != nil {
			checkAuthKey(b, n.AuthKey)
			appendKey(b, n.AuthKey)
			checkDHKey(b, n.DHKey)
			appendKey(b, n.DHKey)
		}
	}
}

// EncodeCommand returns the bytes of c at version v.
func EncodeCommand(v Version, c Command) ([]byte, error) {
	b := wire.NewBuilder(nil)
	AppendCommand(b, v, c)
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", c.Tag(), err)
	}
	return out, nil
}

// splitTag separates the tag (up to the first space) from the parameters
// (SMP-PARSE-1). params keeps its leading space.
func splitTag(data []byte) (tag string, params []byte) {
	i := bytes.IndexByte(data, ' ')
	if i < 0 {
		return string(data), nil
	}
	return string(data[:i]), data[i:]
}

// ParseCommand decodes a command at version v. An unknown tag is ERR CMD
// UNKNOWN (SMP-PARSE-1); bad or extra parameters are ERR CMD SYNTAX
// (SMP-PARSE-2). Like the reference relay it parses every tag whatever the
// version; version gates are the relay's business (SMP-VER-3). Byte fields
// alias data.
func ParseCommand(v Version, data []byte) (Command, error) {
	tag, params := splitTag(data)
	p := wire.NewParser(params)
	var c Command
	switch tag {
	case "NEW":
		p.Space()
		n := CmdNEW{RcvAuthKey: parseAuthKey(p), RcvDHKey: parseDHKey(p)}
		parseNEW(p, v, &n)
		c = n
	case "SUB":
		c = CmdSUB{}
	case "SUBS":
		c = CmdSUBS{}
	case "KEY":
		p.Space()
		c = CmdKEY{SenderKey: parseAuthKey(p)}
	case "RKEY":
		p.Space()
		n := p.Count(true)
		keys := make([]smpcrypto.PublicKey, 0, min(n, p.Len()/2+1))
		for i := 0; i < n && p.Err() == nil; i++ {
			keys = append(keys, parseAuthKey(p))
		}
		c = CmdRKEY{Keys: keys}
	case "LSET":
		p.Space()
		c = CmdLSET{LinkID: p.Short(), Fixed: p.Large(), User: p.Large()}
	case "LDEL":
		c = CmdLDEL{}
	case "NKEY":
		p.Space()
		c = CmdNKEY{NotifierKey: parseAuthKey(p), DHKey: parseDHKey(p)}
	case "NDEL":
		c = CmdNDEL{}
	case "GET":
		c = CmdGET{}
	case "ACK":
		p.Space()
		c = CmdACK{MsgID: p.Short()}
	case "OFF":
		c = CmdOFF{}
	case "DEL":
		c = CmdDEL{}
	case "QUE":
		c = CmdQUE{}
	case "SKEY":
		p.Space()
		c = CmdSKEY{SenderKey: parseAuthKey(p)}
	case "SEND":
		p.Space()
		notify := p.Bool()
		// SMP-CMD-SEND-1: further flag bytes up to the space are ignored.
		if rest := p.Rest(); rest != nil {
			i := bytes.IndexByte(rest, ' ')
			if i < 0 {
				i = len(rest)
			}
			p.Raw(i)
		}
		p.Space()
		c = CmdSEND{Notify: notify, Body: p.Tail()}
	case "PING":
		c = CmdPING{}
	case "LKEY":
		p.Space()
		c = CmdLKEY{SenderKey: parseAuthKey(p)}
	case "LGET":
		c = CmdLGET{}
	case "NSUB":
		c = CmdNSUB{}
	case "NSUBS":
		c = CmdNSUBS{}
	case "PRXY":
		p.Space()
		srv := ParseServerBinary(p)
		var auth *string
		if p.Maybe() {
			auth = parseBasicAuth(p)
		}
		c = CmdPRXY{Server: srv, BasicAuth: auth}
	case "PFWD":
		p.Space()
		c = CmdPFWD{Version: Version(p.Word16()), Key: parseDHKey(p), EncTx: p.Tail()}
	case "RFWD":
		p.Space()
		c = CmdRFWD{EncTx: p.Tail()}
	default:
		return nil, Errorf(CMDUnknown, "unknown command %q", clipText([]byte(tag), 16))
	}
	if err := p.Finish(); err != nil {
		return nil, wrapErr(CMDSyntax, "parse "+tag, err)
	}
	return c, nil
}

func parseNEW(p *wire.Parser, v Version, n *CmdNEW) {
	subMode := func() {
		switch m := SubMode(p.Byte()); m {
		case SubModeSubscribe, SubModeOnlyCreate:
			n.SubMode = m
		default:
			if p.Err() == nil {
				p.Failf("bad subscribe mode %q", byte(m))
			}
		}
	}
	if v < VersionSndAuthKey {
		if p.HasPrefix("A") {
			p.Byte()
			n.BasicAuth = parseBasicAuth(p)
		}
		subMode()
		return
	}
	if p.Maybe() {
		n.BasicAuth = parseBasicAuth(p)
	}
	subMode()
	if v < VersionShortLinks {
		if p.Bool() {
			n.QueueReq = &QueueReq{Mode: QueueMessaging}
		} else {
			n.QueueReq = &QueueReq{Mode: QueueContact}
		}
		return
	}
	if p.Maybe() {
		q := &QueueReq{Mode: QueueMode(p.Byte())}
		if p.Err() == nil && q.Mode != QueueMessaging && q.Mode != QueueContact {
			p.Failf("bad queue mode %q", byte(q.Mode))
			return
		}
		if p.Maybe() {
			l := &QueueLinkReq{}
			if q.Mode == QueueContact {
				l.LinkID = p.Short()
			}
			l.SenderID, l.Fixed, l.User = p.Short(), p.Large(), p.Large()
			q.Link = l
		}
		n.QueueReq = q
	}
	if v >= VersionNewNtfCreds && p.Maybe() {
		n.NtfCreds = &NewNtfCreds{AuthKey: parseAuthKey(p), DHKey: parseDHKey(p)}
	}
}

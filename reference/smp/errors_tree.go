package smp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/smpkit/smpkit/reference/wire"
)

// The ERR tree (spec §8.1, SMP-ERR-1..4). Every level is a word read up to
// the next space or the end, then its detail.

// ProxyErrKind is the first word of an ERR PROXY detail.
type ProxyErrKind string

const (
	ProxyPROTOCOL  ProxyErrKind = "PROTOCOL"
	ProxyBROKER    ProxyErrKind = "BROKER"
	ProxyBASICAUTH ProxyErrKind = "BASIC_AUTH"
	ProxyNOSESSION ProxyErrKind = "NO_SESSION"
)

// ProxyError is the detail of ERR PROXY.
type ProxyError struct {
	Kind     ProxyErrKind
	Protocol *ErrorType  // PROTOCOL: the destination relay's error
	Broker   BrokerError // BROKER
}

// BrokerErrKind is the first word of a BROKER detail.
type BrokerErrKind string

const (
	BrokerRESPONSE   BrokerErrKind = "RESPONSE"
	BrokerUNEXPECTED BrokerErrKind = "UNEXPECTED"
	BrokerNETWORK    BrokerErrKind = "NETWORK"
	BrokerTIMEOUT    BrokerErrKind = "TIMEOUT"
	BrokerHOST       BrokerErrKind = "HOST"
	BrokerNOSERVICE  BrokerErrKind = "NO_SERVICE"
	BrokerTRANSPORT  BrokerErrKind = "TRANSPORT"
)

// BrokerError is a failure reaching or using another relay.
type BrokerError struct {
	Kind      BrokerErrKind
	Text      string         // RESPONSE, UNEXPECTED (a short string on the wire)
	Network   *NetworkError  // NETWORK detail; encoders never write it (SMP-ERR-3)
	Transport TransportError // TRANSPORT
}

// NetworkError is the optional detail of BROKER NETWORK.
type NetworkError struct {
	Kind string // CONNECT, TLS, UNKNOWNCA, FAILED, TIMEOUT, SUBSCRIBE
	Text string // CONNECT, TLS, SUBSCRIBE
}

// TransportError is the detail of BROKER TRANSPORT (and the text of a
// service reply error).
type TransportError struct {
	Kind      string // BLOCK, VERSION, LARGE_MSG, SESSION, NO_AUTH, HANDSHAKE
	Handshake string // HANDSHAKE: PARSE, IDENTITY, BAD_AUTH, BAD_SERVICE
}

// BlockingInfo is the detail of ERR BLOCKED (SMP-ERR-2, §11.4).
type BlockingInfo struct {
	Reason string        // "spam" or "content"
	Notice *ClientNotice // sent only from v18
}

// ClientNotice is the JSON notice of a blocked entity.
type ClientNotice struct {
	TTL *int64 `json:"ttl,omitempty"` // seconds; absent means indefinite
}

var networkKinds = map[string]bool{"CONNECT": true, "TLS": true, "UNKNOWNCA": true, "FAILED": true, "TIMEOUT": true, "SUBSCRIBE": true}
var networkText = map[string]bool{"CONNECT": true, "TLS": true, "SUBSCRIBE": true}
var transportKinds = map[string]bool{"BLOCK": true, "VERSION": true, "LARGE_MSG": true, "SESSION": true, "NO_AUTH": true, "HANDSHAKE": true}
var handshakeKinds = map[string]bool{"PARSE": true, "IDENTITY": true, "BAD_AUTH": true, "BAD_SERVICE": true}
var cmdKinds = map[CmdErr]bool{CmdUNKNOWN: true, CmdSYNTAX: true, CmdPROHIBITED: true, CmdNOAUTH: true, CmdHASAUTH: true, CmdNOENTITY: true}

// Equal compares error values, following the pointers of the tree.
func (e ErrorType) Equal(o ErrorType) bool {
	if e.Kind != o.Kind || e.Cmd != o.Cmd || e.Store != o.Store {
		return false
	}
	if (e.Proxy == nil) != (o.Proxy == nil) || (e.Blocked == nil) != (o.Blocked == nil) {
		return false
	}
	if e.Proxy != nil {
		a, b := e.Proxy, o.Proxy
		if a.Kind != b.Kind || (a.Protocol == nil) != (b.Protocol == nil) || !a.Broker.equal(b.Broker) {
			return false
		}
		if a.Protocol != nil && !a.Protocol.Equal(*b.Protocol) {
			return false
		}
	}
	if e.Blocked != nil {
		a, b := e.Blocked, o.Blocked
		if a.Reason != b.Reason || (a.Notice == nil) != (b.Notice == nil) {
			return false
		}
		if a.Notice != nil && (a.Notice.TTL == nil) != (b.Notice.TTL == nil) {
			return false
		}
		if a.Notice != nil && a.Notice.TTL != nil && *a.Notice.TTL != *b.Notice.TTL {
			return false
		}
	}
	return true
}

func (b BrokerError) equal(o BrokerError) bool {
	if b.Kind != o.Kind || b.Text != o.Text || b.Transport != o.Transport || (b.Network == nil) != (o.Network == nil) {
		return false
	}
	return b.Network == nil || *b.Network == *o.Network
}

// String is the wire text of the error at the latest version, e.g.
// "CMD SYNTAX" (short strings are shown as plain text).
func (e ErrorType) String() string {
	switch e.Kind {
	case ErrCMD:
		return "CMD " + string(e.Cmd)
	case ErrSTORE:
		return "STORE " + e.Store
	case ErrBLOCKED:
		if e.Blocked == nil {
			return "BLOCKED"
		}
		return "BLOCKED " + string(e.Blocked.text(true))
	case ErrPROXY:
		if e.Proxy == nil {
			return "PROXY"
		}
		return "PROXY " + e.Proxy.String()
	}
	return string(e.Kind)
}

func (p ProxyError) String() string {
	switch p.Kind {
	case ProxyPROTOCOL:
		if p.Protocol != nil {
			return "PROTOCOL " + p.Protocol.String()
		}
	case ProxyBROKER:
		return "BROKER " + p.Broker.String()
	}
	return string(p.Kind)
}

func (b BrokerError) String() string {
	switch b.Kind {
	case BrokerRESPONSE, BrokerUNEXPECTED:
		return string(b.Kind) + " " + b.Text
	case BrokerTRANSPORT:
		return "TRANSPORT " + b.Transport.String()
	}
	return string(b.Kind)
}

func (t TransportError) String() string {
	if t.Kind == "HANDSHAKE" {
		return "HANDSHAKE " + t.Handshake
	}
	return t.Kind
}

func (bi BlockingInfo) text(withNotice bool) []byte {
	out := []byte("reason=" + bi.Reason)
	if withNotice && bi.Notice != nil {
		j, _ := json.Marshal(bi.Notice)
		out = append(append(out, ",notice="...), j...)
	}
	return out
}

// AppendErrorType writes e as sent at version v, applying SMP-ERR-2 to
// BLOCKED (AUTH below v12, no notice below v18).
func AppendErrorType(b *wire.Builder, v Version, e ErrorType) {
	switch e.Kind {
	case ErrCMD:
		if !cmdKinds[e.Cmd] {
			b.SetError(fmt.Errorf("smp: unknown CMD error %q", e.Cmd))
			return
		}
		b.String("CMD " + string(e.Cmd))
	case ErrPROXY:
		if e.Proxy == nil {
			b.SetError(fmt.Errorf("smp: ERR PROXY without detail"))
			return
		}
		b.String("PROXY ")
		appendProxyError(b, v, *e.Proxy)
	case ErrBLOCKED:
		switch {
		case e.Blocked == nil:
			b.SetError(fmt.Errorf("smp: ERR BLOCKED without detail"))
		case v < VersionBlockedEntity:
			b.String(string(ErrAUTH))
		default:
			if e.Blocked.Reason != "spam" && e.Blocked.Reason != "content" {
				b.SetError(fmt.Errorf("smp: blocking reason %q", e.Blocked.Reason))
				return
			}
			b.String("BLOCKED ")
			b.Raw(e.Blocked.text(v >= VersionClientNotices))
		}
	case ErrSTORE:
		if !utf8.ValidString(e.Store) {
			b.SetError(fmt.Errorf("smp: STORE text is not UTF-8"))
			return
		}
		b.String("STORE " + e.Store)
	case ErrBLOCK, ErrSESSION, ErrAUTH, ErrSERVICE, ErrCRYPTO, ErrQUOTA, ErrNOMSG, ErrLARGEMSG, ErrEXPIRED, ErrINTERNAL, ErrDUPLICATE_:
		b.String(string(e.Kind))
	default:
		b.SetError(fmt.Errorf("smp: unknown error kind %q", e.Kind))
	}
}

func appendProxyError(b *wire.Builder, v Version, p ProxyError) {
	switch p.Kind {
	case ProxyPROTOCOL:
		if p.Protocol == nil {
			b.SetError(fmt.Errorf("smp: PROXY PROTOCOL without error"))
			return
		}
		b.String("PROTOCOL ")
		AppendErrorType(b, v, *p.Protocol)
	case ProxyBROKER:
		b.String("BROKER ")
		appendBrokerError(b, p.Broker)
	case ProxyBASICAUTH, ProxyNOSESSION:
		b.String(string(p.Kind))
	default:
		b.SetError(fmt.Errorf("smp: unknown PROXY error %q", p.Kind))
	}
}

func appendBrokerError(b *wire.Builder, e BrokerError) {
	switch e.Kind {
	case BrokerRESPONSE, BrokerUNEXPECTED:
		b.String(string(e.Kind) + " ")
		b.Short([]byte(e.Text))
	case BrokerTRANSPORT:
		if !transportKinds[e.Transport.Kind] || (e.Transport.Kind == "HANDSHAKE") != (e.Transport.Handshake != "") ||
			(e.Transport.Handshake != "" && !handshakeKinds[e.Transport.Handshake]) {
			b.SetError(fmt.Errorf("smp: invalid transport error %+v", e.Transport))
			return
		}
		b.String("TRANSPORT " + e.Transport.String())
	case BrokerNETWORK, BrokerTIMEOUT, BrokerHOST, BrokerNOSERVICE:
		// SMP-ERR-3: NETWORK is written without its detail.
		b.String(string(e.Kind))
	default:
		b.SetError(fmt.Errorf("smp: unknown BROKER error %q", e.Kind))
	}
}

// word reads bytes up to the next space or the end.
func word(p *wire.Parser) string {
	rest := p.Rest()
	i := bytes.IndexByte(rest, ' ')
	if i < 0 {
		i = len(rest)
	}
	return string(p.Raw(i))
}

// ParseErrorType reads an error type (SMP-ERR-1, SMP-ERR-3). It reads
// exactly the error; the caller checks for trailing bytes.
func ParseErrorType(p *wire.Parser) ErrorType {
	w := word(p)
	if p.Err() != nil {
		return ErrorType{}
	}
	switch k := ErrKind(w); k {
	case ErrBLOCK, ErrSESSION, ErrAUTH, ErrSERVICE, ErrCRYPTO, ErrQUOTA, ErrNOMSG, ErrLARGEMSG, ErrEXPIRED, ErrINTERNAL, ErrDUPLICATE_:
		return ErrorType{Kind: k}
	case ErrCMD:
		p.Space()
		c := CmdErr(word(p))
		if c == "NO_QUEUE" {
			c = CmdNOENTITY
		}
		if p.Err() == nil && !cmdKinds[c] {
			p.Failf("unknown CMD error %q", c)
		}
		return ErrorType{Kind: k, Cmd: c}
	case ErrPROXY:
		p.Space()
		pe := parseProxyError(p)
		return ErrorType{Kind: k, Proxy: &pe}
	case ErrBLOCKED:
		p.Space()
		return ErrorType{Kind: k, Blocked: parseBlockingInfo(p)}
	case ErrSTORE:
		p.Space()
		t := p.Tail()
		if !utf8.Valid(t) {
			// Upstream decodes leniently; we keep the text valid by replacing.
			t = bytes.ToValidUTF8(t, []byte("\uFFFD"))
		}
		return ErrorType{Kind: k, Store: string(t)}
	}
	p.Failf("unknown error type %q", clipText([]byte(w), 20))
	return ErrorType{}
}

func parseProxyError(p *wire.Parser) ProxyError {
	switch k := ProxyErrKind(word(p)); k {
	case ProxyPROTOCOL:
		p.Space()
		e := ParseErrorType(p)
		return ProxyError{Kind: k, Protocol: &e}
	case ProxyBROKER:
		p.Space()
		return ProxyError{Kind: k, Broker: parseBrokerError(p)}
	case ProxyBASICAUTH, ProxyNOSESSION:
		return ProxyError{Kind: k}
	default:
		p.Failf("unknown PROXY error %q", clipText([]byte(k), 20))
	}
	return ProxyError{}
}

func parseBrokerError(p *wire.Parser) BrokerError {
	switch k := BrokerErrKind(word(p)); k {
	case BrokerRESPONSE, BrokerUNEXPECTED:
		p.Space()
		return BrokerError{Kind: k, Text: string(p.Short())}
	case BrokerTRANSPORT:
		p.Space()
		t := TransportError{Kind: word(p)}
		if t.Kind == "HANDSHAKE" {
			p.Space()
			t.Handshake = word(p)
			if p.Err() == nil && !handshakeKinds[t.Handshake] {
				p.Failf("unknown handshake error %q", clipText([]byte(t.Handshake), 20))
			}
		} else if p.Err() == nil && !transportKinds[t.Kind] {
			p.Failf("unknown transport error %q", clipText([]byte(t.Kind), 20))
		}
		return BrokerError{Kind: k, Transport: t}
	case BrokerNETWORK:
		e := BrokerError{Kind: k}
		if p.HasPrefix(" ") {
			p.Space()
			n := NetworkError{Kind: word(p)}
			if p.Err() == nil && !networkKinds[n.Kind] {
				p.Failf("unknown network error %q", clipText([]byte(n.Kind), 20))
			}
			if networkText[n.Kind] {
				p.Space()
				n.Text = string(p.Short())
			}
			e.Network = &n
		}
		return e
	case BrokerTIMEOUT, BrokerHOST, BrokerNOSERVICE:
		return BrokerError{Kind: k}
	default:
		p.Failf("unknown BROKER error %q", clipText([]byte(k), 20))
	}
	return BrokerError{}
}

// parseBlockingInfo reads "reason=spam|content" and an optional JSON notice
// that runs to the end of the input.
func parseBlockingInfo(p *wire.Parser) *BlockingInfo {
	p.Literal("reason=")
	bi := &BlockingInfo{}
	switch {
	case p.HasPrefix("spam"):
		p.Literal("spam")
		bi.Reason = "spam"
	case p.HasPrefix("content"):
		p.Literal("content")
		bi.Reason = "content"
	default:
		p.Failf("unknown blocking reason")
		return nil
	}
	if p.HasPrefix(",notice=") {
		p.Literal(",notice=")
		n, err := ParseClientNotice(p.Tail())
		if err != nil {
			p.Failf("bad %v", err)
			return nil
		}
		bi.Notice = n
	}
	return bi
}

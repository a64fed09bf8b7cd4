// Package agent holds the graph-chat agent layer: the envelopes and agent
// messages exchanged over duplex connections (spec/graph-chat.md §6).
package agent

import (
	"fmt"

	"github.com/smpkit/smpkit/reference/ratchet"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/wire"
)

// SMP client versions that change queue descriptions (spec/graph-chat.md §1).
const (
	ClientVersionHostnames  = 2
	ClientVersionSndAuthKey = 3
	ClientVersionShortLinks = 4
)

// QueueInfo is a queue description at one client version (GC-ENV-5): what
// a confirmation or QKEY carries about the sender's own receiving queue.
type QueueInfo struct {
	ClientVersion uint16
	Server        smp.Server
	SenderID      []byte
	DHKey         smpcrypto.PublicKey // X25519, for the per-queue layer
	Mode          *smp.QueueMode
}

func appendQueueAddr(b *wire.Builder, legacy bool, srv smp.Server, sid []byte, dh smpcrypto.PublicKey) {
	if legacy {
		// v1: one host, port and key hash as short strings.
		b.Short([]byte(srv.Hosts[0]))
		b.Short([]byte(srv.Port))
		b.Short(srv.KeyHash)
	} else {
		srv.AppendBinary(b)
	}
	b.Short(sid)
	if dh.Alg != smpcrypto.X25519 {
		b.SetError(fmt.Errorf("agent: queue key is %s, want x25519", dh.Alg))
		return
	}
	b.Short(dh.SPKI())
}

func parseQueueAddr(p *wire.Parser, legacy bool) (smp.Server, []byte, smpcrypto.PublicKey) {
	var srv smp.Server
	if legacy {
		// Version 1 names one host; upstream adds a preset relay's onion host.
		srv = smp.Server{Hosts: smp.AddPresetOnion([]string{string(p.Short())}), Port: string(p.Short()), KeyHash: p.Short()}
	} else {
		srv = smp.ParseServerBinary(p)
	}
	sid := p.Short()
	der := p.Short()
	if p.Err() != nil {
		return srv, nil, smpcrypto.PublicKey{}
	}
	k, err := smpcrypto.ParseSPKIAlg(der, smpcrypto.X25519)
	if err != nil {
		p.Fail(err)
	}
	return srv, sid, k
}

func messaging(m *smp.QueueMode) bool { return m != nil && *m == smp.QueueMessaging }

// AppendQueueInfo writes a queue description (GC-ENV-5).
func AppendQueueInfo(b *wire.Builder, q QueueInfo) {
	b.Word16(q.ClientVersion)
	appendQueueAddr(b, q.ClientVersion < ClientVersionHostnames, q.Server, q.SenderID, q.DHKey)
	switch {
	case q.ClientVersion >= ClientVersionShortLinks:
		if q.Mode != nil {
			b.Byte(byte(*q.Mode))
		}
	case q.ClientVersion >= ClientVersionSndAuthKey && messaging(q.Mode):
		b.Bool(true)
	}
}

// parseMode reads the optional queue mode that ends a queue description:
// 'M' or 'C', or a Bool ('T' messaging, 'F' contact), or nothing.
func parseMode(p *wire.Parser) *smp.QueueMode {
	c, ok := p.Peek()
	if !ok {
		return nil
	}
	var m smp.QueueMode
	switch c {
	case 'M', 'T':
		m = smp.QueueMessaging
	case 'C', 'F':
		m = smp.QueueContact
	default:
		return nil
	}
	p.Byte()
	return &m
}

// ParseQueueInfo reads a queue description.
func ParseQueueInfo(p *wire.Parser) QueueInfo {
	q := QueueInfo{ClientVersion: p.Word16()}
	q.Server, q.SenderID, q.DHKey = parseQueueAddr(p, q.ClientVersion < ClientVersionHostnames)
	q.Mode = parseMode(p)
	return q
}

// AppendQueueURI writes the binary form of a queue URI (GC-ENV-6), used in
// QADD: the client version range instead of one version.
func AppendQueueURI(b *wire.Builder, q smp.QueueURI) {
	q.Versions.Append(b)
	appendQueueAddr(b, false, q.Server, q.SenderID, q.DHKey)
	switch {
	case q.Versions.Min >= ClientVersionShortLinks:
		if q.Mode != nil {
			b.Byte(byte(*q.Mode))
		}
	case q.Versions.Min >= ClientVersionSndAuthKey || (q.Versions.Max >= ClientVersionSndAuthKey && messaging(q.Mode)):
		b.Bool(messaging(q.Mode))
	}
}

// ParseQueueURI reads the binary form of a queue URI.
func ParseQueueURI(p *wire.Parser) smp.QueueURI {
	q := smp.QueueURI{Versions: smp.ParseVersionRange(p)}
	q.Server, q.SenderID, q.DHKey = parseQueueAddr(p, false)
	q.Mode = parseMode(p)
	return q
}

// SndQAddr names a queue by its relay and sender id.
type SndQAddr struct {
	Server   smp.Server
	SenderID []byte
}

func appendSndQAddr(b *wire.Builder, a SndQAddr) {
	a.Server.AppendBinary(b)
	b.Short(a.SenderID)
}

func parseSndQAddr(p *wire.Parser) SndQAddr {
	return SndQAddr{Server: smp.ParseServerBinary(p), SenderID: p.Short()}
}

// An Envelope is what the per-queue layer carries (GC-ENV-1).
type Envelope interface{ envelope() }

// Envelope types.
type (
	// EnvConfirmation carries the joiner's X3DH parameters and its
	// ratchet-encrypted connection info.
	EnvConfirmation struct {
		AgentVersion uint16
		E2E          *ratchet.Params
		EncConnInfo  []byte
	}
	// EnvMessage carries a ratchet-encrypted agent message.
	EnvMessage struct {
		AgentVersion uint16
		EncMessage   []byte
	}
	// EnvInvitation is sent to a contact address: an invitation link and
	// connection info, protected only by the per-queue layer.
	EnvInvitation struct {
		AgentVersion uint16
		ConnReq      string // the invitation link, text form
		ConnInfo     []byte
	}
	// EnvRatchetKey restarts a ratchet (resynchronisation).
	EnvRatchetKey struct {
		AgentVersion uint16
		E2E          ratchet.Params
		Info         []byte
	}
)

func (EnvConfirmation) envelope() {}
func (EnvMessage) envelope()      {}
func (EnvInvitation) envelope()   {}
func (EnvRatchetKey) envelope()   {}

// EncodeEnvelope returns version ‖ tag ‖ fields (GC-ENV-1).
func EncodeEnvelope(e Envelope) ([]byte, error) {
	b := wire.NewBuilder(nil)
	switch e := e.(type) {
	case EnvConfirmation:
		b.Word16(e.AgentVersion)
		b.Byte('C')
		b.Maybe(e.E2E != nil)
		if e.E2E != nil {
			ratchet.AppendParams(b, *e.E2E)
		}
		b.Tail(e.EncConnInfo)
	case EnvMessage:
		b.Word16(e.AgentVersion)
		b.Byte('M')
		b.Tail(e.EncMessage)
	case EnvInvitation:
		b.Word16(e.AgentVersion)
		b.Byte('I')
		b.Large([]byte(e.ConnReq))
		b.Tail(e.ConnInfo)
	case EnvRatchetKey:
		b.Word16(e.AgentVersion)
		b.Byte('R')
		ratchet.AppendParams(b, e.E2E)
		b.Tail(e.Info)
	default:
		return nil, fmt.Errorf("agent: unknown envelope %T", e)
	}
	return b.Bytes()
}

// ParseEnvelope reads an envelope.
func ParseEnvelope(data []byte) (Envelope, error) {
	p := wire.NewParser(data)
	v := p.Word16()
	var e Envelope
	switch tag := p.Byte(); tag {
	case 'C':
		c := EnvConfirmation{AgentVersion: v}
		if p.Maybe() {
			prm := ratchet.ParseParams(p)
			c.E2E = &prm
		}
		c.EncConnInfo = p.Tail()
		e = c
	case 'M':
		e = EnvMessage{AgentVersion: v, EncMessage: p.Tail()}
	case 'I':
		e = EnvInvitation{AgentVersion: v, ConnReq: string(p.Large()), ConnInfo: p.Tail()}
	case 'R':
		e = EnvRatchetKey{AgentVersion: v, E2E: ratchet.ParseParams(p), Info: p.Tail()}
	default:
		if p.Err() == nil {
			p.Failf("envelope tag %q", tag)
		}
	}
	if err := p.Finish(); err != nil {
		return nil, fmt.Errorf("agent: parse envelope: %w", err)
	}
	return e, nil
}

// An AgentMessage is the plaintext of a ratchet-encrypted envelope (GC-ENV-2).
type AgentMessage interface{ agentMessage() }

// Agent message types.
type (
	// ConnInfo is the initiator's connection info (its confirmation).
	ConnInfo struct{ Info []byte }
	// ConnInfoReply is the joiner's connection info with its reply queues.
	ConnInfoReply struct {
		Queues []QueueInfo // non-empty
		Info   []byte
	}
	// RatchetInfo accompanies a ratchet key.
	RatchetInfo struct{ Info []byte }
	// Message is a numbered agent message chained by hashes (GC-ENV-3).
	Message struct {
		SndMsgID    int64
		PrevMsgHash []byte
		Msg         AMessage
	}
)

func (ConnInfo) agentMessage()      {}
func (ConnInfoReply) agentMessage() {}
func (RatchetInfo) agentMessage()   {}
func (Message) agentMessage()       {}

// An AMessage is the body of a Message (GC-ENV-4).
type AMessage interface{ tag() string }

// AMessage types.
type (
	Hello  struct{}
	AMsg   struct{ Body []byte }
	ARcvd  struct{ Receipts []Receipt } // non-empty
	AQCont struct{ Addr SndQAddr }
	QAdd   struct{ Queues []QAddEntry }
	QKey   struct{ Queues []QKeyEntry }
	QUse   struct{ Queues []QUseEntry }
	QTest  struct{ Addrs []SndQAddr }
	EReady struct{ LastMsgID int64 }
)

// Receipt acknowledges one received message.
type Receipt struct {
	AgentMsgID int64
	MsgHash    []byte
	Info       []byte
}

// QAddEntry is a new queue, optionally replacing an old one.
type QAddEntry struct {
	URI      smp.QueueURI
	Replaced *SndQAddr
}

// QKeyEntry is the sender's answer to QADD: its queue and sender key.
type QKeyEntry struct {
	Info      QueueInfo
	SenderKey smpcrypto.PublicKey
}

// QUseEntry says whether a queue is ready to use.
type QUseEntry struct {
	Addr  SndQAddr
	Ready bool
}

func (Hello) tag() string  { return "H" }
func (AMsg) tag() string   { return "M" }
func (ARcvd) tag() string  { return "V" }
func (AQCont) tag() string { return "QC" }
func (QAdd) tag() string   { return "QA" }
func (QKey) tag() string   { return "QK" }
func (QUse) tag() string   { return "QU" }
func (QTest) tag() string  { return "QT" }
func (EReady) tag() string { return "E" }

// EncodeAgentMessage returns the bytes of m (GC-ENV-2..4).
func EncodeAgentMessage(m AgentMessage) ([]byte, error) {
	b := wire.NewBuilder(nil)
	switch m := m.(type) {
	case ConnInfo:
		b.Byte('I')
		b.Tail(m.Info)
	case ConnInfoReply:
		b.Byte('D')
		b.Count(len(m.Queues), true)
		for _, q := range m.Queues {
			AppendQueueInfo(b, q)
		}
		b.Tail(m.Info)
	case RatchetInfo:
		b.Byte('R')
		b.Tail(m.Info)
	case Message:
		b.Byte('M')
		b.Int64(m.SndMsgID)
		b.Short(m.PrevMsgHash)
		appendAMessage(b, m.Msg)
	default:
		return nil, fmt.Errorf("agent: unknown agent message %T", m)
	}
	return b.Bytes()
}

func appendAMessage(b *wire.Builder, m AMessage) {
	b.String(m.tag())
	switch m := m.(type) {
	case Hello:
	case AMsg:
		b.Tail(m.Body)
	case ARcvd:
		b.Count(len(m.Receipts), true)
		for _, r := range m.Receipts {
			b.Int64(r.AgentMsgID)
			b.Short(r.MsgHash)
			b.Large(r.Info)
		}
	case AQCont:
		appendSndQAddr(b, m.Addr)
	case QAdd:
		b.Count(len(m.Queues), true)
		for _, q := range m.Queues {
			AppendQueueURI(b, q.URI)
			b.Maybe(q.Replaced != nil)
			if q.Replaced != nil {
				appendSndQAddr(b, *q.Replaced)
			}
		}
	case QKey:
		b.Count(len(m.Queues), true)
		for _, q := range m.Queues {
			AppendQueueInfo(b, q.Info)
			b.Short(q.SenderKey.SPKI())
		}
	case QUse:
		b.Count(len(m.Queues), true)
		for _, q := range m.Queues {
			appendSndQAddr(b, q.Addr)
			b.Bool(q.Ready)
		}
	case QTest:
		b.Count(len(m.Addrs), true)
		for _, a := range m.Addrs {
			appendSndQAddr(b, a)
		}
	case EReady:
		b.Int64(m.LastMsgID)
	default:
		b.SetError(fmt.Errorf("agent: unknown message %T", m))
	}
}

// ParseAgentMessage reads an agent message.
func ParseAgentMessage(data []byte) (AgentMessage, error) {
	p := wire.NewParser(data)
	var m AgentMessage
	switch tag := p.Byte(); tag {
	case 'I':
		m = ConnInfo{Info: p.Tail()}
	case 'D':
		n := p.Count(true)
		r := ConnInfoReply{}
		for i := 0; i < n && p.Err() == nil; i++ {
			r.Queues = append(r.Queues, ParseQueueInfo(p))
		}
		r.Info = p.Tail()
		m = r
	case 'R':
		m = RatchetInfo{Info: p.Tail()}
	case 'M':
		msg := Message{SndMsgID: p.Int64(), PrevMsgHash: p.Short()}
		msg.Msg = parseAMessage(p)
		m = msg
	default:
		if p.Err() == nil {
			p.Failf("agent message tag %q", tag)
		}
	}
	if err := p.Finish(); err != nil {
		return nil, fmt.Errorf("agent: parse agent message: %w", err)
	}
	return m, nil
}

func parseAMessage(p *wire.Parser) AMessage {
	tag := string([]byte{p.Byte()})
	if tag == "Q" {
		tag += string([]byte{p.Byte()})
	}
	count := func() int { return p.Count(true) }
	switch tag {
	case "H":
		return Hello{}
	case "M":
		return AMsg{Body: p.Tail()}
	case "V":
		var r ARcvd
		for i, n := 0, count(); i < n && p.Err() == nil; i++ {
			r.Receipts = append(r.Receipts, Receipt{AgentMsgID: p.Int64(), MsgHash: p.Short(), Info: p.Large()})
		}
		return r
	case "QC":
		return AQCont{Addr: parseSndQAddr(p)}
	case "QA":
		var r QAdd
		for i, n := 0, count(); i < n && p.Err() == nil; i++ {
			e := QAddEntry{URI: ParseQueueURI(p)}
			if p.Maybe() {
				a := parseSndQAddr(p)
				e.Replaced = &a
			}
			r.Queues = append(r.Queues, e)
		}
		return r
	case "QK":
		var r QKey
		for i, n := 0, count(); i < n && p.Err() == nil; i++ {
			e := QKeyEntry{Info: ParseQueueInfo(p)}
			der := p.Short()
			if p.Err() == nil {
				k, err := smpcrypto.ParseSPKI(der)
				if err != nil {
					p.Fail(err)
				}
				e.SenderKey = k
			}
			r.Queues = append(r.Queues, e)
		}
		return r
	case "QU":
		var r QUse
		for i, n := 0, count(); i < n && p.Err() == nil; i++ {
			r.Queues = append(r.Queues, QUseEntry{Addr: parseSndQAddr(p), Ready: p.Bool()})
		}
		return r
	case "QT":
		var r QTest
		for i, n := 0, count(); i < n && p.Err() == nil; i++ {
			r.Addrs = append(r.Addrs, parseSndQAddr(p))
		}
		return r
	case "E":
		return EReady{LastMsgID: p.Int64()}
	}
	if p.Err() == nil {
		p.Failf("agent message type %q", tag)
	}
	return nil
}

package smp

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/wire"
)

// Message bodies as the relay delivers them (SMP-MSG-1..4) and notification
// metadata (SMP-NMSG-1).

const (
	// MsgBodyPadded is the padded size of a MSG plaintext (SMP-MSG-2).
	MsgBodyPadded = 16106
	// MsgBodySize is the size of an encrypted MSG body: tag and padded text.
	MsgBodySize = smpcrypto.TagSize + MsgBodyPadded
	// NtfMetaPadded is the padded size of NMSG metadata (SMP-NMSG-1).
	NtfMetaPadded = 128
)

// quotaTag starts the plaintext of a quota marker.
const quotaTag = "QUOTA"

// RcvMessageBody is the plaintext of a MSG body: a message, or a quota
// marker (Quota set, Flags and Body empty).
type RcvMessageBody struct {
	Timestamp int64 // seconds
	Quota     bool
	Notify    bool // the notification flag
	Body      []byte
}

// AppendRcvMessageBody writes the plaintext of SMP-MSG-1.
func AppendRcvMessageBody(b *wire.Builder, m RcvMessageBody) {
	if m.Quota {
		b.String(quotaTag + " ")
		b.Int64(m.Timestamp)
		return
	}
	b.Int64(m.Timestamp)
	b.Bool(m.Notify)
	b.Byte(' ')
	b.Tail(m.Body)
}

// ParseRcvMessageBody reads a MSG plaintext (SMP-MSG-4). Body aliases data.
func ParseRcvMessageBody(data []byte) (RcvMessageBody, error) {
	p := wire.NewParser(data)
	var m RcvMessageBody
	if p.HasPrefix(quotaTag) {
		p.Literal(quotaTag + " ")
		m = RcvMessageBody{Quota: true, Timestamp: p.Int64()}
	} else {
		m.Timestamp = p.Int64()
		m.Notify = p.Bool()
		if rest := p.Rest(); rest != nil {
			i := bytes.IndexByte(rest, ' ')
			if i < 0 {
				i = len(rest)
			}
			p.Raw(i)
		}
		p.Space()
		m.Body = p.Tail()
	}
	if err := p.Finish(); err != nil {
		return RcvMessageBody{}, fmt.Errorf("parse message body: %w", err)
	}
	return m, nil
}

// SealMsgBody encrypts a message body for delivery: box(rcvDhSecret,
// nonce(msgId), pad(plaintext, 16106)), 16122 bytes (SMP-MSG-2).
func SealMsgBody(rcvDHSecret, msgID []byte, m RcvMessageBody) ([]byte, error) {
	return AppendSealMsgBody(make([]byte, 0, MsgBodySize), rcvDHSecret, msgID, m)
}

// msgPlainPool holds the plaintexts of AppendSealMsgBody.
var msgPlainPool sync.Pool

// AppendSealMsgBody appends SealMsgBody(rcvDHSecret, msgID, m) to dst.
func AppendSealMsgBody(dst, rcvDHSecret, msgID []byte, m RcvMessageBody) ([]byte, error) {
	var buf []byte
	if p, _ := msgPlainPool.Get().(*[]byte); p != nil {
		buf = (*p)[:0]
	}
	b := wire.NewBuilder(buf)
	AppendRcvMessageBody(b, m)
	plain, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	defer func() { msgPlainPool.Put(&plain) }()
	out, err := smpcrypto.AppendSealPadded(dst, rcvDHSecret, smpcrypto.NonceFromID(msgID), plain, MsgBodyPadded)
	if err != nil {
		return nil, fmt.Errorf("seal message body: %w", err)
	}
	return out, nil
}

// OpenMsgBody decrypts and parses a MSG body.
func OpenMsgBody(rcvDHSecret, msgID, body []byte) (RcvMessageBody, error) {
	plain, err := smpcrypto.OpenPadded(rcvDHSecret, smpcrypto.NonceFromID(msgID), body)
	if err != nil {
		return RcvMessageBody{}, fmt.Errorf("open message body: %w", err)
	}
	return ParseRcvMessageBody(plain)
}

// NtfMeta is the plaintext of NMSG metadata.
type NtfMeta struct {
	MsgID     []byte
	Timestamp int64
}

// SealNtfMeta encrypts notification metadata: box(secret, nonce,
// pad(short(msgId) ‖ ts, 128)), 144 bytes (SMP-NMSG-1).
func SealNtfMeta(secret []byte, nonce smpcrypto.Nonce, m NtfMeta) ([]byte, error) {
	b := wire.NewBuilder(nil)
	b.Short(m.MsgID)
	b.Int64(m.Timestamp)
	plain, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	return smpcrypto.SealPadded(secret, nonce, plain, NtfMetaPadded)
}

// OpenNtfMeta decrypts notification metadata, ignoring bytes after the
// timestamp.
func OpenNtfMeta(secret []byte, nonce smpcrypto.Nonce, enc []byte) (NtfMeta, error) {
	plain, err := smpcrypto.OpenPadded(secret, nonce, enc)
	if err != nil {
		return NtfMeta{}, fmt.Errorf("open notification: %w", err)
	}
	p := wire.NewParser(plain)
	m := NtfMeta{MsgID: p.Short(), Timestamp: p.Int64()}
	if err := p.Err(); err != nil {
		return NtfMeta{}, fmt.Errorf("parse notification: %w", err)
	}
	return m, nil
}

package vectors

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/wire"
)

func init() {
	Register(Topic{Path: "smp/msg-body.json", Generate: genMsgBody, Verify: verifyMsgBody})
	Register(Topic{Path: "smp/uri.json", Generate: genURI, Verify: verifyURI})
}

type msgCase struct {
	Case
	Kind string `json:"kind"` // msg | ntf | envelope
	// msg: the recipient's X25519 key and the relay's key from IDS give
	// rcv_dh_secret.
	RecipientPrivate Hex   `json:"recipient_private,omitempty"`
	RelayPublic      Hex   `json:"relay_public,omitempty"`
	Secret           Hex   `json:"secret,omitempty"`
	MsgID            Hex   `json:"msg_id,omitempty"`
	Timestamp        int64 `json:"timestamp,omitempty"`
	Quota            bool  `json:"quota,omitempty"`
	Notify           bool  `json:"notify,omitempty"`
	Body             Hex   `json:"body,omitempty"`
	Plaintext        Hex   `json:"plaintext,omitempty"`
	Nonce            Hex   `json:"nonce,omitempty"`
	Encrypted        Hex   `json:"encrypted,omitempty"`
	// envelope
	ClientVersion int `json:"client_version,omitempty"`
	E2EKey        Hex `json:"e2e_key,omitempty"`
	Bytes         Hex `json:"bytes,omitempty"`
}

func genMsgBody() (any, error) {
	f := File[msgCase]{
		Topic: "Message bodies, notification metadata, client envelope",
		Description: "msg: secret = X25519(recipient_private, relay_public); plaintext = Int64 timestamp ‖ 'T'/'F' ‖ SP ‖ body, " +
			"or \"QUOTA \" ‖ Int64 timestamp for the quota marker (SMP-MSG-1); encrypted = box(secret, msg_id as nonce, " +
			"pad(plaintext, 16106)), 16122 bytes (SMP-MSG-2). ntf: encrypted = box(secret, nonce, pad(short(msg_id) ‖ Int64 " +
			"timestamp, 128)), 144 bytes (SMP-NMSG-1). envelope: the SEND body a client builds (SMP-ENV-1). Invalid cases " +
			"must fail to open or parse.",
		Spec: "spec/smp.md §7.5, §7.7, §7.11",
	}
	rcp, _ := keyFor(smpcrypto.X25519, "msg recipient")
	rel, _ := keyFor(smpcrypto.X25519, "msg relay")
	secret, err := rcp.DH(rel.Public())
	if err != nil {
		return nil, err
	}
	for i, m := range []smp.RcvMessageBody{
		{Timestamp: 1764000000, Notify: true, Body: []byte("hello")},
		{Timestamp: 1764000001, Body: nil},
		{Timestamp: 1764000002, Body: RandBytes("msg long body", 16048)},
		{Timestamp: 1764000003, Quota: true},
	} {
		id := RandBytes(fmt.Sprint("msg id ", i), 24)
		b := wire.NewBuilder(nil)
		smp.AppendRcvMessageBody(b, m)
		plain, err := b.Bytes()
		if err != nil {
			return nil, err
		}
		enc, err := smp.SealMsgBody(secret, id, m)
		if err != nil {
			return nil, err
		}
		spec := "SMP-MSG-2"
		if m.Quota {
			spec = "SMP-MSG-3"
		}
		f.Cases = append(f.Cases, msgCase{Case: Case{ID: fmt.Sprint("msg-", i), Spec: spec, Valid: true}, Kind: "msg",
			RecipientPrivate: rcp.Raw, RelayPublic: rel.Public().Raw, Secret: secret, MsgID: id, Timestamp: m.Timestamp,
			Quota: m.Quota, Notify: m.Notify, Body: m.Body, Plaintext: plain, Encrypted: enc})
	}
	// A plaintext with extra flag bytes before the space still parses (SMP-MSG-4).
	extra := []byte("\x00\x00\x00\x00\x69\x23\x5d\x80Tx body")
	encExtra, err := smpcrypto.SealPadded(secret, smpcrypto.NonceFromID(RandBytes("msg id extra", 24)), extra, smp.MsgBodyPadded)
	if err != nil {
		return nil, err
	}
	f.Cases = append(f.Cases, msgCase{Case: Case{ID: "msg-extra-flags", Spec: "SMP-MSG-4", Valid: true, Comment: "flag bytes after T are ignored; re-encoding writes one flag"},
		Kind: "msg", RecipientPrivate: rcp.Raw, RelayPublic: rel.Public().Raw, Secret: secret, MsgID: RandBytes("msg id extra", 24),
		Timestamp: 0x69235d80, Notify: true, Body: []byte("body"), Plaintext: extra, Encrypted: encExtra})
	tampered := bytes.Clone(f.Cases[0].Encrypted)
	tampered[100] ^= 1
	bad := f.Cases[0]
	bad.Case = Case{ID: "msg-tampered", Spec: "SMP-MSG-2", Error: "decrypt"}
	bad.Encrypted = tampered
	f.Cases = append(f.Cases, bad)
	badPlain := []byte("QUOTA x")
	encBad, err := smpcrypto.SealPadded(secret, smpcrypto.NonceFromID(f.Cases[0].MsgID), badPlain, smp.MsgBodyPadded)
	if err != nil {
		return nil, err
	}
	bad2 := f.Cases[0]
	bad2.Case = Case{ID: "msg-bad-plaintext", Spec: "SMP-MSG-4", Error: "parse", Comment: "QUOTA without a timestamp"}
	bad2.Plaintext, bad2.Encrypted = badPlain, encBad
	f.Cases = append(f.Cases, bad2)

	ntfSecret := RandBytes("ntf secret", 32)
	for i := range 2 {
		nonce := RandBytes(fmt.Sprint("ntf nonce ", i), 24)
		id := RandBytes(fmt.Sprint("ntf msg ", i), 24)
		ts := int64(1764000100 + i)
		enc, err := smp.SealNtfMeta(ntfSecret, smpcrypto.NonceFromID(nonce), smp.NtfMeta{MsgID: id, Timestamp: ts})
		if err != nil {
			return nil, err
		}
		f.Cases = append(f.Cases, msgCase{Case: Case{ID: fmt.Sprint("ntf-", i), Spec: "SMP-NMSG-1", Valid: true}, Kind: "ntf",
			Secret: ntfSecret, Nonce: nonce, MsgID: id, Timestamp: ts, Encrypted: enc})
	}
	e2e, _ := keyFor(smpcrypto.X25519, "envelope e2e")
	for i, e := range []struct {
		v   uint16
		key bool
	}{{4, true}, {4, false}, {1, false}} {
		env := smp.ClientMsgEnvelope{Version: e.v, Nonce: smpcrypto.NonceFromID(RandBytes(fmt.Sprint("envelope nonce ", i), 24)), Body: RandBytes(fmt.Sprint("envelope body ", i), 48)}
		c := msgCase{Case: Case{ID: fmt.Sprint("envelope-", i), Spec: "SMP-ENV-1", Valid: true}, Kind: "envelope",
			ClientVersion: int(e.v), Nonce: env.Nonce[:], Body: env.Body}
		if e.key {
			k := e2e.Public()
			env.DHKey = &k
			c.E2EKey = k.SPKI()
			c.Comment = "a confirmation carries the sender's e2e key"
		}
		if c.Bytes, err = smp.EncodeClientMsgEnvelope(env); err != nil {
			return nil, err
		}
		f.Cases = append(f.Cases, c)
	}
	return f, nil
}

func verifyMsgBody(data []byte) error {
	return Check(data, func(c msgCase) string { return c.ID }, func(c msgCase) error {
		switch c.Kind {
		case "msg":
			rcp, err := smpcrypto.NewPrivateKey(smpcrypto.X25519, c.RecipientPrivate)
			if err != nil {
				return err
			}
			rel, err := smpcrypto.NewPublicKey(smpcrypto.X25519, c.RelayPublic)
			if err != nil {
				return err
			}
			secret, err := rcp.DH(rel)
			if err != nil || !bytes.Equal(secret, c.Secret) {
				return errors.New("secret differs")
			}
			m, err := smp.OpenMsgBody(secret, c.MsgID, c.Encrypted)
			if !c.Valid {
				if err == nil {
					return errors.New("opened and parsed")
				}
				return nil
			}
			if err != nil {
				return err
			}
			if len(c.Encrypted) != smp.MsgBodySize {
				return fmt.Errorf("encrypted body of %d bytes", len(c.Encrypted))
			}
			if m.Timestamp != c.Timestamp || m.Quota != c.Quota || m.Notify != c.Notify || !bytes.Equal(m.Body, c.Body) {
				return fmt.Errorf("decoded %+v", m)
			}
			if c.Spec != "SMP-MSG-4" {
				again, err := smp.SealMsgBody(secret, c.MsgID, m)
				if err != nil || !bytes.Equal(again, c.Encrypted) {
					return errors.New("re-encryption differs")
				}
			}
		case "ntf":
			m, err := smp.OpenNtfMeta(c.Secret, smpcrypto.NonceFromID(c.Nonce), c.Encrypted)
			if err != nil {
				return err
			}
			if !bytes.Equal(m.MsgID, c.MsgID) || m.Timestamp != c.Timestamp || len(c.Encrypted) != 144 {
				return errors.New("metadata differs")
			}
			again, err := smp.SealNtfMeta(c.Secret, smpcrypto.NonceFromID(c.Nonce), m)
			if err != nil || !bytes.Equal(again, c.Encrypted) {
				return errors.New("re-encryption differs")
			}
		case "envelope":
			e, err := smp.ParseClientMsgEnvelope(c.Bytes)
			if err != nil {
				return err
			}
			if int(e.Version) != c.ClientVersion || !bytes.Equal(e.Nonce[:], c.Nonce) || !bytes.Equal(e.Body, c.Body) ||
				(e.DHKey == nil) != (c.E2EKey == nil) || (e.DHKey != nil && !bytes.Equal(e.DHKey.SPKI(), c.E2EKey)) {
				return errors.New("envelope differs")
			}
			again, err := smp.EncodeClientMsgEnvelope(e)
			if err != nil || !bytes.Equal(again, c.Bytes) {
				return errors.New("re-encoding differs")
			}
		default:
			return fmt.Errorf("unknown kind %q", c.Kind)
		}
		return nil
	})
}

type uriCase struct {
	Case
	Kind string `json:"kind"` // server | queue
	Text string `json:"text"`
	// Canonical is how the parsed value prints, when it differs from text.
	Canonical string   `json:"canonical,omitempty"`
	KeyHash   Hex      `json:"key_hash,omitempty"`
	Hosts     []string `json:"hosts,omitempty"`
	Port      string   `json:"port,omitempty"`
	Password  *string  `json:"password,omitempty"`
	// Binary is the SMP-ADDR-2 form of the relay address.
	Binary Hex `json:"binary,omitempty"`
	// queue
	SenderID   Hex    `json:"sender_id,omitempty"`
	VersionMin int    `json:"client_version_min,omitempty"`
	VersionMax int    `json:"client_version_max,omitempty"`
	DHKey      Hex    `json:"dh_key,omitempty"`
	Mode       string `json:"mode,omitempty"`
}

func genURI() (any, error) {
	f := File[uriCase]{
		Topic: "Relay addresses and queue URIs",
		Description: "Valid: parsing text gives the fields; printing them gives canonical (or text when canonical is absent). " +
			"binary is the relay address as it appears inside PRXY (SMP-ADDR-2). Queue URIs carry a client version range, " +
			"not relay versions (SMP-URI-1). Invalid: parsing must fail (error \"address\").",
		Spec: "spec/smp.md §12",
	}
	kh := RandBytes("uri key hash", 32)
	khText := smp.EncodeB64(kh)
	pw := "p4ss!word"
	servers := []struct {
		id, text, canonical string
	}{
		{"domain", "smp://" + khText + "@smp.example.com", ""},
		{"port", "smp://" + khText + "@smp.example.com:5224", ""},
		{"two-hosts", "smp://" + khText + "@smp.example.com,abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvw.onion:443", ""},
		{"ipv4", "smp://" + khText + "@192.168.1.10:5223", ""},
		{"ipv6", "smp://" + khText + "@fd00::1", ""},
		{"password", "smp://" + khText + ":" + pw + "@smp.example.com", ""},
		{"unpadded-key-hash", "smp://" + khText[:len(khText)-1] + "@smp.example.com", "smp://" + khText + "@smp.example.com"},
		// Parsed as upstream parses it; the handshake refuses it (SMP-TLS-5).
		{"short-key-hash", "smp://AAAA@smp.example.com", ""},
	}
	for _, s := range servers {
		sa, err := smp.ParseServerWithAuth(s.text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.id, err)
		}
		b := wire.NewBuilder(nil)
		sa.Server.AppendBinary(b)
		bin, err := b.Bytes()
		if err != nil {
			return nil, err
		}
		c := uriCase{Case: Case{ID: "server-" + s.id, Spec: "SMP-ADDR-1", Valid: true}, Kind: "server", Text: s.text, Canonical: s.canonical,
			KeyHash: sa.KeyHash, Hosts: sa.Hosts, Port: sa.Port, Binary: bin}
		if sa.HasAuth {
			p := sa.BasicAuth
			c.Password = &p
		}
		f.Cases = append(f.Cases, c)
	}
	for _, b := range []struct{ id, text string }{
		{"no-scheme", khText + "@smp.example.com"},
		{"wrong-scheme", "https://" + khText + "@smp.example.com"},
		{"empty-key-hash", "smp://@smp.example.com"},
		{"no-host", "smp://" + khText + "@"},
		{"bad-port", "smp://" + khText + "@smp.example.com:port"},
		{"password-with-slash", "smp://" + khText + ":a/b@smp.example.com"},
		{"space-in-host", "smp://" + khText + "@smp example.com"},
	} {
		f.Cases = append(f.Cases, uriCase{Case: Case{ID: "server-bad-" + b.id, Spec: "SMP-ADDR-1", Error: "address"}, Kind: "server", Text: b.text})
	}
	dh, _ := keyFor(smpcrypto.X25519, "uri dh")
	sid := RandBytes("uri sender", 24)
	mode := func(m smp.QueueMode) *smp.QueueMode { return &m }
	srv := smp.Server{Hosts: []string{"smp.example.com", "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvw.onion"}, KeyHash: kh}
	for _, q := range []struct {
		id string
		u  smp.QueueURI
	}{
		{"contact-v1-4", smp.QueueURI{Server: srv, SenderID: sid, Versions: smp.VersionRange{Min: 1, Max: 4}, DHKey: dh.Public(), Mode: mode(smp.QueueContact)}},
		{"messaging-v2-4", smp.QueueURI{Server: srv, SenderID: sid, Versions: smp.VersionRange{Min: 2, Max: 4}, DHKey: dh.Public(), Mode: mode(smp.QueueMessaging)}},
		{"messaging-v4", smp.QueueURI{Server: srv, SenderID: sid, Versions: smp.VersionRange{Min: 4, Max: 4}, DHKey: dh.Public(), Mode: mode(smp.QueueMessaging)}},
		{"no-mode-v1-3", smp.QueueURI{Server: srv, SenderID: sid, Versions: smp.VersionRange{Min: 1, Max: 3}, DHKey: dh.Public()}},
	} {
		text := q.u.String()
		back, err := smp.ParseQueueURI(text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.id, err)
		}
		f.Cases = append(f.Cases, queueURICase("queue-"+q.id, text, back))
	}
	// Parsers accept "/" before "#", k=s without q, and any parameter order.
	lenient := "smp://" + khText + "@smp.example.com:5223/" + smp.EncodeB64(sid) + "/#/?dh=" + escapeEq(smp.EncodeB64(dh.Public().SPKI())) + "&k=s&v=1-3"
	back, err := smp.ParseQueueURI(lenient)
	if err != nil {
		return nil, err
	}
	lc := queueURICase("queue-lenient", lenient, back)
	lc.Canonical = back.String()
	f.Cases = append(f.Cases, lc)
	// Legacy forms (SMP-URI-1): the key right after "#", alone (version 1)
	// or before the query; unknown parameters are ignored.
	dhText := smp.EncodeB64(dh.Public().SPKI())
	base := "smp://" + khText + "@smp.example.com:5223/" + smp.EncodeB64(sid) + "#"
	for _, l := range []struct{ id, text string }{
		{"legacy-key-only", base + dhText},
		{"legacy-key-query", base + dhText + "/?v=1-4&extra=abc&q=m"},
		{"legacy-key-query-no-slash", base + dhText + "?v=1-3"},
		{"unknown-mode", base + "/?v=2-4&dh=" + escapeEq(dhText) + "&q=z"},
		{"legacy-preset-onion", "smp://" + khText + "@smp5.simplex.im/" + smp.EncodeB64(sid) + "#" + dhText},
	} {
		back, err := smp.ParseQueueURI(l.text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.id, err)
		}
		c := queueURICase("queue-"+l.id, l.text, back)
		c.Canonical = back.String()
		f.Cases = append(f.Cases, c)
	}
	for _, b := range []struct{ id, text string }{
		{"no-fragment", "smp://" + khText + "@smp.example.com/" + smp.EncodeB64(sid)},
		{"no-version", "smp://" + khText + "@smp.example.com/" + smp.EncodeB64(sid) + "#/?dh=" + escapeEq(smp.EncodeB64(dh.Public().SPKI()))},
		{"bad-dh", "smp://" + khText + "@smp.example.com/" + smp.EncodeB64(sid) + "#/?v=1-4&dh=AAAA"},
		{"password", "smp://" + khText + ":pw@smp.example.com/" + smp.EncodeB64(sid) + "#/?v=1-4&dh=" + escapeEq(smp.EncodeB64(dh.Public().SPKI()))},
	} {
		f.Cases = append(f.Cases, uriCase{Case: Case{ID: "queue-bad-" + b.id, Spec: "SMP-URI-1", Error: "address"}, Kind: "queue", Text: b.text})
	}
	return f, nil
}

func escapeEq(s string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte("="), []byte("%3D")))
}

func queueURICase(id, text string, q smp.QueueURI) uriCase {
	c := uriCase{Case: Case{ID: id, Spec: "SMP-URI-1", Valid: true}, Kind: "queue", Text: text,
		KeyHash: q.Server.KeyHash, Hosts: q.Server.Hosts, Port: q.Server.Port, SenderID: q.SenderID,
		VersionMin: int(q.Versions.Min), VersionMax: int(q.Versions.Max), DHKey: q.DHKey.SPKI()}
	if q.Mode != nil {
		c.Mode = string(rune(*q.Mode))
	}
	return c
}

func verifyURI(data []byte) error {
	return Check(data, func(c uriCase) string { return c.ID }, func(c uriCase) error {
		var printed string
		switch c.Kind {
		case "server":
			sa, err := smp.ParseServerWithAuth(c.Text)
			if !c.Valid {
				if err == nil {
					return errors.New("parsed")
				}
				return nil
			}
			if err != nil {
				return err
			}
			if !bytes.Equal(sa.KeyHash, c.KeyHash) || fmt.Sprint(sa.Hosts) != fmt.Sprint(c.Hosts) || sa.Port != c.Port ||
				sa.HasAuth != (c.Password != nil) || (c.Password != nil && *c.Password != sa.BasicAuth) {
				return fmt.Errorf("parsed %+v", sa)
			}
			b := wire.NewBuilder(nil)
			sa.Server.AppendBinary(b)
			bin, _ := b.Bytes()
			if !bytes.Equal(bin, c.Binary) {
				return errors.New("binary form differs")
			}
			p := wire.NewParser(c.Binary)
			back := smp.ParseServerBinary(p)
			if p.Finish() != nil || back.String() != sa.Server.String() {
				return errors.New("binary form does not parse back")
			}
			printed = sa.String()
		case "queue":
			q, err := smp.ParseQueueURI(c.Text)
			if !c.Valid {
				if err == nil {
					return errors.New("parsed")
				}
				return nil
			}
			if err != nil {
				return err
			}
			got := queueURICase(c.ID, c.Text, q)
			got.Canonical = c.Canonical
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", c) {
				return fmt.Errorf("parsed %+v", got)
			}
			printed = q.String()
		default:
			return fmt.Errorf("kind %q", c.Kind)
		}
		want := c.Canonical
		if want == "" {
			want = c.Text
		}
		if printed != want {
			return fmt.Errorf("printed %s, want %s", printed, want)
		}
		return nil
	})
}

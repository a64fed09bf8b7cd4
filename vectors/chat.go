package vectors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"unicode/utf8"

	cm "github.com/smpkit/smpkit/reference/chatmsg"
)

func init() {
	Register(Topic{Path: "chat/events.json", Generate: genChatEvents, Verify: verifyChatEvents})
	Register(Topic{Path: "chat/invalid.json", Generate: genChatInvalid, Verify: verifyChatInvalid})
	Register(Topic{Path: "chat/framing.json", Generate: genChatFraming, Verify: verifyChatFraming})
	Register(Topic{Path: "chat/upstream.json", Generate: genChatUpstream, Verify: verifyChatUpstream})
}

type chatEventCase struct {
	Case
	Event string `json:"event"`
	// Typed is true when the event is one this revision decodes (CH-EXT-2:
	// false means it is kept as an unknown event).
	Typed   bool   `json:"typed"`
	Message string `json:"message"`
	// Canonical is the message re-encoded (CH-JSON-2) when that differs
	// from message.
	Canonical string `json:"canonical,omitempty"`
}

// chatLenient are valid inputs that are not canonical, or that exercise a
// rule a receiver reads leniently.
var chatLenient = []struct{ id, spec, comment, msg string }{
	{"no-v", "CH-VER-2", "no v: range 1-1, written back", `{"event":"x.ok","params":{}}`},
	{"white-space-key-order", "CH-JSON-1", "white space and any key order are accepted", "{ \"params\" : { } ,\n \"event\" : \"x.ok\" , \"v\" : \"1-9\" }"},
	{"null-is-absent", "CH-JSON-3", "an optional field set to null is absent", `{"v":"1-9","event":"x.contact","params":{"profile":{"displayName":"bob","fullName":""},"contactReqId":null,"content":null}}`},
	{"unpadded-bytes", "CH-JSON-4", "base64url without padding is accepted and written padded", `{"v":"1-9","msgId":"AQIDBA","event":"x.info.probe","params":{"probe":"AQIDBAU"}}`},
	{"integer-exponent", "CH-JSON-3", "an integral number in exponent form", `{"v":"1-9","msgId":"AQIDBA==","event":"x.msg.new","params":{"content":{"text":"t","type":"text"},"ttl":3.6e3}}`},
	{"time-offset", "CH-JSON-5", "an RFC 3339 time with an offset is written in UTC", `{"v":"1-9","event":"x.grp.msg.forward","params":{"msg":{"v":"1","event":"x.ok","params":{}},"msgTs":"2026-12-01T12:00:00.123+02:00"}}`},
	{"bad-quote-kept", "CH-MSG-NEW-4", "a quote that is not a quote is ignored and kept", `{"v":"1-9","msgId":"AQIDBA==","event":"x.msg.new","params":{"content":{"text":"t","type":"text"},"quote":{"msgRef":5}}}`},
	{"forward-false", "CH-MSG-NEW-5", "forward false: not forwarded, kept", `{"v":"1-9","msgId":"AQIDBA==","event":"x.msg.new","params":{"content":{"text":"t","type":"text"},"forward":false}}`},
	{"forward-object", "CH-MSG-NEW-5", "forward as an object: forwarded", `{"v":"1-9","msgId":"AQIDBA==","event":"x.msg.new","params":{"content":{"text":"t","type":"text"},"forward":{"chatName":"x"}}}`},
	{"messages-lenient", "CH-GRP-DEL-1", "messages that is not true is false, and kept", `{"v":"1-9","event":"x.grp.mem.del","params":{"memberId":"AQIDBA==","messages":"yes"}}`},
	{"top-level-extra", "CH-MSG-4", "other top-level keys are kept, after params", `{"zeta":[true],"v":"1-9","event":"x.ok","params":{},"alpha":1}`},
	{"unknown-event-any-params", "CH-EXT-2", "any params of an unknown event", `{"v":"1-16","event":"x.grp.relay.new","params":{"relayLink":"https://smp.example/r#abc","n":[1,{"b":1,"a":2}]}}`},
	{"reaction-empty-emoji", "CH-MSG-REACT-2", "an empty emoji is not a known reaction, and is kept", `{"v":"1-9","event":"x.msg.react","params":{"add":true,"msgId":"AQIDBA==","reaction":{"emoji":"","type":"emoji"}}}`},
	{"mention-extra", "CH-EXT-1", "unknown fields of a mention are kept", `{"v":"1-9","msgId":"AQIDBA==","event":"x.msg.new","params":{"content":{"text":"@a","type":"text"},"mentions":{"a":{"memberId":"AQIDBA==","zrole":"admin"}}}}`},
	{"text-escapes", "CH-JSON-2", "\\u escapes of printable characters are written as the characters", `{"v":"1-9","msgId":"AQIDBA==","event":"x.msg.new","params":{"content":{"text":"\u0041\u00e9\u2028\/\u0007","type":"text"}}}`},
}

func genChatEvents() (any, error) {
	f := File[chatEventCase]{
		Topic: "Chat events",
		Description: "Every event of spec/chat.md §6-§8 from fixed inputs, and non-canonical or leniently read inputs. " +
			"Valid: message parses (CH-MSG-1) into event (a typed event when typed, else kept as unknown) and re-encodes " +
			"byte for byte to canonical, or to message itself when canonical is absent (CH-JSON-2).",
		Spec: "spec/chat.md §3, §5-§8",
	}
	for _, fx := range chatFixtures() {
		m := &cm.Message{V: cm.Supported, MsgID: fx.msgID, Event: fx.ev}
		f.Cases = append(f.Cases, chatEventCase{Case: Case{ID: fx.id, Spec: fx.spec, Valid: true, Comment: fx.comment},
			Event: fx.ev.Name(), Typed: cm.Known(fx.ev.Name()), Message: string(m.Encode())})
	}
	for _, l := range chatLenient {
		m, err := cm.ParseMessage([]byte(l.msg))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.id, err)
		}
		c := chatEventCase{Case: Case{ID: l.id, Spec: l.spec, Valid: true, Comment: l.comment}, Event: m.Event.Name(), Typed: cm.Known(m.Event.Name()), Message: l.msg}
		if enc := string(m.Encode()); enc != l.msg {
			c.Canonical = enc
		}
		f.Cases = append(f.Cases, c)
	}
	return f, nil
}

func verifyChatEvents(data []byte) error {
	return Check(data, func(c chatEventCase) string { return c.ID }, func(c chatEventCase) error {
		m, err := cm.ParseMessage([]byte(c.Message))
		if err != nil {
			return err
		}
		if m.Event.Name() != c.Event || cm.Known(c.Event) != c.Typed {
			return fmt.Errorf("event %s (typed %v), want %s (typed %v)", m.Event.Name(), cm.Known(m.Event.Name()), c.Event, c.Typed)
		}
		want := c.Canonical
		if want == "" {
			want = c.Message
		}
		if got := string(m.Encode()); got != want {
			return fmt.Errorf("encodes to\n%s\nwant\n%s", got, want)
		}
		return checkLenient(c.ID, m)
	})
}

// checkLenient checks the meaning of the lenient cases beyond their bytes.
func checkLenient(id string, m *cm.Message) error {
	bad := func(what string) error { return fmt.Errorf("%s: %s", id, what) }
	switch id {
	case "no-v":
		if m.V != cm.InitialRange {
			return bad("range not 1-1")
		}
	case "bad-quote-kept":
		if m.Event.(*cm.MsgNew).Quote != nil {
			return bad("bad quote decoded")
		}
	case "forward-false":
		if m.Event.(*cm.MsgNew).IsForward() {
			return bad("forward false read as forwarded")
		}
	case "forward-object":
		if !m.Event.(*cm.MsgNew).IsForward() {
			return bad("forward object not read as forwarded")
		}
	case "messages-lenient":
		if m.Event.(*cm.GrpMemDel).Messages {
			return bad(`"yes" read as true`)
		}
	case "x-msg-new-unknown-content-no-text":
		if m.Event.(*cm.MsgNew).Content.DisplayText() != cm.UnknownContentText {
			return bad("display text")
		}
	case "x-msg-react-unknown":
		if m.Event.(*cm.MsgReact).Reaction.Known() {
			return bad("unknown emoji known")
		}
	}
	return nil
}

type chatInvalidCase struct {
	Case
	// Message is the input; MessageHex instead when it is not UTF-8.
	Message    string `json:"message,omitempty"`
	MessageHex Hex    `json:"message_hex,omitempty"`
	// Where is the position the error names (a JSON path), "" for the top.
	Where string `json:"where"`
}

var chatInvalid = []struct{ id, spec, msg, kind, where string }{
	{"truncated-json", "CH-JSON-1", `{"v":"1","event":"x.ok","params":{}`, "JSON", ""},
	{"not-an-object", "CH-JSON-1", `"x.ok"`, "JSON", ""},
	{"not-utf8", "CH-JSON-1", "{\"v\":\"1\",\"event\":\"x.ok\",\"params\":{\"a\":\"\xff\"}}", "JSON", ""},
	{"event-missing", "CH-MSG-1", `{"v":"1","params":{}}`, "EVENT", "event"},
	{"event-not-string", "CH-MSG-3", `{"v":"1","event":5,"params":{}}`, "EVENT", "event"},
	{"event-namespace", "CH-MSG-3", `{"v":"1","event":"y.msg.new","params":{}}`, "EVENT", "event"},
	{"event-space", "CH-MSG-3", `{"v":"1","event":"x.msg new","params":{}}`, "EVENT", "event"},
	{"params-missing", "CH-MSG-1", `{"v":"1","event":"x.ok"}`, "PARAMS", "params"},
	{"params-array", "CH-MSG-1", `{"v":"1","event":"x.unknown","params":[]}`, "PARAMS", "params"},
	{"v-inverted", "CH-VER-1", `{"v":"9-1","event":"x.ok","params":{}}`, "VERSION", "v"},
	{"v-number", "CH-VER-1", `{"v":1,"event":"x.ok","params":{}}`, "VERSION", "v"},
	{"v-word16", "CH-VER-1", `{"v":"1-65536","event":"x.ok","params":{}}`, "VERSION", "v"},
	{"msgid-std-alphabet", "CH-JSON-4", `{"v":"1","msgId":"ab+/","event":"x.ok","params":{}}`, "PARAMS", "msgId"},
	{"msgid-empty", "CH-JSON-4", `{"v":"1","msgId":"","event":"x.ok","params":{}}`, "PARAMS", "msgId"},
	{"msgid-bad-padding", "CH-JSON-4", `{"v":"1","msgId":"AQIDBA=","event":"x.ok","params":{}}`, "PARAMS", "msgId"},
	{"info-no-profile", "CH-PROF-1", `{"v":"1","event":"x.info","params":{}}`, "PARAMS", "params.profile"},
	{"profile-name-number", "CH-PROF-1", `{"v":"1","event":"x.info","params":{"profile":{"displayName":7,"fullName":""}}}`, "PARAMS", "params.profile.displayName"},
	{"profile-no-full-name", "CH-PROF-1", `{"v":"1","event":"x.info","params":{"profile":{"displayName":"a"}}}`, "PARAMS", "params.profile.fullName"},
	{"preference-allow", "CH-PREF-1", `{"v":"1","event":"x.info","params":{"profile":{"displayName":"a","fullName":"","preferences":{"voice":{"allow":"maybe"}}}}}`, "PARAMS", "params.profile.preferences.voice.allow"},
	{"group-preference-enable", "CH-PREF-2", `{"v":"1","event":"x.grp.info","params":{"groupProfile":{"displayName":"g","fullName":"","groupPreferences":{"history":{"enable":"yes"}}}}}`, "PARAMS", "params.groupProfile.groupPreferences.history.enable"},
	{"msg-new-no-content", "CH-MSG-NEW-1", `{"v":"1","msgId":"AQIDBA==","event":"x.msg.new","params":{}}`, "PARAMS", "params.content"},
	{"content-no-type", "CH-CONTENT-1", `{"v":"1","event":"x.msg.new","params":{"content":{"text":"t"}}}`, "PARAMS", "params.content.type"},
	{"text-no-text", "CH-CONTENT-1", `{"v":"1","event":"x.msg.new","params":{"content":{"type":"text"}}}`, "PARAMS", "params.content.text"},
	{"link-no-preview", "CH-CONTENT-1", `{"v":"1","event":"x.msg.new","params":{"content":{"type":"link","text":"t"}}}`, "PARAMS", "params.content.preview"},
	{"preview-no-uri", "CH-CONTENT-2", `{"v":"1","event":"x.msg.new","params":{"content":{"type":"link","text":"t","preview":{"title":"","description":"","image":""}}}}`, "PARAMS", "params.content.preview.uri"},
	{"image-no-image", "CH-CONTENT-1", `{"v":"1","event":"x.msg.new","params":{"content":{"type":"image","text":""}}}`, "PARAMS", "params.content.image"},
	{"unknown-content-text-number", "CH-CONTENT-3", `{"v":"1","event":"x.msg.new","params":{"content":{"type":"voice","text":1}}}`, "PARAMS", "params.content.text"},
	{"ttl-fraction", "CH-JSON-3", `{"v":"1","event":"x.msg.new","params":{"content":{"type":"text","text":"t"},"ttl":1.5}}`, "PARAMS", "params.ttl"},
	{"live-string", "CH-JSON-3", `{"v":"1","event":"x.msg.new","params":{"content":{"type":"text","text":"t"},"live":"true"}}`, "PARAMS", "params.live"},
	{"file-size-string", "CH-FILE-1", `{"v":"1","event":"x.msg.new","params":{"content":{"type":"file","text":""},"file":{"fileName":"f","fileSize":"12"}}}`, "PARAMS", "params.file.fileSize"},
	{"scope-type", "CH-MSG-NEW-1", `{"v":"1","event":"x.msg.new","params":{"content":{"type":"text","text":"t"},"scope":{"type":"everyone"}}}`, "PARAMS", "params.scope.type"},
	{"update-no-msgid", "CH-MSG-UPD-1", `{"v":"1","event":"x.msg.update","params":{"content":{"type":"text","text":"t"}}}`, "PARAMS", "params.msgId"},
	{"react-no-add", "CH-MSG-REACT-1", `{"v":"1","event":"x.msg.react","params":{"msgId":"AQIDBA==","reaction":{"type":"emoji","emoji":"👍"}}}`, "PARAMS", "params.add"},
	{"reaction-no-type", "CH-MSG-REACT-1", `{"v":"1","event":"x.msg.react","params":{"msgId":"AQIDBA==","reaction":{"emoji":"👍"},"add":true}}`, "PARAMS", "params.reaction.type"},
	{"role-unknown", "CH-ROLE-1", `{"v":"1","event":"x.grp.mem.role","params":{"memberId":"AQIDBA==","role":"superuser"}}`, "PARAMS", "params.role"},
	{"grp-inv-no-conn", "CH-GRP-INV-1", `{"v":"1","event":"x.grp.inv","params":{"groupInvitation":{"fromMember":{"memberId":"AQIDBA==","memberRole":"owner"},"invitedMember":{"memberId":"BQYHCA==","memberRole":"member"},"groupProfile":{"displayName":"g","fullName":""}}}}`, "PARAMS", "params.groupInvitation.connRequest"},
	{"member-info-v", "CH-VER-1", `{"v":"1","event":"x.grp.mem.new","params":{"memberInfo":{"memberId":"AQIDBA==","memberRole":"member","v":"x","profile":{"displayName":"a","fullName":""}}}}`, "VERSION", "params.memberInfo.v"},
	{"mem-inv-no-intro", "CH-GRP-INTRO-3", `{"v":"1","event":"x.grp.mem.inv","params":{"memberId":"AQIDBA=="}}`, "PARAMS", "params.memberIntro"},
	{"forward-nested", "CH-FWD-2", `{"v":"1","event":"x.grp.msg.forward","params":{"msg":{"v":"1","event":"x.grp.msg.forward","params":{"msg":{"v":"1","event":"x.ok","params":{}},"msgTs":"2026-01-01T00:00:00Z"}},"msgTs":"2026-01-01T00:00:00Z"}}`, "NESTED", "params.msg.event"},
	{"forward-msg-string", "CH-FWD-1", `{"v":"1","event":"x.grp.msg.forward","params":{"msg":"{\"v\":\"1\",\"event\":\"x.ok\",\"params\":{}}","msgTs":"2026-01-01T00:00:00Z"}}`, "PARAMS", "params.msg"},
	{"forward-bad-time", "CH-JSON-5", `{"v":"1","event":"x.grp.msg.forward","params":{"msg":{"v":"1","event":"x.ok","params":{}},"msgTs":"yesterday"}}`, "PARAMS", "params.msgTs"},
	{"forward-time-out-of-range", "CH-JSON-5", `{"v":"1","event":"x.grp.msg.forward","params":{"msg":{"v":"1","event":"x.ok","params":{}},"msgTs":"0000-01-01T00:00:00+01:00"}}`, "PARAMS", "params.msgTs"},
	{"forward-inner-invalid", "CH-FWD-1", `{"v":"1","event":"x.grp.msg.forward","params":{"msg":{"v":"1","event":"x.msg.new","params":{}},"msgTs":"2026-01-01T00:00:00Z"}}`, "PARAMS", "params.msg.params.content"},
}

func genChatInvalid() (any, error) {
	f := File[chatInvalidCase]{
		Topic: "Invalid chat messages",
		Description: "Messages a receiver must reject (CH-ERR-1). error is the kind of spec/chat.md §11 and where the JSON path " +
			"the error names (\"\" for the message itself). message_hex holds inputs that are not UTF-8.",
		Spec: "spec/chat.md §11",
	}
	for _, c := range chatInvalid {
		ic := chatInvalidCase{Case: Case{ID: c.id, Spec: c.spec, Valid: false, Error: c.kind}, Where: c.where}
		if utf8.ValidString(c.msg) {
			ic.Message = c.msg
		} else {
			ic.MessageHex = Hex(c.msg)
		}
		if _, err := cm.ParseMessage([]byte(c.msg)); cm.KindName(err) != c.kind || cm.Where(err) != c.where {
			return nil, fmt.Errorf("%s: got %v", c.id, err)
		}
		f.Cases = append(f.Cases, ic)
	}
	return f, nil
}

func verifyChatInvalid(data []byte) error {
	return Check(data, func(c chatInvalidCase) string { return c.ID }, func(c chatInvalidCase) error {
		in := []byte(c.Message)
		if c.MessageHex != nil {
			in = c.MessageHex
		}
		_, err := cm.ParseMessage(in)
		if err == nil {
			return errors.New("accepted")
		}
		if cm.KindName(err) != c.Error || cm.Where(err) != c.Where {
			return fmt.Errorf("got %v, want %s at %q", err, c.Error, c.Where)
		}
		return nil
	})
}

// jsonEqual compares two JSON texts as values (upstream's test compares
// aeson Values).
func jsonEqual(a, b []byte) (bool, error) {
	var va, vb any
	da := json.NewDecoder(bytes.NewReader(a))
	da.UseNumber()
	db := json.NewDecoder(bytes.NewReader(b))
	db.UseNumber()
	if err := da.Decode(&va); err != nil {
		return false, err
	}
	if err := db.Decode(&vb); err != nil {
		return false, err
	}
	return reflect.DeepEqual(va, vb), nil
}

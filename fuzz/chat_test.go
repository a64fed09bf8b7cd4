package fuzz

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/smpkit/smpkit/reference/chatmsg"
)

// chatSeeds adds every message and body of the vectors/chat files.
func chatSeeds(f *testing.F) {
	for _, path := range []string{"chat/events.json", "chat/invalid.json", "chat/upstream.json"} {
		for _, c := range vectorCases(f, path) {
			for _, k := range []string{"message", "canonical"} {
				if s, ok := c[k].(string); ok && s != "" {
					f.Add([]byte(s))
				}
			}
			if b, ok := hexField(c, "message_hex"); ok {
				f.Add(b)
			}
		}
	}
	seedBytes(f, "chat/framing.json", "body")
}

// A body that parses is a list of messages; each message that decoded
// encodes canonically (parsing the encoding gives the same encoding again)
// and keeps every field it had (CH-EXT-1). Every error is a typed chatmsg
// error.
func FuzzChatBody(f *testing.F) {
	chatSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		items, err := chatmsg.ParseBody(data)
		if err != nil {
			checkChatErr(t, err)
			return
		}
		for _, it := range items {
			if it.Err != nil {
				checkChatErr(t, it.Err)
				continue
			}
			enc := it.Msg.Encode()
			if missing := droppedPaths(it.Raw, enc); missing != "" {
				t.Fatalf("%s dropped:\n%s\n%s", missing, it.Raw, enc)
			}
			again, err := chatmsg.ParseMessage(enc)
			if err != nil {
				t.Fatalf("canonical encoding does not parse: %v\n%s", err, enc)
			}
			if enc2 := again.Encode(); !bytes.Equal(enc, enc2) {
				t.Fatalf("encoding not stable:\n%s\n%s", enc, enc2)
			}
		}
	})
}

// droppedPaths returns a key path of in (a JSON text) that out lacks,
// ignoring the values the codec is allowed to normalise away: null (absent,
// CH-JSON-3) and an empty mentions object.
func droppedPaths(in, out []byte) string {
	var a, b any
	if json.Unmarshal(in, &a) != nil || json.Unmarshal(out, &b) != nil {
		return ""
	}
	var walk func(path string, x, y any) string
	walk = func(path string, x, y any) string {
		xo, ok := x.(map[string]any)
		if !ok {
			return ""
		}
		yo, _ := y.(map[string]any)
		for k, v := range xo {
			if v == nil {
				continue
			}
			if m, ok := v.(map[string]any); ok && k == "mentions" && len(m) == 0 {
				continue
			}
			w, ok := yo[k]
			if !ok {
				return path + "." + k
			}
			if p := walk(path+"."+k, v, w); p != "" {
				return p
			}
		}
		return ""
	}
	return walk("", a, b)
}

func checkChatErr(t *testing.T, err error) {
	t.Helper()
	var e *chatmsg.Error
	if !errors.As(err, &e) {
		t.Fatalf("untyped error %v", err)
	}
}

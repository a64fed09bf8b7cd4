package fuzz

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/smpkit/smpkit/internal/chatapi"
)

// The bot API's request parser never panics; what it refuses is
// ErrRequest, and what it takes encodes back to the same request.
func FuzzAPIRequest(f *testing.F) {
	for _, s := range []string{
		`{"corrId":"1","cmd":"/c"}`, `{"cmd":"@bob hi","corrId":"x","extra":[1,{}]}`, `{"corrId":1,"cmd":"/c"}`,
		`{"corrId":"1"}`, `{"corrId":"1","cmd":null}`, `[]`, `null`, `"x"`, ``, `{"corrId":"\u00e9","cmd":"\ud83d\ude00"}`,
		"{\"corrId\":\"1\",\"cmd\":\"\xff\"}", `{"corrId":"1","cmd":"a","cmd":"b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		id, cmd, err := chatapi.ParseRequest(data)
		if err != nil {
			if !errors.Is(err, chatapi.ErrRequest) {
				t.Fatalf("ParseRequest(%q): %v is not ErrRequest", data, err)
			}
			return
		}
		again, _ := json.Marshal(map[string]string{"corrId": id, "cmd": cmd})
		id2, cmd2, err := chatapi.ParseRequest(again)
		if err != nil || id2 != id || cmd2 != cmd {
			t.Fatalf("ParseRequest(%q) = %q %q; re-encoded %s gives %q %q %v", data, id, cmd, again, id2, cmd2, err)
		}
	})
}

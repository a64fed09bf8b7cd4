package fuzz

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/smpkit/smpkit/internal/chatcmd"
)

// smp-chat's command parser never panics; what it refuses is ErrSyntax,
// and what it takes names an operation.
func FuzzChatCommand(f *testing.F) {
	for _, s := range []string{
		"/c", "/c i", "/c simplex:/invitation#/?v=2-7&smp=x", "/c --qr x.png", "@bob hi", "@'bob smith' hi",
		"#team hello", "> @bob (hello) hi", ">> @bob (x) y", "! @bob (a) b", `\ @bob hi`, "+1 @bob hi", "-👍 #team x",
		"+❤️ @bob hi", "/tail @bob 5", "/? #team 3 hello", "/a team bob admin", "/mr #team @bob observer",
		"/auto_accept on incognito=on hi", "/verify @bob 123 456", "/sync bob force=on", "/smp test smp://a@b",
		"/create user bob Bob", "/help groups", "/p alice Alice", "/incognito on", "'", "@'", "(", "> @'a b' (", "+\uFE0F @a b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := chatcmd.Parse(line)
		if err != nil {
			if !errors.Is(err, chatcmd.ErrSyntax) {
				t.Fatalf("Parse(%q): %v is not ErrSyntax", line, err)
			}
			return
		}
		if c.Op == 0 {
			t.Fatalf("Parse(%q) = %+v without an operation", line, c)
		}
		if !utf8.ValidString(line) {
			t.Fatalf("Parse took invalid UTF-8 %q", line)
		}
	})
}

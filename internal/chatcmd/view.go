package chatcmd

import (
	"strings"
	"time"
	"unicode"

	"github.com/smpkit/smpkit/reference/chat"
	"github.com/smpkit/smpkit/reference/chatmsg"
)

// The terminal lines, as upstream's View.hs prints them (without colours).

// viewName quotes a name with spaces: 'John Doe'.
func viewName(n string) string {
	if strings.IndexFunc(n, unicode.IsSpace) >= 0 {
		return "'" + n + "'"
	}
	return n
}

// fullName is "name (Full Name)", or the name alone when the full name is
// empty or the same.
func fullName(name, full string) string {
	if full == "" || full == name {
		return viewName(name)
	}
	return viewName(name) + " (" + full + ")"
}

func profileFull(name string, p *chatmsg.Profile) string {
	if p == nil {
		return viewName(name)
	}
	return fullName(name, p.FullName)
}

func contactName(c chat.Contact) string {
	if c.LocalName != "" {
		return c.LocalName
	}
	if c.Profile != nil {
		return c.Profile.DisplayName
	}
	return "?"
}

func contactFull(c chat.Contact) string { return profileFull(contactName(c), c.Profile) }

func memberName(m chat.Member) string {
	if m.Profile != nil {
		return m.Profile.DisplayName
	}
	return "?"
}

func memberFull(m chat.Member) string { return profileFull(memberName(m), m.Profile) }

func groupName(g chat.Group) string { return g.Profile.DisplayName }

func groupRef(g chat.Group) string { return "#" + viewName(groupName(g)) }

func groupFull(g chat.Group) string {
	return "#" + fullName(groupName(g), g.Profile.FullName)
}

// incognitoPrefix marks a contact we talk to with a random profile.
func incognitoPrefix(c chat.Contact) string {
	if c.Incognito != nil {
		return "i "
	}
	return ""
}

// msgTime is "HH:MM" for today, "MM-DD" before (upstream's ttyMsgTime,
// without its evening grace).
func msgTime(now, t time.Time) string {
	now, t = now.Local(), t.Local()
	if y, m, d := now.Date(); t.Year() == y && t.Month() == m && t.Day() == d {
		return t.Format("15:04")
	}
	return t.Format("01-02")
}

func textLines(s string) []string {
	ls := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	if len(ls) == 0 {
		return []string{""}
	}
	return ls
}

// preview is a quoted message's text, cut at 120 characters.
func preview(s string) string {
	r := []rune(s)
	if len(r) > 120 {
		return string(r[:120]) + "..."
	}
	return s
}

func prependFirst(p string, ls []string) []string {
	if len(ls) == 0 {
		return []string{p}
	}
	out := append([]string{p + ls[0]}, ls[1:]...)
	return out
}

// quoteView is a reply's quote line: ">> text" when the quoted message has
// the reply's direction, "> text" otherwise (upstream's directQuote).
type quoteView struct {
	ok     bool
	prefix string
	text   string
}

func (q quoteView) lines() []string {
	if !q.ok {
		return nil
	}
	return prependFirst(q.prefix+" ", textLines(preview(q.text)))
}

// messageLines renders a message: the head ("@bob ", "bob> ", "#team
// bob> "), its quote and its text, with the time before it all.
func messageLines(ts, head string, q quoteView, text string) []string {
	indent := ""
	if q.ok {
		indent = "      "
	}
	body := append(q.lines(), prependFirst(indent, textLines(text))...)
	return prependFirst(ts+" "+head, body)
}

// reactionsLine is upstream's viewItemReactions: "      👍 1 😀 2".
func reactionsLine(rs []chat.Reaction) []string {
	if len(rs) == 0 {
		return nil
	}
	var order []string
	n := map[string]int{}
	for _, r := range rs {
		if n[r.Emoji] == 0 {
			order = append(order, r.Emoji)
		}
		n[r.Emoji]++
	}
	parts := make([]string, len(order))
	for i, e := range order {
		parts[i] = e + " " + itoa(n[e])
	}
	return []string{"      " + strings.Join(parts, " ")}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}

func viewUserProfile(p chatmsg.Profile) []string {
	return []string{
		"user profile: " + fullName(p.DisplayName, p.FullName),
		"use /p <display name> to change it",
		"(the updated profile will be sent to all your contacts)",
	}
}

func viewInvitation(link string) []string {
	return []string{
		"pass this invitation link to your contact (via another channel):",
		"",
		link,
		"",
		"and ask them to connect: /c <invitation_link_above>",
	}
}

func viewAddress(intro, link string) []string {
	return []string{
		intro,
		"",
		link,
		"",
		"Anybody can send you contact requests with: /c <contact_link_above>",
		"to show it again: /sa",
		"to share with your contacts: /profile_address on",
		"to delete it: /da (accepted contacts will remain connected)",
	}
}

func viewAutoAccept(a chat.Address) []string {
	if !a.AutoAccept {
		return []string{"auto_accept off"}
	}
	ls := []string{"auto_accept on"}
	if a.Welcome != "" {
		ls = append(ls, "auto reply:")
		ls = append(ls, textLines(a.Welcome)...)
	}
	return ls
}

package chatcmd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/smpkit/smpkit/reference/chatmsg"
)

// Op is what a command does.
type Op int

// The commands of upstream's terminal client that smp-chat takes
// (simplex-chat's chatCommandP), by what they do.
const (
	OpShowProfile Op = iota + 1
	OpUpdateProfile
	OpUsers
	OpCreateUser
	OpSetUser
	OpShowUser
	OpDeleteUser
	OpHideUser
	OpMuteUser
	OpUnmuteUser
	OpUnhideUser
	OpConnect // Text: the link; "" makes an invitation
	OpConnectQR
	OpCreateAddress
	OpShowAddress
	OpDeleteAddress
	OpAutoAccept
	OpProfileAddress
	OpAccept
	OpReject
	OpDeleteContact
	OpContacts
	OpInfo
	OpGroupInfo
	OpSend
	OpReply
	OpEdit
	OpDeleteMsg
	OpReact
	OpTail
	OpSearch
	OpNewGroup
	OpAddMember
	OpJoin
	OpCreateGroupLink
	OpShowGroupLink
	OpDeleteGroupLink
	OpMemberRole
	OpRemoveMember
	OpLeave
	OpDeleteGroup
	OpMembers
	OpGroups
	OpGroupProfile
	OpFeed
	OpIncognito
	OpCode
	OpVerify
	OpSwitch
	OpSync
	OpMemberCode
	OpSetDisappear
	OpChats
	OpMemberVerify
	OpMemberSwitch
	OpMemberSync
	OpServers
	OpSetServers
	OpTestServer
	OpHelp
	OpVersion
	OpQuit
)

// Chat names a conversation: Type '@' (a contact) or '#' (a group).
type Chat struct {
	Type byte
	Name string
}

func (c Chat) String() string { return string(c.Type) + viewName(c.Name) }

// Command is one parsed command line.
type Command struct {
	Op        Op
	Chat      Chat   // the conversation a message command is for
	Name      string // a user, contact, group or request name
	Member    string // a member name (/a, /rm, /mr)
	Text      string // message text, full name, link, file, code, password
	Quote     string // "(quoted)" text of replies and edits
	Own       bool   // ">>": the quoted message is ours
	Incognito bool
	On        bool
	Role      chatmsg.Role
	Count     int
	Emoji     string
	Section   string // of /help
}

// ErrSyntax wraps every parse error.
var ErrSyntax = errors.New("bad chat command")

// Parse reads one command line as upstream's terminal client does: the
// first rule that matches the whole line (trailing spaces ignored) wins.
func Parse(line string) (Command, error) {
	line = strings.TrimRightFunc(line, unicode.IsSpace)
	if !utf8.ValidString(line) {
		return Command{}, fmt.Errorf("%w: not UTF-8", ErrSyntax)
	}
	if line == "" {
		return Command{}, fmt.Errorf("%w: empty", ErrSyntax)
	}
	for _, r := range rules {
		s := &scan{s: line}
		if c, ok := r(s); ok && s.done() {
			return c, nil
		}
	}
	if strings.HasPrefix(line, "/") {
		w, _, _ := strings.Cut(line, " ")
		return Command{}, fmt.Errorf("%w: %s (type /help)", ErrSyntax, w)
	}
	return Command{}, fmt.Errorf("%w: a message starts with @name or #group (type /help)", ErrSyntax)
}

// scan is a cursor over a command line.
type scan struct {
	s string
	i int
}

func (s *scan) done() bool { return s.i >= len(s.s) }

// lit consumes one of the prefixes, the first that matches.
func (s *scan) lit(ps ...string) bool {
	for _, p := range ps {
		if strings.HasPrefix(s.s[s.i:], p) {
			s.i += len(p)
			return true
		}
	}
	return false
}

func (s *scan) char(c byte) bool {
	if s.i < len(s.s) && s.s[s.i] == c {
		s.i++
		return true
	}
	return false
}

// optChar is upstream's char_: an optional character.
func (s *scan) optChar(c byte) { s.char(c) }

func (s *scan) rest() string {
	r := s.s[s.i:]
	s.i = len(s.s)
	return r
}

// space consumes one space.
func (s *scan) space() bool { return s.char(' ') }

// name reads a display name: 'quoted' or up to a space or comma; its first
// character is not a space, '#', '@' or '\” (displayNameP).
func (s *scan) name() (string, bool) {
	if s.done() {
		return "", false
	}
	if s.s[s.i] == '\'' {
		j := strings.IndexByte(s.s[s.i+1:], '\'')
		if j <= 0 || !refChar(s.s[s.i+1]) {
			return "", false
		}
		n := s.s[s.i+1 : s.i+1+j]
		s.i += j + 2
		return n, true
	}
	if !refChar(s.s[s.i]) {
		return "", false
	}
	j := s.i
	for j < len(s.s) {
		r, n := utf8.DecodeRuneInString(s.s[j:])
		if unicode.IsSpace(r) || r == ',' {
			break
		}
		j += n
	}
	n := s.s[s.i:j]
	s.i = j
	return n, true
}

func refChar(c byte) bool { return c > ' ' && c != '#' && c != '@' && c != '\'' }

// chat reads @name or #name (chatNameP); with direct, a bare name is a
// contact (chatNameP').
func (s *scan) chat(direct bool) (Chat, bool) {
	t := byte('@')
	switch {
	case s.char('@'):
	case s.char('#'):
		t = '#'
	case !direct:
		return Chat{}, false
	}
	n, ok := s.name()
	return Chat{Type: t, Name: n}, ok
}

// optChat reads an optional " @name" or " #name" (as /tail and /search
// take one), leaving the scan where it was without one.
func (s *scan) optChat() Chat {
	save := s.i
	if s.space() {
		if ch, ok := s.chat(false); ok {
			return ch
		}
	}
	s.i = save
	return Chat{}
}

// quoted reads "(text)" and an optional space after it.
func (s *scan) quoted() (string, bool) {
	if !s.char('(') {
		return "", false
	}
	j := strings.IndexByte(s.s[s.i:], ')')
	if j < 0 {
		return "", false
	}
	q := s.s[s.i : s.i+j]
	s.i += j + 1
	s.space()
	return q, true
}

func (s *scan) onOff() (bool, bool) {
	switch {
	case s.lit("on"):
		return true, true
	case s.lit("off"):
		return false, true
	}
	return false, false
}

// count reads " N" (msgCountP), 10 without it.
func (s *scan) count() int {
	save := s.i
	if s.space() {
		j := s.i
		for j < len(s.s) && s.s[j] >= '0' && s.s[j] <= '9' {
			j++
		}
		if j > s.i && (j == len(s.s) || s.s[j] == ' ') {
			if n, err := strconv.Atoi(s.s[s.i:j]); err == nil && n > 0 && n <= 10000 {
				s.i = j
				return n
			}
		}
	}
	s.i = save
	return 10
}

// role reads " owner", " admin", ... (memberRole).
func (s *scan) role() (chatmsg.Role, bool) {
	for _, r := range []chatmsg.Role{chatmsg.RoleOwner, chatmsg.RoleAdmin, chatmsg.RoleModerator, chatmsg.RoleMember, chatmsg.RoleObserver} {
		if s.lit(" " + string(r)) {
			return r, true
		}
	}
	return "", false
}

// profile reads a name and an optional full name after spaces.
func (s *scan) profile() (name, full string, ok bool) {
	name, ok = s.name()
	if !ok {
		return "", "", false
	}
	if s.space() {
		full = strings.TrimSpace(s.rest())
	}
	return name, full, true
}

// incognito reads upstream's incognitoP: " incognito" or " i".
func (s *scan) incognito() bool {
	save := s.i
	if s.space() && s.lit("incognito", "i") && (s.done() || s.s[s.i] == ' ') {
		return true
	}
	s.i = save
	return false
}

// toEmoji maps the reaction shortcuts of upstream's reactionP.
func toEmoji(r rune) string {
	switch r {
	case '1', '+':
		return "👍"
	case '-':
		return "👎"
	case ')':
		return "😀"
	case ',':
		return "😢"
	case '*':
		return "❤️"
	case '^':
		return "🚀"
	}
	return string(r)
}

type rule func(*scan) (Command, bool)

// simple is a rule of fixed words.
func simple(op Op, words ...string) rule {
	return func(s *scan) (Command, bool) { return Command{Op: op}, s.lit(words...) && s.done() }
}

// withRest is a rule of words and the rest of the line, which may be empty.
func withRest(op Op, words ...string) rule {
	return func(s *scan) (Command, bool) {
		if !s.lit(words...) {
			return Command{}, false
		}
		return Command{Op: op, Text: s.rest()}, true
	}
}

// nameText is a rule of words, a name and, after a space, an optional
// rest of the line (a password, say).
func nameText(op Op, words ...string) rule {
	return func(s *scan) (Command, bool) {
		if !s.lit(words...) {
			return Command{}, false
		}
		n, ok := s.name()
		c := Command{Op: op, Name: n}
		if ok && s.space() {
			c.Text = s.rest()
		}
		return c, ok
	}
}

// named is a rule of words and a name, the prefix char optional.
func named(op Op, prefix byte, words ...string) rule {
	return func(s *scan) (Command, bool) {
		if !s.lit(words...) {
			return Command{}, false
		}
		if prefix != 0 {
			s.optChar(prefix)
		}
		n, ok := s.name()
		return Command{Op: op, Name: n}, ok
	}
}

// groupMember reads "#group @member" after words.
func groupMember(op Op, words ...string) rule {
	return func(s *scan) (Command, bool) {
		if !s.lit(words...) {
			return Command{}, false
		}
		s.optChar('#')
		g, ok := s.name()
		if !ok || !s.space() {
			return Command{}, false
		}
		s.optChar('@')
		m, ok := s.name()
		return Command{Op: op, Name: g, Member: m}, ok
	}
}

// contactOnly: WORD [@]NAME, where NAME is not a #group (groupMember
// takes those).
func contactOnly(op Op, word string) rule {
	return func(s *scan) (Command, bool) {
		if !s.lit(word) || s.lit("#") {
			return Command{}, false
		}
		s.optChar('@')
		n, ok := s.name()
		return Command{Op: op, Name: n}, ok
	}
}

// withForce: the rule, then an optional " force=on" (/sync).
func withForce(r rule) rule {
	return func(s *scan) (Command, bool) {
		c, ok := r(s)
		if ok && s.lit(" force=on") {
			c.On = true
		}
		return c, ok
	}
}

// withCode: the rule, then an optional security code of digits and
// spaces (/verify).
func withCode(r rule) rule {
	return func(s *scan) (Command, bool) {
		c, ok := r(s)
		if ok && s.space() {
			c.Text = s.rest()
			if strings.Trim(c.Text, "0123456789 ") != "" {
				return Command{}, false
			}
		}
		return c, ok
	}
}

var rules []rule

func init() {
	rules = []rule{
		func(s *scan) (Command, bool) {
			if !s.lit("/create user ") {
				return Command{}, false
			}
			n, f, ok := s.profile()
			return Command{Op: OpCreateUser, Name: n, Text: f}, ok
		},
		simple(OpUsers, "/users"),
		nameText(OpSetUser, "/user ", "/u "),
		withRest(OpHideUser, "/hide user "),
		withRest(OpUnhideUser, "/unhide user "),
		nameText(OpDeleteUser, "/delete user "),
		simple(OpMuteUser, "/mute user"),
		simple(OpUnmuteUser, "/unmute user"),
		simple(OpShowUser, "/user", "/u"),
		withRest(OpTestServer, "/smp test "),
		withRest(OpSetServers, "/smp "),
		simple(OpServers, "/smp"),
		named(OpGroupInfo, 0, "/info #", "/i #"),
		func(s *scan) (Command, bool) {
			if !s.lit("/info ", "/i ") {
				return Command{}, false
			}
			s.optChar('@')
			n, ok := s.name()
			return Command{Op: OpInfo, Name: n}, ok
		},
		func(s *scan) (Command, bool) { // /set disappear @bob yes [TTL] | no
			if !s.lit("/set disappear ") {
				return Command{}, false
			}
			s.optChar('@')
			n, ok := s.name()
			if !ok || !s.space() {
				return Command{}, false
			}
			c := Command{Op: OpSetDisappear, Name: n}
			switch {
			case s.lit("no"):
				return c, s.done()
			case s.lit("yes"):
				c.On, c.Count = true, 86400
				if s.space() {
					ttl, ok := timedTTL(s.rest())
					c.Count = ttl
					return c, ok
				}
				return c, true
			}
			return Command{}, false
		},
		groupMember(OpMemberCode, "/code #"),
		groupMember(OpMemberSwitch, "/switch #"),
		withForce(groupMember(OpMemberSync, "/sync #")),
		withCode(groupMember(OpMemberVerify, "/verify #")),
		contactOnly(OpSwitch, "/switch "),
		withForce(contactOnly(OpSync, "/sync ")),
		contactOnly(OpCode, "/code "),
		withCode(contactOnly(OpVerify, "/verify ")),
		func(s *scan) (Command, bool) {
			for _, h := range []struct{ sec, words string }{
				{"groups", "/help groups|/help group|/hg"}, {"contacts", "/help contacts|/help contact|/hc"},
				{"address", "/help address|/ha"}, {"incognito", "/help incognito|/hi"},
				{"messages", "/help messages|/hm"}, {"", "/help|/h"},
			} {
				if s.lit(strings.Split(h.words, "|")...) && s.done() {
					return Command{Op: OpHelp, Section: h.sec}, true
				}
			}
			return Command{}, false
		},
		func(s *scan) (Command, bool) {
			if !s.lit("/group", "/g") {
				return Command{}, false
			}
			inc := s.incognito()
			if !s.space() {
				return Command{}, false
			}
			s.optChar('#')
			n, f, ok := s.profile()
			return Command{Op: OpNewGroup, Name: n, Text: f, Incognito: inc}, ok
		},
		func(s *scan) (Command, bool) {
			c, ok := groupMember(OpAddMember, "/add ", "/a ")(s)
			if !ok {
				return c, false
			}
			c.Role = chatmsg.RoleMember
			if r, ok := s.role(); ok {
				c.Role = r
			}
			return c, true
		},
		func(s *scan) (Command, bool) {
			c, ok := named(OpJoin, '#', "/join ", "/j ")(s)
			return c, ok && (s.done() || s.lit(" mute"))
		},
		func(s *scan) (Command, bool) {
			c, ok := groupMember(OpMemberRole, "/member role ", "/mr ")(s)
			if !ok {
				return c, false
			}
			r, ok := s.role()
			c.Role = r
			return c, ok
		},
		func(s *scan) (Command, bool) {
			c, ok := groupMember(OpRemoveMember, "/remove ", "/rm ")(s)
			return c, ok
		},
		named(OpLeave, '#', "/leave ", "/l "),
		named(OpDeleteGroup, 0, "/delete #", "/d #"),
		func(s *scan) (Command, bool) {
			if !s.lit("/delete ", "/d ") {
				return Command{}, false
			}
			s.optChar('@')
			n, ok := s.name()
			return Command{Op: OpDeleteContact, Name: n}, ok
		},
		named(OpMembers, '#', "/members ", "/ms "),
		simple(OpGroups, "/groups", "/gs"),
		func(s *scan) (Command, bool) {
			if !s.lit("/group_profile ", "/gp ") {
				return Command{}, false
			}
			s.optChar('#')
			n, ok := s.name()
			c := Command{Op: OpGroupProfile, Name: n}
			if ok && s.space() {
				if c.Member, ok = s.name(); ok && s.space() {
					c.Text = strings.TrimSpace(s.rest())
				}
			}
			return c, ok
		},
		func(s *scan) (Command, bool) {
			c, ok := named(OpCreateGroupLink, 0, "/create link #")(s)
			if !ok {
				return c, false
			}
			c.Role = chatmsg.RoleMember
			if r, ok := s.role(); ok {
				c.Role = r
			}
			return c, true
		},
		named(OpDeleteGroupLink, 0, "/delete link #"),
		named(OpShowGroupLink, 0, "/show link #"),
		func(s *scan) (Command, bool) { // > #team [@member] (quoted) reply
			if !s.lit(">#", "> #") {
				return Command{}, false
			}
			n, ok := s.name()
			if !ok || !s.space() {
				return Command{}, false
			}
			c := Command{Op: OpReply, Chat: Chat{'#', n}}
			if !s.done() && s.s[s.i] != '(' {
				s.optChar('@')
				if c.Member, ok = s.name(); !ok || !s.space() {
					return Command{}, false
				}
			}
			q, ok := s.quoted()
			c.Quote, c.Text = q, s.rest()
			return c, ok
		},
		simple(OpContacts, "/contacts"),
		func(s *scan) (Command, bool) { // /chats [N | all], upstream's LastChats
			if !s.lit("/chats", "/cs") {
				return Command{}, false
			}
			c := Command{Op: OpChats, Count: 20}
			if s.lit(" all") {
				c.Count = 0
				return c, true
			}
			if !s.done() {
				c.Count = s.count() // the rule fails unless a number ends the line
			}
			return c, true
		},
		func(s *scan) (Command, bool) { // /c --qr IMAGE
			if !s.lit("/connect", "/c") {
				return Command{}, false
			}
			inc := s.incognito()
			if !s.lit(" --qr ") {
				return Command{}, false
			}
			return Command{Op: OpConnectQR, Incognito: inc, Text: s.rest()}, true
		},
		func(s *scan) (Command, bool) {
			if !s.lit("/connect", "/c") {
				return Command{}, false
			}
			c := Command{Op: OpConnect, Incognito: s.incognito()}
			if s.done() {
				return c, true
			}
			if !s.space() {
				return Command{}, false
			}
			c.Text = s.rest()
			return c, c.Text != "" && !strings.ContainsAny(c.Text, " \t")
		},
		func(s *scan) (Command, bool) { // @bob hi, #team hi
			t := s.s[s.i:]
			if t == "" || t[0] != '@' && t[0] != '#' {
				return Command{}, false
			}
			ch, ok := s.chat(false)
			if !ok || !s.space() {
				return Command{}, false
			}
			txt := s.rest()
			return Command{Op: OpSend, Chat: ch, Text: txt}, txt != ""
		},
		func(s *scan) (Command, bool) { // > @bob (quoted) reply, >> @bob (ours) reply
			own := false
			switch {
			case s.lit(">>@", ">> @"):
				own = true
			case s.lit(">@", "> @"):
			default:
				return Command{}, false
			}
			n, ok := s.name()
			if !ok || !s.space() {
				return Command{}, false
			}
			q, ok := s.quoted()
			txt := s.rest()
			return Command{Op: OpReply, Chat: Chat{'@', n}, Own: own, Quote: q, Text: txt}, ok && txt != ""
		},
		func(s *scan) (Command, bool) { // \ @bob text
			if strings.HasPrefix(s.s, `\\`) || !s.lit(`\ `, `\`) {
				return Command{}, false
			}
			ch, ok := s.chat(false)
			if !ok || !s.space() {
				return Command{}, false
			}
			txt := s.rest()
			return Command{Op: OpDeleteMsg, Chat: ch, Text: txt}, txt != ""
		},
		func(s *scan) (Command, bool) { // ! @bob (old) new
			if !s.lit("! ", "!") {
				return Command{}, false
			}
			ch, ok := s.chat(false)
			if !ok || !s.space() {
				return Command{}, false
			}
			q, _ := s.quoted()
			txt := s.rest()
			return Command{Op: OpEdit, Chat: ch, Quote: q, Text: txt}, txt != ""
		},
		func(s *scan) (Command, bool) { // +1 @bob text, -👍 #team text
			add := true
			switch {
			case s.char('+'):
			case s.char('-'):
				add = false
			default:
				return Command{}, false
			}
			r, n := utf8.DecodeRuneInString(s.s[s.i:])
			if n == 0 || r == ' ' {
				return Command{}, false
			}
			s.i += n
			emoji := toEmoji(r)
			// An emoji typed with its variation selector.
			if strings.HasPrefix(s.s[s.i:], "\uFE0F") {
				s.i += len("\uFE0F")
				if emoji == string(r) {
					emoji += "\uFE0F"
				}
			}
			if !s.space() {
				return Command{}, false
			}
			ch, ok := s.chat(true)
			if !ok || !s.space() {
				return Command{}, false
			}
			txt := s.rest()
			return Command{Op: OpReact, Chat: ch, Emoji: emoji, On: add, Text: txt}, txt != ""
		},
		func(s *scan) (Command, bool) {
			if !s.lit("/feed ") {
				return Command{}, false
			}
			txt := s.rest()
			return Command{Op: OpFeed, Text: txt}, txt != ""
		},
		func(s *scan) (Command, bool) {
			if !s.lit("/tail", "/t") {
				return Command{}, false
			}
			c := Command{Op: OpTail}
			c.Chat = s.optChat()
			c.Count = s.count()
			return c, s.done()
		},
		func(s *scan) (Command, bool) {
			if !s.lit("/search", "/?") {
				return Command{}, false
			}
			c := Command{Op: OpSearch}
			c.Chat = s.optChat()
			c.Count = s.count()
			if !s.space() {
				return Command{}, false
			}
			c.Text = s.rest()
			return c, c.Text != ""
		},
		simple(OpCreateAddress, "/address", "/ad"),
		simple(OpDeleteAddress, "/delete_address", "/da"),
		simple(OpShowAddress, "/show_address", "/sa"),
		func(s *scan) (Command, bool) {
			if !s.lit("/profile_address ", "/pa ") {
				return Command{}, false
			}
			on, ok := s.onOff()
			return Command{Op: OpProfileAddress, On: on}, ok
		},
		func(s *scan) (Command, bool) {
			if !s.lit("/auto_accept ") {
				return Command{}, false
			}
			on, ok := s.onOff()
			if !ok {
				return Command{}, false
			}
			c := Command{Op: OpAutoAccept, On: on}
			if on && s.lit(" incognito=on") {
				c.Incognito = true
			} else if on {
				s.lit(" incognito=off")
			}
			if on && s.space() {
				// Upstream's form is "text MSG" (msgContentP); the
				// bare message is taken too.
				c.Text = strings.TrimPrefix(s.rest(), "text ")
			}
			return c, true
		},
		func(s *scan) (Command, bool) {
			if !s.lit("/accept", "/ac") {
				return Command{}, false
			}
			inc := s.incognito()
			if !s.space() {
				return Command{}, false
			}
			s.optChar('@')
			n, ok := s.name()
			return Command{Op: OpAccept, Name: n, Incognito: inc}, ok
		},
		named(OpReject, '@', "/reject ", "/rc "),
		func(s *scan) (Command, bool) {
			if !s.lit("/incognito") {
				return Command{}, false
			}
			if s.done() {
				return Command{Op: OpIncognito, Section: "show"}, true
			}
			if !s.space() {
				return Command{}, false
			}
			on, ok := s.onOff()
			return Command{Op: OpIncognito, On: on}, ok
		},
		func(s *scan) (Command, bool) {
			if !s.lit("/profile ", "/p ") {
				return Command{}, false
			}
			n, f, ok := s.profile()
			return Command{Op: OpUpdateProfile, Name: n, Text: f}, ok
		},
		simple(OpShowProfile, "/profile", "/p"),
		simple(OpQuit, "/quit", "/q", "/exit"),
		simple(OpVersion, "/version", "/v"),
	}
}

// timedTTL reads upstream's timedTTLP: 30s, 5min, 1h, 8h, day, week,
// month or seconds.
func timedTTL(t string) (int, bool) {
	switch t {
	case "30s":
		return 30, true
	case "5min":
		return 300, true
	case "1h":
		return 3600, true
	case "8h":
		return 8 * 3600, true
	case "day":
		return 86400, true
	case "week":
		return 7 * 86400, true
	case "month":
		return 30 * 86400, true
	}
	n, err := strconv.Atoi(t)
	return n, err == nil && n > 0 && n <= 365*86400
}

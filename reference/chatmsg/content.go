package chatmsg

import (
	"encoding/json"
	"sort"
	"strconv"
	"time"
)

// Content types this revision knows (CH-CONTENT-1). Any other type is kept
// and shown by its text (CH-CONTENT-3).
const (
	ContentText  = "text"
	ContentLink  = "link"
	ContentImage = "image"
	ContentFile  = "file"
)

// UnknownContentText is what a receiver shows for content of an unknown type
// that has no text.
const UnknownContentText = "unknown message type"

// Content is a message's content. Type selects which fields a known type
// requires; fields of other types stay in Extra.
type Content struct {
	Type    string
	Text    string
	HasText bool         // false only for an unknown type sent without text
	Preview *LinkPreview // link
	Image   *string      // image: a small preview as a data URI
	Extra   Object
}

// Known reports whether the content's type is one this revision handles.
func (c *Content) Known() bool {
	switch c.Type {
	case ContentText, ContentLink, ContentImage, ContentFile:
		return true
	}
	return false
}

// DisplayText is the text a receiver shows (CH-CONTENT-3).
func (c *Content) DisplayText() string {
	if !c.HasText {
		return UnknownContentText
	}
	return c.Text
}

func decodeContent(r *objReader) (*Content, error) {
	c := &Content{Type: read(r, r.str, "type")}
	if c.Known() {
		c.Text, c.HasText = read(r, r.str, "text"), true
	} else if t := read(r, r.optStr, "text"); t != nil {
		c.Text, c.HasText = *t, true
	}
	switch c.Type {
	case ContentLink:
		c.Preview = sub(r, read(r, r.obj, "preview"), decodeLinkPreview)
	case ContentImage:
		img := read(r, r.str, "image")
		c.Image = &img
	}
	return finish(r, c, &c.Extra)
}

func (c *Content) encode() []byte {
	w := newObj()
	w.str("type", c.Type)
	if c.HasText || c.Known() {
		w.str("text", c.Text)
	}
	if c.Preview != nil {
		w.raw("preview", c.Preview.encode())
	}
	w.optStr("image", c.Image)
	w.extra(c.Extra)
	return w.bytesOut()
}

// LinkPreview is the sender-made preview of a link (CH-CONTENT-2).
type LinkPreview struct {
	URI, Title, Description, Image string
	Extra                          Object // e.g. content: {type: page|image|video}
}

func decodeLinkPreview(r *objReader) (*LinkPreview, error) {
	p := &LinkPreview{}
	for _, f := range []struct {
		key string
		dst *string
	}{{"uri", &p.URI}, {"title", &p.Title}, {"description", &p.Description}, {"image", &p.Image}} {
		*f.dst = read(r, r.str, f.key)
	}
	return finish(r, p, &p.Extra)
}

func (p *LinkPreview) encode() []byte {
	w := newObj()
	w.str("uri", p.URI)
	w.str("title", p.Title)
	w.str("description", p.Description)
	w.str("image", p.Image)
	w.extra(p.Extra)
	return w.bytesOut()
}

// FileInvitation offers a file (CH-FILE-1). This revision only shows the
// offer; fileConnReq, fileInline and fileDescr stay in Extra.
type FileInvitation struct {
	FileName   string
	FileSize   int64
	FileDigest []byte
	Extra      Object
}

func decodeFileInvitation(r *objReader) (*FileInvitation, error) {
	f := &FileInvitation{
		FileName:   read(r, r.str, "fileName"),
		FileSize:   read(r, r.integer, "fileSize"),
		FileDigest: read(r, r.optB64, "fileDigest"),
	}
	return finish(r, f, &f.Extra)
}

func (f *FileInvitation) encode() []byte {
	w := newObj()
	w.str("fileName", f.FileName)
	w.integer("fileSize", f.FileSize)
	w.optBytes("fileDigest", f.FileDigest)
	w.extra(f.Extra)
	return w.bytesOut()
}

// MsgRef refers to an earlier message (CH-MSG-NEW-3).
type MsgRef struct {
	MsgID    []byte // may be absent for old messages
	SentAt   time.Time
	Sent     bool   // true when the referring side sent the message
	MemberID []byte // in groups: the author
	Extra    Object
}

func decodeMsgRef(r *objReader) (*MsgRef, error) {
	m := &MsgRef{
		MsgID:    read(r, r.optB64, "msgId"),
		SentAt:   read(r, r.timestamp, "sentAt"),
		Sent:     read(r, r.boolean, "sent"),
		MemberID: read(r, r.optB64, "memberId"),
	}
	return finish(r, m, &m.Extra)
}

func (m *MsgRef) encode() []byte {
	w := newObj()
	w.optBytes("msgId", m.MsgID)
	w.str("sentAt", FormatTime(m.SentAt))
	w.boolean("sent", m.Sent)
	w.optBytes("memberId", m.MemberID)
	w.extra(m.Extra)
	return w.bytesOut()
}

// Quote is a reply's copy of the message it answers.
type Quote struct {
	MsgRef  *MsgRef
	Content *Content
	Extra   Object
}

func decodeQuote(r *objReader) (*Quote, error) {
	q := &Quote{
		MsgRef:  sub(r, read(r, r.obj, "msgRef"), decodeMsgRef),
		Content: sub(r, read(r, r.obj, "content"), decodeContent),
	}
	return finish(r, q, &q.Extra)
}

func (q *Quote) encode() []byte {
	w := newObj()
	w.raw("msgRef", q.MsgRef.encode())
	w.raw("content", q.Content.encode())
	w.extra(q.Extra)
	return w.bytesOut()
}

// Scope narrows a group message to a side chat with one member (type
// "member", the only type).
type Scope struct {
	MemberID []byte
	Extra    Object
}

func (r *objReader) optScope(key string) (*Scope, error) {
	o, err := r.optObj(key)
	if err != nil || o == nil {
		return nil, err
	}
	t, err := o.str("type")
	if err != nil {
		return nil, err
	}
	if t != "member" {
		return nil, errf(ErrParams, o.at("type"), "unknown scope type %q", t)
	}
	s := &Scope{MemberID: read(o, o.b64, "memberId")}
	return finish(o, s, &s.Extra)
}

func (s *Scope) encode() []byte {
	w := newObj()
	w.str("type", "member")
	w.bytes("memberId", s.MemberID)
	w.extra(s.Extra)
	return w.bytesOut()
}

// Mention names the member a display name in the text refers to.
type Mention struct {
	MemberID []byte
	Extra    Object
}

// Mentions map a display name used in the text to the member it names.
type Mentions map[string]Mention

func (r *objReader) optMentions(key string) (Mentions, error) {
	o, err := r.optObj(key)
	if err != nil || o == nil {
		return nil, err
	}
	names := make([]string, 0, len(o.fields))
	for k := range o.fields {
		names = append(names, k)
	}
	sort.Strings(names)
	m := Mentions{}
	for _, name := range names {
		mo, err := o.obj(name)
		if err != nil {
			return nil, err
		}
		id, err := mo.b64("memberId")
		if err != nil {
			return nil, err
		}
		m[name] = Mention{MemberID: id, Extra: mo.rest()}
	}
	return m, nil
}

func (m Mentions) encode() []byte {
	w := newObj()
	for name, mn := range m {
		o := newObj()
		o.bytes("memberId", mn.MemberID)
		o.extra(mn.Extra)
		w.raw(name, o.bytesOut())
	}
	return w.bytesOut()
}

// Reaction is a reaction to a message (CH-MSG-REACT-1). Only type "emoji"
// with one of Emojis is known; others are kept and not shown.
type Reaction struct {
	Type  string
	Emoji string // with type "emoji"; written when not empty or when it was received
	Extra Object

	hasEmoji bool
}

// Emojis are the reactions upstream accepts.
var Emojis = []string{"👍", "👎", "😀", "😂", "😢", "❤️", "🚀", "✅"}

// Known reports whether the reaction is an emoji of Emojis.
func (x *Reaction) Known() bool {
	if x.Type != "emoji" {
		return false
	}
	for _, e := range Emojis {
		if e == x.Emoji {
			return true
		}
	}
	return false
}

func decodeReaction(r *objReader) (*Reaction, error) {
	x := &Reaction{Type: read(r, r.str, "type")}
	if x.Type == "emoji" {
		if v, ok := r.fields["emoji"]; ok && firstByte(v) == '"' {
			x.Emoji, x.hasEmoji = read(r, r.str, "emoji"), true
		}
	}
	return finish(r, x, &x.Extra)
}

func (x *Reaction) encode() []byte {
	w := newObj()
	w.str("type", x.Type)
	if x.Emoji != "" || x.hasEmoji {
		w.str("emoji", x.Emoji)
	}
	w.extra(x.Extra)
	return w.bytesOut()
}

func (r *objReader) timestamp(key string) (time.Time, error) {
	s, err := r.str(key)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errf(ErrParams, r.at(key), "not an RFC 3339 time: %q", s)
	}
	// An offset can move a time out of the years RFC 3339 can write in UTC.
	if t = t.UTC(); t.Year() < 0 || t.Year() > 9999 {
		return time.Time{}, errf(ErrParams, r.at(key), "time out of range: %q", s)
	}
	return t, nil
}

// FormatTime writes a time as upstream's encoder does (CH-JSON-5): UTC,
// "Z", and the fraction of a second only when not zero, without trailing
// zeros.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Container is the params of x.msg.new (CH-MSG-NEW-1).
type Container struct {
	Content  *Content
	File     *FileInvitation
	TTL      *int64 // seconds, for a disappearing message
	Live     *bool
	Mentions Mentions
	Scope    *Scope
	Quote    *Quote
	Parent   *MsgRef
	// Forward is the forward marker as sent (true, false or an object);
	// nil when absent. IsForward interprets it.
	Forward json.RawMessage
	Extra   Object
}

// IsForward reports whether the message was forwarded from another chat:
// forward is true or an object (CH-MSG-NEW-5).
func (c *Container) IsForward() bool {
	switch firstByte(c.Forward) {
	case 't', '{':
		return true
	}
	return false
}

func decodeContainer(r *objReader) (*Container, error) {
	c := &Container{
		Content:  sub(r, read(r, r.obj, "content"), decodeContent),
		File:     sub(r, read(r, r.optObj, "file"), decodeFileInvitation),
		TTL:      read(r, r.optInt, "ttl"),
		Live:     read(r, r.optBool, "live"),
		Mentions: read(r, r.optMentions, "mentions"),
		Scope:    read(r, r.optScope, "scope"),
	}
	if r.err != nil {
		return nil, r.err
	}
	// A quote or parent that does not parse is ignored and kept, as
	// upstream falls back to a plain message (CH-MSG-NEW-4).
	if v, ok := r.get("quote"); ok {
		if qo, err := readObj(v, r.at("quote")); err == nil {
			if q, err := decodeQuote(qo); err == nil {
				c.Quote = q
			}
		}
		if c.Quote == nil {
			r.keep("quote")
		}
	}
	if v, ok := r.get("parent"); ok {
		if po, err := readObj(v, r.at("parent")); err == nil {
			if p, err := decodeMsgRef(po); err == nil {
				c.Parent = p
			}
		}
		if c.Parent == nil {
			r.keep("parent")
		}
	}
	if v, ok := r.get("forward"); ok {
		var err error
		if c.Forward, err = canonical(v); err != nil {
			return nil, errf(ErrJSON, r.at("forward"), "%v", err)
		}
	}
	c.Extra = r.rest()
	return c, nil
}

func (c *Container) encodeInto(w *objWriter) {
	w.raw("content", c.Content.encode())
	if c.File != nil {
		w.raw("file", c.File.encode())
	}
	w.optInt("ttl", c.TTL)
	w.optBool("live", c.Live)
	if len(c.Mentions) > 0 {
		w.raw("mentions", c.Mentions.encode())
	}
	if c.Scope != nil {
		w.raw("scope", c.Scope.encode())
	}
	if c.Quote != nil {
		w.raw("quote", c.Quote.encode())
	}
	if c.Parent != nil {
		w.raw("parent", c.Parent.encode())
	}
	if c.Forward != nil {
		w.raw("forward", canonicalOrSelf(c.Forward))
	}
	w.extra(c.Extra)
}

// itoa is strconv.Itoa for positions in error messages.
func itoa(i int) string { return strconv.Itoa(i) }

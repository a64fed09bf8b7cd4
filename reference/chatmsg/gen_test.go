package chatmsg

import (
	"encoding/json"
	"time"

	"pgregory.net/rapid"
)

// Generators of typed values for the property tests. Every event type of
// this revision can come out, with and without its optional fields and with
// unknown fields that must survive.

func genBytes(t *rapid.T, label string) []byte {
	return rapid.SliceOfN(rapid.Byte(), 1, 33).Draw(t, label)
}

func genOptBytes(t *rapid.T, label string) []byte {
	if rapid.Bool().Draw(t, label+"?") {
		return genBytes(t, label)
	}
	return nil
}

func genText(t *rapid.T, label string) string {
	return rapid.OneOf(rapid.String(), rapid.SampledFrom([]string{"", "hello", "\"quoted\"\n\t\\", "\u0001\u001f", "émoji 👍", "<a&b>", "\u2028"})).Draw(t, label)
}

func genOptStr(t *rapid.T, label string) *string {
	if rapid.Bool().Draw(t, label+"?") {
		s := genText(t, label)
		return &s
	}
	return nil
}

func genOptInt(t *rapid.T, label string) *int64 {
	if rapid.Bool().Draw(t, label+"?") {
		n := rapid.Int64().Draw(t, label)
		return &n
	}
	return nil
}

func genOptBool(t *rapid.T, label string) *bool {
	if rapid.Bool().Draw(t, label+"?") {
		b := rapid.Bool().Draw(t, label)
		return &b
	}
	return nil
}

// genExtra makes unknown fields whose names cannot collide with known ones.
func genExtra(t *rapid.T, label string) Object {
	n := rapid.IntRange(0, 2).Draw(t, label+"#")
	if n == 0 {
		return nil
	}
	o := Object{}
	for i := 0; i < n; i++ {
		k := "zz" + rapid.StringMatching(`[a-z]{0,4}`).Draw(t, label+"k")
		v := rapid.SampledFrom([]string{`1`, `"s"`, `true`, `[1,{"b":2,"a":[]}]`, `{"y":null,"x":1.5}`, `-0.25e3`}).Draw(t, label+"v")
		c, _ := canonical([]byte(v))
		o[k] = c
	}
	return o
}

func genTime(t *rapid.T, label string) time.Time {
	sec := rapid.Int64Range(0, 4102444800).Draw(t, label+"s")
	ns := rapid.SampledFrom([]int64{0, 1, 1000, 1000000, 123456789, 500000000}).Draw(t, label+"ns")
	return time.Unix(sec, ns).UTC()
}

func genRole(t *rapid.T, label string) Role {
	return rapid.SampledFrom([]Role{RoleObserver, RoleMember, RoleModerator, RoleAdmin, RoleOwner, RoleAuthor, RoleRelay, RoleCommenter}).Draw(t, label)
}

func genPrefs(t *rapid.T) *Preferences {
	if !rapid.Bool().Draw(t, "prefs?") {
		return nil
	}
	p := &Preferences{Extra: genExtra(t, "prefsX")}
	for _, f := range p.fields() {
		if rapid.Bool().Draw(t, f.key+"?") {
			pr := &Preference{Allow: rapid.SampledFrom([]string{"always", "yes", "no"}).Draw(t, "allow")}
			if f.key == "timedMessages" {
				pr.TTL = genOptInt(t, "ttl")
			}
			*f.ptr = pr
		}
	}
	return p
}

func genGroupPrefs(t *rapid.T) *GroupPreferences {
	if !rapid.Bool().Draw(t, "gprefs?") {
		return nil
	}
	p := &GroupPreferences{}
	for _, f := range p.fields() {
		if rapid.Bool().Draw(t, f.key+"?") {
			pr := &GroupPreference{Enable: rapid.SampledFrom([]string{"on", "off"}).Draw(t, "enable"), Extra: genExtra(t, "gpX")}
			if rapid.Bool().Draw(t, "role?") {
				r := genRole(t, "role")
				pr.Role = &r
			}
			if f.key == "timedMessages" {
				pr.TTL = genOptInt(t, "ttl")
			}
			*f.ptr = pr
		}
	}
	return p
}

func genProfile(t *rapid.T) *Profile {
	return &Profile{
		DisplayName: genText(t, "displayName"),
		FullName:    genText(t, "fullName"),
		Image:       genOptStr(t, "image"),
		ContactLink: genOptStr(t, "contactLink"),
		Preferences: genPrefs(t),
		Extra:       genExtra(t, "profileX"),
	}
}

func genGroupProfile(t *rapid.T) *GroupProfile {
	return &GroupProfile{
		DisplayName:      genText(t, "gName"),
		FullName:         genText(t, "gFull"),
		Description:      genOptStr(t, "descr"),
		Image:            genOptStr(t, "gImage"),
		GroupPreferences: genGroupPrefs(t),
		Extra:            genExtra(t, "gpX"),
	}
}

func genContent(t *rapid.T) *Content {
	c := &Content{Type: rapid.SampledFrom([]string{ContentText, ContentLink, ContentImage, ContentFile, "video", "future"}).Draw(t, "ctype"), Extra: genExtra(t, "cX")}
	c.Text = genText(t, "text")
	c.HasText = c.Known() || rapid.Bool().Draw(t, "hasText")
	if !c.HasText {
		c.Text = ""
	}
	switch c.Type {
	case ContentLink:
		c.Preview = &LinkPreview{URI: genText(t, "uri"), Title: genText(t, "title"), Description: genText(t, "d"), Image: genText(t, "i"), Extra: genExtra(t, "lpX")}
	case ContentImage:
		img := genText(t, "img")
		c.Image = &img
	}
	return c
}

func genMsgRef(t *rapid.T) *MsgRef {
	return &MsgRef{MsgID: genOptBytes(t, "refId"), SentAt: genTime(t, "sentAt"), Sent: rapid.Bool().Draw(t, "sent"), MemberID: genOptBytes(t, "refMem"), Extra: genExtra(t, "refX")}
}

func genScope(t *rapid.T) *Scope {
	if rapid.Bool().Draw(t, "scope?") {
		return &Scope{MemberID: genBytes(t, "scopeMem")}
	}
	return nil
}

func genMentions(t *rapid.T) Mentions {
	n := rapid.IntRange(0, 2).Draw(t, "mentions")
	if n == 0 {
		return nil
	}
	m := Mentions{}
	for i := 0; i < n; i++ {
		m[genText(t, "mname")] = Mention{MemberID: genBytes(t, "mid"), Extra: genExtra(t, "mnX")}
	}
	return m
}

func genContainer(t *rapid.T) Container {
	c := Container{Content: genContent(t), TTL: genOptInt(t, "ttl"), Live: genOptBool(t, "live"), Mentions: genMentions(t), Scope: genScope(t), Extra: genExtra(t, "mcX")}
	if rapid.Bool().Draw(t, "file?") {
		c.File = &FileInvitation{FileName: genText(t, "fname"), FileSize: rapid.Int64().Draw(t, "fsize"), FileDigest: genOptBytes(t, "fdig"), Extra: genExtra(t, "fX")}
	}
	if rapid.Bool().Draw(t, "quote?") {
		c.Quote = &Quote{MsgRef: genMsgRef(t), Content: genContent(t)}
	}
	if rapid.Bool().Draw(t, "parent?") {
		c.Parent = genMsgRef(t)
	}
	c.Forward = json.RawMessage(rapid.SampledFrom([]string{"", "true", "false", `{"a":1}`}).Draw(t, "fwd"))
	if len(c.Forward) == 0 {
		c.Forward = nil
	}
	return c
}

func genMemberIDRole(t *rapid.T) *MemberIDRole {
	return &MemberIDRole{MemberID: genBytes(t, "mid"), Role: genRole(t, "role"), Extra: genExtra(t, "mirX")}
}

func genMemberInfo(t *rapid.T) *MemberInfo {
	m := &MemberInfo{MemberID: genBytes(t, "mid"), Role: genRole(t, "role"), Profile: genProfile(t), Extra: genExtra(t, "miX")}
	if rapid.Bool().Draw(t, "v?") {
		lo := rapid.Uint16().Draw(t, "vlo")
		hi := rapid.Uint16Range(lo, 65535).Draw(t, "vhi")
		m.V = &VersionRange{lo, hi}
	}
	return m
}

func genIntro(t *rapid.T) *IntroInvitation {
	return &IntroInvitation{GroupConnReq: genText(t, "gcr"), DirectConnReq: genOptStr(t, "dcr"), Extra: genExtra(t, "iiX")}
}

func genEvent(t *rapid.T, depth int) Event {
	names := []string{EvInfo, EvContact, EvOK, EvDirectDel, EvProbe, EvProbeCheck, EvProbeOK, EvMsgNew, EvMsgUpdate, EvMsgDel, EvMsgReact,
		EvGrpInv, EvGrpAcpt, EvGrpLinkInv, EvGrpLinkMem, EvGrpMemNew, EvGrpMemIntro, EvGrpMemInv, EvGrpMemFwd, EvGrpMemInfo, EvGrpMemCon,
		EvGrpMemRole, EvGrpMemDel, EvGrpLeave, EvGrpDel, EvGrpInfo, "x.unknown.event"}
	if depth == 0 {
		names = append(names, EvGrpMsgForward)
	}
	x := genExtra(t, "evX")
	switch rapid.SampledFrom(names).Draw(t, "event") {
	case EvInfo:
		return &Info{Profile: genProfile(t), Extra: x}
	case EvContact:
		e := &Contact{Profile: genProfile(t), ContactReqID: genOptBytes(t, "crid"), WelcomeMsgID: genOptBytes(t, "wid"), ReqMsgID: genOptBytes(t, "rmid"), Extra: x}
		if rapid.Bool().Draw(t, "rc?") {
			e.ReqContent = genContent(t)
		}
		return e
	case EvOK:
		return &OK{Extra: x}
	case EvDirectDel:
		return &DirectDel{Extra: x}
	case EvProbe:
		return &Probe{Probe: genBytes(t, "probe"), Extra: x}
	case EvProbeCheck:
		return &ProbeCheck{ProbeHash: genBytes(t, "ph"), Extra: x}
	case EvProbeOK:
		return &ProbeOK{Probe: genBytes(t, "probe"), Extra: x}
	case EvMsgNew:
		return &MsgNew{Container: genContainer(t)}
	case EvMsgUpdate:
		return &MsgUpdate{MsgID: genBytes(t, "id"), Content: genContent(t), Mentions: genMentions(t), TTL: genOptInt(t, "ttl"), Live: genOptBool(t, "live"), Scope: genScope(t), Extra: x}
	case EvMsgDel:
		return &MsgDel{MsgID: genBytes(t, "id"), MemberID: genOptBytes(t, "mem"), Scope: genScope(t), Extra: x}
	case EvMsgReact:
		r := &Reaction{Type: rapid.SampledFrom([]string{"emoji", "custom"}).Draw(t, "rt"), Extra: genExtra(t, "rX")}
		if r.Type == "emoji" {
			r.Emoji = rapid.SampledFrom(append([]string{"🙂"}, Emojis...)).Draw(t, "emoji")
		}
		return &MsgReact{MsgID: genBytes(t, "id"), MemberID: genOptBytes(t, "mem"), Scope: genScope(t), Reaction: r, Add: rapid.Bool().Draw(t, "add"), Extra: x}
	case EvGrpInv:
		return &GrpInv{Invitation: &GroupInvitation{FromMember: genMemberIDRole(t), InvitedMember: genMemberIDRole(t), ConnRequest: genText(t, "cr"), GroupProfile: genGroupProfile(t), GroupLinkID: genOptBytes(t, "glid"), Extra: genExtra(t, "giX")}, Extra: x}
	case EvGrpAcpt:
		return &GrpAcpt{MemberID: genBytes(t, "mid"), Extra: x}
	case EvGrpLinkInv:
		return &GrpLinkInv{Invitation: &GroupLinkInvitation{FromMember: genMemberIDRole(t), FromMemberName: genText(t, "fmn"), InvitedMember: genMemberIDRole(t), GroupProfile: genGroupProfile(t), Extra: genExtra(t, "gliX")}, Extra: x}
	case EvGrpLinkMem:
		return &GrpLinkMem{Profile: genProfile(t), Extra: x}
	case EvGrpMemNew:
		return &GrpMemNew{MemberInfo: genMemberInfo(t), Scope: genScope(t), Extra: x}
	case EvGrpMemIntro:
		e := &GrpMemIntro{MemberInfo: genMemberInfo(t), Extra: x}
		if rapid.Bool().Draw(t, "restr?") {
			e.Restrictions = Object{"restriction": json.RawMessage(`"blocked"`)}
		}
		return e
	case EvGrpMemInv:
		return &GrpMemInv{MemberID: genBytes(t, "mid"), Intro: genIntro(t), Extra: x}
	case EvGrpMemFwd:
		return &GrpMemFwd{MemberInfo: genMemberInfo(t), Intro: genIntro(t), Extra: x}
	case EvGrpMemInfo:
		return &GrpMemInfo{MemberID: genBytes(t, "mid"), Profile: genProfile(t), Extra: x}
	case EvGrpMemCon:
		return &GrpMemCon{MemberID: genBytes(t, "mid"), Extra: x}
	case EvGrpMemRole:
		return &GrpMemRole{MemberID: genBytes(t, "mid"), Role: genRole(t, "role"), Extra: x}
	case EvGrpMemDel:
		return &GrpMemDel{MemberID: genBytes(t, "mid"), Messages: rapid.Bool().Draw(t, "msgs"), Extra: x}
	case EvGrpLeave:
		return &GrpLeave{Extra: x}
	case EvGrpDel:
		return &GrpDel{Extra: x}
	case EvGrpInfo:
		return &GrpInfo{GroupProfile: genGroupProfile(t), Extra: x}
	case EvGrpMsgForward:
		return &GrpMsgForward{MemberID: genOptBytes(t, "fmid"), MemberName: genOptStr(t, "fmn"), Msg: genMessage(t, depth+1), MsgTs: genTime(t, "ts"), Extra: x}
	}
	p := genExtra(t, "unkP")
	if p == nil {
		p = Object{}
	}
	return &Unknown{Event: "x.unknown.event", Params: p}
}

func genMessage(t *rapid.T, depth int) *Message {
	lo := rapid.Uint16Range(0, 20).Draw(t, "lo")
	return &Message{
		V:     VersionRange{lo, rapid.Uint16Range(lo, 40).Draw(t, "hi")},
		MsgID: genOptBytes(t, "msgId"),
		Event: genEvent(t, depth),
		Extra: genExtra(t, "topX"),
	}
}

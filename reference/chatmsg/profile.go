package chatmsg

import (
	"fmt"
	"strings"
	"unicode"
)

// Profile is a user's or contact's profile (CH-PROF-1). Fields this revision
// does not know (shortDescr, peerType, ...) stay in Extra.
type Profile struct {
	DisplayName string
	FullName    string
	Image       *string // data URI of a small picture
	ContactLink *string // the user's long-term address
	Preferences *Preferences
	Extra       Object
}

func decodeProfile(r *objReader) (*Profile, error) {
	p := &Profile{
		DisplayName: read(r, r.str, "displayName"),
		FullName:    read(r, r.str, "fullName"),
		Image:       read(r, r.optStr, "image"),
		ContactLink: read(r, r.optStr, "contactLink"),
	}
	p.Preferences = sub(r, read(r, r.optObj, "preferences"), decodePreferences)
	return finish(r, p, &p.Extra)
}

func (p *Profile) encode() []byte {
	w := newObj()
	w.str("displayName", p.DisplayName)
	w.str("fullName", p.FullName)
	w.optStr("image", p.Image)
	w.optStr("contactLink", p.ContactLink)
	if p.Preferences != nil {
		w.raw("preferences", p.Preferences.encode())
	}
	w.extra(p.Extra)
	return w.bytesOut()
}

// Redacted is the profile a member shows a group (CH-PROF-4): the names, the
// image, the short description and the peer type, without the contact
// address or the preferences.
func (p *Profile) Redacted() *Profile {
	q := &Profile{DisplayName: p.DisplayName, FullName: p.FullName, Image: p.Image}
	for _, k := range []string{"shortDescr", "peerType"} {
		if v, ok := p.Extra[k]; ok {
			if q.Extra == nil {
				q.Extra = Object{}
			}
			q.Extra[k] = v
		}
	}
	return q
}

// ValidDisplayName checks the sender's rules for a display name (CH-PROF-2):
// not empty, no leading or trailing white space, not starting with '#' or
// '@', no control characters.
func ValidDisplayName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("display name is empty")
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("display name %q has leading or trailing white space", name)
	case name[0] == '#' || name[0] == '@':
		return fmt.Errorf("display name %q starts with %q", name, name[0])
	}
	for _, c := range name {
		if unicode.IsControl(c) {
			return fmt.Errorf("display name %q has a control character", name)
		}
	}
	return nil
}

// GroupProfile is a group's profile (CH-GRP-1).
type GroupProfile struct {
	DisplayName      string
	FullName         string
	Description      *string // also the group's welcome message
	Image            *string
	GroupPreferences *GroupPreferences
	Extra            Object
}

func decodeGroupProfile(r *objReader) (*GroupProfile, error) {
	g := &GroupProfile{
		DisplayName: read(r, r.str, "displayName"),
		FullName:    read(r, r.str, "fullName"),
		Description: read(r, r.optStr, "description"),
		Image:       read(r, r.optStr, "image"),
	}
	g.GroupPreferences = sub(r, read(r, r.optObj, "groupPreferences"), decodeGroupPreferences)
	return finish(r, g, &g.Extra)
}

func (g *GroupProfile) encode() []byte {
	w := newObj()
	w.str("displayName", g.DisplayName)
	w.str("fullName", g.FullName)
	w.optStr("description", g.Description)
	w.optStr("image", g.Image)
	if g.GroupPreferences != nil {
		w.raw("groupPreferences", g.GroupPreferences.encode())
	}
	w.extra(g.Extra)
	return w.bytesOut()
}

// Role is a group member's role (CH-ROLE-1), lowest first.
type Role string

const (
	RoleRelay     Role = "relay"
	RoleObserver  Role = "observer"
	RoleCommenter Role = "commenter"
	RoleAuthor    Role = "author"
	RoleMember    Role = "member"
	RoleModerator Role = "moderator"
	RoleAdmin     Role = "admin"
	RoleOwner     Role = "owner"
)

var roleRank = map[Role]int{
	RoleRelay: 0, RoleObserver: 1, RoleCommenter: 2, RoleAuthor: 3,
	RoleMember: 4, RoleModerator: 5, RoleAdmin: 6, RoleOwner: 7,
}

// Rank orders roles; AtLeast compares them.
func (r Role) Rank() int { return roleRank[r] }

// AtLeast reports whether r is min or higher.
func (r Role) AtLeast(min Role) bool { return roleRank[r] >= roleRank[min] }

func (r *objReader) role(key string) (Role, error) {
	s, err := r.str(key)
	if err != nil {
		return "", err
	}
	if _, ok := roleRank[Role(s)]; !ok {
		return "", errf(ErrParams, r.at(key), "unknown role %q", s)
	}
	return Role(s), nil
}

// MemberIDRole names a member and its role.
type MemberIDRole struct {
	MemberID []byte
	Role     Role
	Extra    Object
}

func decodeMemberIDRole(r *objReader) (*MemberIDRole, error) {
	m := &MemberIDRole{MemberID: read(r, r.b64, "memberId"), Role: read(r, r.role, "memberRole")}
	return finish(r, m, &m.Extra)
}

func (m *MemberIDRole) encode() []byte {
	w := newObj()
	w.bytes("memberId", m.MemberID)
	w.str("memberRole", string(m.Role))
	w.extra(m.Extra)
	return w.bytesOut()
}

// MemberInfo introduces a member to others (CH-GRP-INTRO-1).
type MemberInfo struct {
	MemberID []byte
	Role     Role
	V        *VersionRange // the member's chat version range, when known
	Profile  *Profile
	Extra    Object
}

func decodeMemberInfo(r *objReader) (*MemberInfo, error) {
	m := &MemberInfo{MemberID: read(r, r.b64, "memberId"), Role: read(r, r.role, "memberRole")}
	if v := read(r, r.optStr, "v"); v != nil {
		vr, err := ParseVersionRange(*v)
		if err != nil {
			return nil, errf(ErrVersion, r.at("v"), "%v", err)
		}
		m.V = &vr
	}
	m.Profile = sub(r, read(r, r.obj, "profile"), decodeProfile)
	return finish(r, m, &m.Extra)
}

func (m *MemberInfo) encode() []byte {
	w := newObj()
	w.bytes("memberId", m.MemberID)
	w.str("memberRole", string(m.Role))
	if m.V != nil {
		w.str("v", m.V.String())
	}
	w.raw("profile", m.Profile.encode())
	w.extra(m.Extra)
	return w.bytesOut()
}

// IntroInvitation carries the connection links a new member creates for an
// introduced member (CH-GRP-INTRO-3).
type IntroInvitation struct {
	GroupConnReq  string
	DirectConnReq *string // only for peers below version 2
	Extra         Object
}

func decodeIntroInvitation(r *objReader) (*IntroInvitation, error) {
	in := &IntroInvitation{
		GroupConnReq:  read(r, r.str, "groupConnReq"),
		DirectConnReq: read(r, r.optStr, "directConnReq"),
	}
	return finish(r, in, &in.Extra)
}

func (in *IntroInvitation) encode() []byte {
	w := newObj()
	w.str("groupConnReq", in.GroupConnReq)
	w.optStr("directConnReq", in.DirectConnReq)
	w.extra(in.Extra)
	return w.bytesOut()
}

// GroupInvitation invites a contact into a group (CH-GRP-INV-1).
type GroupInvitation struct {
	FromMember    *MemberIDRole
	InvitedMember *MemberIDRole
	ConnRequest   string
	GroupProfile  *GroupProfile
	GroupLinkID   []byte
	Extra         Object
}

func decodeGroupInvitation(r *objReader) (*GroupInvitation, error) {
	g := &GroupInvitation{
		FromMember:    subMemberIDRole(r, "fromMember"),
		InvitedMember: subMemberIDRole(r, "invitedMember"),
		ConnRequest:   read(r, r.str, "connRequest"),
		GroupProfile:  sub(r, read(r, r.obj, "groupProfile"), decodeGroupProfile),
		GroupLinkID:   read(r, r.optB64, "groupLinkId"),
	}
	return finish(r, g, &g.Extra)
}

func (g *GroupInvitation) encode() []byte {
	w := newObj()
	w.raw("fromMember", g.FromMember.encode())
	w.raw("invitedMember", g.InvitedMember.encode())
	w.str("connRequest", g.ConnRequest)
	w.raw("groupProfile", g.GroupProfile.encode())
	w.optBytes("groupLinkId", g.GroupLinkID)
	w.extra(g.Extra)
	return w.bytesOut()
}

// GroupLinkInvitation is the host's answer to a join by group link
// (CH-GRP-LINK-2). It carries only the host's name, so that it fits in the
// connection info; x.grp.link.mem brings the host's profile after.
type GroupLinkInvitation struct {
	FromMember     *MemberIDRole
	FromMemberName string
	InvitedMember  *MemberIDRole
	GroupProfile   *GroupProfile
	Extra          Object
}

func decodeGroupLinkInvitation(r *objReader) (*GroupLinkInvitation, error) {
	g := &GroupLinkInvitation{
		FromMember:     subMemberIDRole(r, "fromMember"),
		FromMemberName: read(r, r.str, "fromMemberName"),
		InvitedMember:  subMemberIDRole(r, "invitedMember"),
		GroupProfile:   sub(r, read(r, r.obj, "groupProfile"), decodeGroupProfile),
	}
	return finish(r, g, &g.Extra)
}

func (g *GroupLinkInvitation) encode() []byte {
	w := newObj()
	w.raw("fromMember", g.FromMember.encode())
	w.str("fromMemberName", g.FromMemberName)
	w.raw("invitedMember", g.InvitedMember.encode())
	w.raw("groupProfile", g.GroupProfile.encode())
	w.extra(g.Extra)
	return w.bytesOut()
}

func subMemberIDRole(r *objReader, key string) *MemberIDRole {
	return sub(r, read(r, r.obj, key), decodeMemberIDRole)
}

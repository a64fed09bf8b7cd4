package chatmsg

import "time"

// Event is the typed content of a chat message: one of the event types
// below, or *Unknown.
type Event interface {
	// Name is the event tag, e.g. "x.msg.new".
	Name() string
	// params writes the event's params object.
	params() []byte
}

// Event names of this revision (spec/chat.md §5-§7).
const (
	EvInfo          = "x.info"
	EvContact       = "x.contact"
	EvOK            = "x.ok"
	EvDirectDel     = "x.direct.del"
	EvProbe         = "x.info.probe"
	EvProbeCheck    = "x.info.probe.check"
	EvProbeOK       = "x.info.probe.ok"
	EvMsgNew        = "x.msg.new"
	EvMsgUpdate     = "x.msg.update"
	EvMsgDel        = "x.msg.del"
	EvMsgReact      = "x.msg.react"
	EvGrpInv        = "x.grp.inv"
	EvGrpAcpt       = "x.grp.acpt"
	EvGrpLinkInv    = "x.grp.link.inv"
	EvGrpLinkMem    = "x.grp.link.mem"
	EvGrpMemNew     = "x.grp.mem.new"
	EvGrpMemIntro   = "x.grp.mem.intro"
	EvGrpMemInv     = "x.grp.mem.inv"
	EvGrpMemFwd     = "x.grp.mem.fwd"
	EvGrpMemInfo    = "x.grp.mem.info"
	EvGrpMemCon     = "x.grp.mem.con"
	EvGrpMemRole    = "x.grp.mem.role"
	EvGrpMemDel     = "x.grp.mem.del"
	EvGrpLeave      = "x.grp.leave"
	EvGrpDel        = "x.grp.del"
	EvGrpInfo       = "x.grp.info"
	EvGrpMsgForward = "x.grp.msg.forward"
)

// Info carries the sender's profile: in the connection handshake and as a
// profile update (CH-CONN-1, CH-PROF-3).
type Info struct {
	Profile *Profile
	Extra   Object
}

// Contact is a contact request to a long-term address (CH-CONN-2).
type Contact struct {
	Profile      *Profile
	ContactReqID []byte   // same for repeated requests of one contact
	WelcomeMsgID []byte   // the welcome message seen in the address data
	ReqMsgID     []byte   // with ReqContent: a message sent with the request
	ReqContent   *Content // used only when ReqMsgID is present too
	Extra        Object
}

// OK ends a handshake step that carries no data (CH-CONN-3).
type OK struct{ Extra Object }

// DirectDel tells a contact the sender deleted it (CH-CONN-4).
type DirectDel struct{ Extra Object }

// Probe, ProbeCheck and ProbeOK find duplicate contacts (CH-PROBE-1..3).
type Probe struct {
	Probe []byte
	Extra Object
}

type ProbeCheck struct {
	ProbeHash []byte
	Extra     Object
}

type ProbeOK struct {
	Probe []byte
	Extra Object
}

// MsgNew is a new message (CH-MSG-NEW-1).
type MsgNew struct{ Container }

// MsgUpdate edits a sent message (CH-MSG-UPD-1).
type MsgUpdate struct {
	MsgID    []byte
	Content  *Content
	Mentions Mentions
	TTL      *int64
	Live     *bool
	Scope    *Scope
	Extra    Object
}

// MsgDel deletes a message; with MemberID, a moderator deletes another
// member's message (CH-MSG-DEL-1).
type MsgDel struct {
	MsgID    []byte
	MemberID []byte
	Scope    *Scope
	Extra    Object
}

// MsgReact adds or removes a reaction (CH-MSG-REACT-1).
type MsgReact struct {
	MsgID    []byte
	MemberID []byte
	Scope    *Scope
	Reaction *Reaction
	Add      bool
	Extra    Object
}

// GrpInv invites a contact to a group (CH-GRP-INV-1).
type GrpInv struct {
	Invitation *GroupInvitation
	Extra      Object
}

// GrpAcpt accepts a group invitation, in the connection info (CH-GRP-INV-2).
type GrpAcpt struct {
	MemberID []byte
	Extra    Object
}

// GrpLinkInv answers a join by group link (CH-GRP-LINK-2).
type GrpLinkInv struct {
	Invitation *GroupLinkInvitation
	Extra      Object
}

// GrpLinkMem brings the host's profile after a link join (CH-GRP-LINK-3).
type GrpLinkMem struct {
	Profile *Profile
	Extra   Object
}

// GrpMemNew announces a new member (CH-GRP-INTRO-1).
type GrpMemNew struct {
	MemberInfo *MemberInfo
	Scope      *Scope
	Extra      Object
}

// GrpMemIntro introduces an existing member to the new one (CH-GRP-INTRO-2).
type GrpMemIntro struct {
	MemberInfo   *MemberInfo
	Restrictions Object // memberRestrictions, kept as sent; nil when absent
	Extra        Object
}

// GrpMemInv returns the new member's invitation for an introduced member
// (CH-GRP-INTRO-3).
type GrpMemInv struct {
	MemberID []byte
	Intro    *IntroInvitation
	Extra    Object
}

// GrpMemFwd hands the new member's invitation to an existing member
// (CH-GRP-INTRO-4).
type GrpMemFwd struct {
	MemberInfo *MemberInfo
	Intro      *IntroInvitation
	Extra      Object
}

// GrpMemInfo is the connection info between members (CH-GRP-INTRO-5).
type GrpMemInfo struct {
	MemberID []byte
	Profile  *Profile
	Extra    Object
}

// GrpMemCon tells the host a pair of members connected (CH-GRP-INTRO-6).
type GrpMemCon struct {
	MemberID []byte
	Extra    Object
}

// GrpMemRole changes a member's role (CH-GRP-ROLE-1).
type GrpMemRole struct {
	MemberID []byte
	Role     Role
	Extra    Object
}

// GrpMemDel removes a member, with its messages when Messages (CH-GRP-DEL-1).
type GrpMemDel struct {
	MemberID []byte
	Messages bool
	Extra    Object
}

// GrpLeave: the sender leaves the group (CH-GRP-LEAVE-1).
type GrpLeave struct{ Extra Object }

// GrpDel: the owner deletes the group (CH-GRP-DEL-3).
type GrpDel struct{ Extra Object }

// GrpInfo updates the group profile (CH-GRP-INFO-1).
type GrpInfo struct {
	GroupProfile *GroupProfile
	Extra        Object
}

// GrpMsgForward carries a member's message to members not yet connected to
// it (CH-FWD-1).
type GrpMsgForward struct {
	MemberID   []byte // absent: sent as the group
	MemberName *string
	Msg        *Message
	MsgTs      time.Time
	Extra      Object
}

// Unknown is an event this revision does not know, kept whole (CH-EXT-2).
type Unknown struct {
	Event  string
	Params Object
}

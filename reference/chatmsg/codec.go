package chatmsg

func (*Info) Name() string          { return EvInfo }
func (*Contact) Name() string       { return EvContact }
func (*OK) Name() string            { return EvOK }
func (*DirectDel) Name() string     { return EvDirectDel }
func (*Probe) Name() string         { return EvProbe }
func (*ProbeCheck) Name() string    { return EvProbeCheck }
func (*ProbeOK) Name() string       { return EvProbeOK }
func (*MsgNew) Name() string        { return EvMsgNew }
func (*MsgUpdate) Name() string     { return EvMsgUpdate }
func (*MsgDel) Name() string        { return EvMsgDel }
func (*MsgReact) Name() string      { return EvMsgReact }
func (*GrpInv) Name() string        { return EvGrpInv }
func (*GrpAcpt) Name() string       { return EvGrpAcpt }
func (*GrpLinkInv) Name() string    { return EvGrpLinkInv }
func (*GrpLinkMem) Name() string    { return EvGrpLinkMem }
func (*GrpMemNew) Name() string     { return EvGrpMemNew }
func (*GrpMemIntro) Name() string   { return EvGrpMemIntro }
func (*GrpMemInv) Name() string     { return EvGrpMemInv }
func (*GrpMemFwd) Name() string     { return EvGrpMemFwd }
func (*GrpMemInfo) Name() string    { return EvGrpMemInfo }
func (*GrpMemCon) Name() string     { return EvGrpMemCon }
func (*GrpMemRole) Name() string    { return EvGrpMemRole }
func (*GrpMemDel) Name() string     { return EvGrpMemDel }
func (*GrpLeave) Name() string      { return EvGrpLeave }
func (*GrpDel) Name() string        { return EvGrpDel }
func (*GrpInfo) Name() string       { return EvGrpInfo }
func (*GrpMsgForward) Name() string { return EvGrpMsgForward }
func (u *Unknown) Name() string     { return u.Event }

// Known reports whether name is an event this revision decodes into a typed
// value.
func Known(name string) bool {
	_, ok := decoders[name]
	return ok
}

type decoder func(r *objReader, depth int) (Event, error)

var decoders map[string]decoder

func init() {
	decoders = map[string]decoder{
		EvInfo: func(r *objReader, _ int) (Event, error) {
			e := &Info{Profile: subProfile(r, "profile")}
			return done(r, e, &e.Extra)
		},
		EvContact: func(r *objReader, _ int) (Event, error) {
			e := &Contact{
				Profile:      subProfile(r, "profile"),
				ContactReqID: read(r, r.optB64, "contactReqId"),
				WelcomeMsgID: read(r, r.optB64, "welcomeMsgId"),
				ReqMsgID:     read(r, r.optB64, "msgId"),
			}
			e.ReqContent = sub(r, read(r, r.optObj, "content"), decodeContent)
			return done(r, e, &e.Extra)
		},
		EvOK:        func(r *objReader, _ int) (Event, error) { return &OK{Extra: r.rest()}, nil },
		EvDirectDel: func(r *objReader, _ int) (Event, error) { return &DirectDel{Extra: r.rest()}, nil },
		EvProbe: func(r *objReader, _ int) (Event, error) {
			e := &Probe{Probe: read(r, r.b64, "probe")}
			return done(r, e, &e.Extra)
		},
		EvProbeCheck: func(r *objReader, _ int) (Event, error) {
			e := &ProbeCheck{ProbeHash: read(r, r.b64, "probeHash")}
			return done(r, e, &e.Extra)
		},
		EvProbeOK: func(r *objReader, _ int) (Event, error) {
			e := &ProbeOK{Probe: read(r, r.b64, "probe")}
			return done(r, e, &e.Extra)
		},
		EvMsgNew: func(r *objReader, _ int) (Event, error) {
			c, err := decodeContainer(r)
			if err != nil {
				return nil, err
			}
			return &MsgNew{Container: *c}, nil
		},
		EvMsgUpdate: func(r *objReader, _ int) (Event, error) {
			e := &MsgUpdate{MsgID: read(r, r.b64, "msgId")}
			e.Content = sub(r, read(r, r.obj, "content"), decodeContent)
			e.Mentions = read(r, r.optMentions, "mentions")
			e.TTL = read(r, r.optInt, "ttl")
			e.Live = read(r, r.optBool, "live")
			e.Scope = read(r, r.optScope, "scope")
			return done(r, e, &e.Extra)
		},
		EvMsgDel: func(r *objReader, _ int) (Event, error) {
			e := &MsgDel{
				MsgID:    read(r, r.b64, "msgId"),
				MemberID: read(r, r.optB64, "memberId"),
				Scope:    read(r, r.optScope, "scope"),
			}
			return done(r, e, &e.Extra)
		},
		EvMsgReact: func(r *objReader, _ int) (Event, error) {
			e := &MsgReact{
				MsgID:    read(r, r.b64, "msgId"),
				MemberID: read(r, r.optB64, "memberId"),
				Scope:    read(r, r.optScope, "scope"),
			}
			e.Reaction = sub(r, read(r, r.obj, "reaction"), decodeReaction)
			e.Add = read(r, r.boolean, "add")
			return done(r, e, &e.Extra)
		},
		EvGrpInv: func(r *objReader, _ int) (Event, error) {
			e := &GrpInv{Invitation: sub(r, read(r, r.obj, "groupInvitation"), decodeGroupInvitation)}
			return done(r, e, &e.Extra)
		},
		EvGrpAcpt: func(r *objReader, _ int) (Event, error) {
			e := &GrpAcpt{MemberID: read(r, r.b64, "memberId")}
			return done(r, e, &e.Extra)
		},
		EvGrpLinkInv: func(r *objReader, _ int) (Event, error) {
			e := &GrpLinkInv{Invitation: sub(r, read(r, r.obj, "groupLinkInvitation"), decodeGroupLinkInvitation)}
			return done(r, e, &e.Extra)
		},
		EvGrpLinkMem: func(r *objReader, _ int) (Event, error) {
			e := &GrpLinkMem{Profile: subProfile(r, "profile")}
			return done(r, e, &e.Extra)
		},
		EvGrpMemNew: func(r *objReader, _ int) (Event, error) {
			e := &GrpMemNew{MemberInfo: subMemberInfo(r), Scope: read(r, r.optScope, "scope")}
			return done(r, e, &e.Extra)
		},
		EvGrpMemIntro: func(r *objReader, _ int) (Event, error) {
			e := &GrpMemIntro{MemberInfo: subMemberInfo(r)}
			if ro := read(r, r.optObj, "memberRestrictions"); ro != nil {
				e.Restrictions = ro.rest()
				if e.Restrictions == nil {
					e.Restrictions = Object{}
				}
			}
			return done(r, e, &e.Extra)
		},
		EvGrpMemInv: func(r *objReader, _ int) (Event, error) {
			e := &GrpMemInv{MemberID: read(r, r.b64, "memberId"), Intro: subIntro(r)}
			return done(r, e, &e.Extra)
		},
		EvGrpMemFwd: func(r *objReader, _ int) (Event, error) {
			e := &GrpMemFwd{MemberInfo: subMemberInfo(r), Intro: subIntro(r)}
			return done(r, e, &e.Extra)
		},
		EvGrpMemInfo: func(r *objReader, _ int) (Event, error) {
			e := &GrpMemInfo{MemberID: read(r, r.b64, "memberId"), Profile: subProfile(r, "profile")}
			return done(r, e, &e.Extra)
		},
		EvGrpMemCon: func(r *objReader, _ int) (Event, error) {
			e := &GrpMemCon{MemberID: read(r, r.b64, "memberId")}
			return done(r, e, &e.Extra)
		},
		EvGrpMemRole: func(r *objReader, _ int) (Event, error) {
			e := &GrpMemRole{MemberID: read(r, r.b64, "memberId"), Role: read(r, r.role, "role")}
			return done(r, e, &e.Extra)
		},
		EvGrpMemDel: func(r *objReader, _ int) (Event, error) {
			e := &GrpMemDel{MemberID: read(r, r.b64, "memberId")}
			if r.err != nil {
				return nil, r.err
			}
			// messages is read leniently, as upstream: anything but true is false.
			if v, ok := r.get("messages"); ok && string(v) == "true" {
				e.Messages = true
			} else if ok {
				r.keep("messages")
			}
			return done(r, e, &e.Extra)
		},
		EvGrpLeave: func(r *objReader, _ int) (Event, error) { return &GrpLeave{Extra: r.rest()}, nil },
		EvGrpDel:   func(r *objReader, _ int) (Event, error) { return &GrpDel{Extra: r.rest()}, nil },
		EvGrpInfo: func(r *objReader, _ int) (Event, error) {
			e := &GrpInfo{GroupProfile: sub(r, read(r, r.obj, "groupProfile"), decodeGroupProfile)}
			return done(r, e, &e.Extra)
		},
		EvGrpMsgForward: func(r *objReader, depth int) (Event, error) {
			e := &GrpMsgForward{
				MemberID:   read(r, r.optB64, "memberId"),
				MemberName: read(r, r.optStr, "memberName"),
			}
			if r.err != nil {
				return nil, r.err
			}
			v, ok := r.get("msg")
			if !ok {
				return nil, r.missing("msg")
			}
			if firstByte(v) != '{' {
				return nil, errf(ErrParams, r.at("msg"), "want an object, got %s", jsonKind(v))
			}
			var err error
			if e.Msg, err = decodeMessage(v, r.at("msg"), depth+1); err != nil {
				return nil, err
			}
			if e.Msg.Event.Name() == EvGrpMsgForward {
				return nil, errf(ErrNested, r.at("msg.event"), "x.grp.msg.forward inside x.grp.msg.forward")
			}
			e.MsgTs = read(r, r.timestamp, "msgTs")
			return done(r, e, &e.Extra)
		},
	}
}

// done is finish for an event, so that a failed decode returns a nil Event
// rather than a typed nil inside one.
func done(r *objReader, e Event, extra *Object) (Event, error) { return finish(r, e, extra) }

func subProfile(r *objReader, key string) *Profile {
	return sub(r, read(r, r.obj, key), decodeProfile)
}

func subMemberInfo(r *objReader) *MemberInfo {
	return sub(r, read(r, r.obj, "memberInfo"), decodeMemberInfo)
}

func subIntro(r *objReader) *IntroInvitation {
	return sub(r, read(r, r.obj, "memberIntro"), decodeIntroInvitation)
}

func only(extra Object) []byte {
	w := newObj()
	w.extra(extra)
	return w.bytesOut()
}

func (e *Info) params() []byte {
	w := newObj()
	w.raw("profile", e.Profile.encode())
	w.extra(e.Extra)
	return w.bytesOut()
}

func (e *Contact) params() []byte {
	w := newObj()
	w.raw("profile", e.Profile.encode())
	w.optBytes("contactReqId", e.ContactReqID)
	w.optBytes("welcomeMsgId", e.WelcomeMsgID)
	w.optBytes("msgId", e.ReqMsgID)
	if e.ReqContent != nil {
		w.raw("content", e.ReqContent.encode())
	}
	w.extra(e.Extra)
	return w.bytesOut()
}

func (e *OK) params() []byte        { return only(e.Extra) }
func (e *DirectDel) params() []byte { return only(e.Extra) }
func (e *GrpLeave) params() []byte  { return only(e.Extra) }
func (e *GrpDel) params() []byte    { return only(e.Extra) }

func (e *Probe) params() []byte {
	w := newObj()
	w.bytes("probe", e.Probe)
	w.extra(e.Extra)
	return w.bytesOut()
}

func (e *ProbeCheck) params() []byte {
	w := newObj()
	w.bytes("probeHash", e.ProbeHash)
	w.extra(e.Extra)
	return w.bytesOut()
}

func (e *ProbeOK) params() []byte {
	w := newObj()
	w.bytes("probe", e.Probe)
	w.extra(e.Extra)
	return w.bytesOut()
}

func (e *MsgNew) params() []byte {
	w := newObj()
	e.Container.encodeInto(w)
	return w.bytesOut()
}

func (e *MsgUpdate) params() []byte {
	w := newObj()
	w.bytes("msgId", e.MsgID)
	w.raw("content", e.Content.encode())
	if len(e.Mentions) > 0 {
		w.raw("mentions", e.Mentions.encode())
	}
	w.optInt("ttl", e.TTL)
	w.optBool("live", e.Live)
	if e.Scope != nil {
		w.raw("scope", e.Scope.encode())
	}
	w.extra(e.Extra)
	return w.bytesOut()
}

func (e *MsgDel) params() []byte {
	w := newObj()
	w.bytes("msgId", e.MsgID)
	w.optBytes("memberId", e.MemberID)
	if e.Scope != nil {
		w.raw("scope", e.Scope.encode())
	}
	w.extra(e.Extra)
	return w.bytesOut()
}

func (e *MsgReact) params() []byte {
	w := newObj()
	w.bytes("msgId", e.MsgID)
	w.optBytes("memberId", e.MemberID)
	if e.Scope != nil {
		w.raw("scope", e.Scope.encode())
	}
	w.raw("reaction", e.Reaction.encode())
	w.boolean("add", e.Add)
	w.extra(e.Extra)
	return w.bytesOut()
}

func (e *GrpInv) params() []byte {
	w := newObj()
	w.raw("groupInvitation", e.Invitation.encode())
	w.extra(e.Extra)
	return w.bytesOut()
}

func (e *GrpAcpt) params() []byte { return memberIDParams(e.MemberID, e.Extra) }

func (e *GrpLinkInv) params() []byte {
	w := newObj()
	w.raw("groupLinkInvitation", e.Invitation.encode())
	w.extra(e.Extra)
	return w.bytesOut()
}

func (e *GrpLinkMem) params() []byte {
	w := newObj()
	w.raw("profile", e.Profile.encode())
	w.extra(e.Extra)
	return w.bytesOut()
}

func (e *GrpMemNew) params() []byte {
	w := newObj()
	w.raw("memberInfo", e.MemberInfo.encode())
	if e.Scope != nil {
		w.raw("scope", e.Scope.encode())
	}
	w.extra(e.Extra)
	return w.bytesOut()
}

func (e *GrpMemIntro) params() []byte {
	w := newObj()
	w.raw("memberInfo", e.MemberInfo.encode())
	if e.Restrictions != nil {
		w.raw("memberRestrictions", only(e.Restrictions))
	}
	w.extra(e.Extra)
	return w.bytesOut()
}

func (e *GrpMemInv) params() []byte {
	w := newObj()
	w.bytes("memberId", e.MemberID)
	w.raw("memberIntro", e.Intro.encode())
	w.extra(e.Extra)
	return w.bytesOut()
}

func (e *GrpMemFwd) params() []byte {
	w := newObj()
	w.raw("memberInfo", e.MemberInfo.encode())
	w.raw("memberIntro", e.Intro.encode())
	w.extra(e.Extra)
	return w.bytesOut()
}

func (e *GrpMemInfo) params() []byte {
	w := newObj()
	w.bytes("memberId", e.MemberID)
	w.raw("profile", e.Profile.encode())
	w.extra(e.Extra)
	return w.bytesOut()
}

func (e *GrpMemCon) params() []byte { return memberIDParams(e.MemberID, e.Extra) }

func (e *GrpMemRole) params() []byte {
	w := newObj()
	w.bytes("memberId", e.MemberID)
	w.str("role", string(e.Role))
	w.extra(e.Extra)
	return w.bytesOut()
}

func (e *GrpMemDel) params() []byte {
	w := newObj()
	w.bytes("memberId", e.MemberID)
	if e.Messages {
		w.boolean("messages", true)
	}
	w.extra(e.Extra)
	return w.bytesOut()
}

func (e *GrpInfo) params() []byte {
	w := newObj()
	w.raw("groupProfile", e.GroupProfile.encode())
	w.extra(e.Extra)
	return w.bytesOut()
}

func (e *GrpMsgForward) params() []byte {
	w := newObj()
	w.optBytes("memberId", e.MemberID)
	w.optStr("memberName", e.MemberName)
	w.raw("msg", e.Msg.Encode())
	w.str("msgTs", FormatTime(e.MsgTs))
	w.extra(e.Extra)
	return w.bytesOut()
}

func (u *Unknown) params() []byte { return only(u.Params) }

func memberIDParams(id []byte, extra Object) []byte {
	w := newObj()
	w.bytes("memberId", id)
	w.extra(extra)
	return w.bytesOut()
}

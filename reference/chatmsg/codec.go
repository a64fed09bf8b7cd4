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
			p, err := subProfile(r, "profile")
			if err != nil {
				return nil, err
			}
			return &Info{Profile: p, Extra: r.rest()}, nil
		},
		EvContact: func(r *objReader, _ int) (Event, error) {
			e := &Contact{}
			var err error
			if e.Profile, err = subProfile(r, "profile"); err != nil {
				return nil, err
			}
			if e.ContactReqID, err = r.optB64("contactReqId"); err != nil {
				return nil, err
			}
			if e.WelcomeMsgID, err = r.optB64("welcomeMsgId"); err != nil {
				return nil, err
			}
			if e.ReqMsgID, err = r.optB64("msgId"); err != nil {
				return nil, err
			}
			if co, err := r.optObj("content"); err != nil {
				return nil, err
			} else if co != nil {
				if e.ReqContent, err = decodeContent(co); err != nil {
					return nil, err
				}
			}
			e.Extra = r.rest()
			return e, nil
		},
		EvOK:        func(r *objReader, _ int) (Event, error) { return &OK{Extra: r.rest()}, nil },
		EvDirectDel: func(r *objReader, _ int) (Event, error) { return &DirectDel{Extra: r.rest()}, nil },
		EvProbe: func(r *objReader, _ int) (Event, error) {
			b, err := r.b64("probe")
			if err != nil {
				return nil, err
			}
			return &Probe{Probe: b, Extra: r.rest()}, nil
		},
		EvProbeCheck: func(r *objReader, _ int) (Event, error) {
			b, err := r.b64("probeHash")
			if err != nil {
				return nil, err
			}
			return &ProbeCheck{ProbeHash: b, Extra: r.rest()}, nil
		},
		EvProbeOK: func(r *objReader, _ int) (Event, error) {
			b, err := r.b64("probe")
			if err != nil {
				return nil, err
			}
			return &ProbeOK{Probe: b, Extra: r.rest()}, nil
		},
		EvMsgNew: func(r *objReader, _ int) (Event, error) {
			c, err := decodeContainer(r)
			if err != nil {
				return nil, err
			}
			return &MsgNew{Container: *c}, nil
		},
		EvMsgUpdate: func(r *objReader, _ int) (Event, error) {
			e := &MsgUpdate{}
			var err error
			if e.MsgID, err = r.b64("msgId"); err != nil {
				return nil, err
			}
			co, err := r.obj("content")
			if err != nil {
				return nil, err
			}
			if e.Content, err = decodeContent(co); err != nil {
				return nil, err
			}
			if e.Mentions, err = r.optMentions(); err != nil {
				return nil, err
			}
			if e.TTL, err = r.optInt("ttl"); err != nil {
				return nil, err
			}
			if e.Live, err = r.optBool("live"); err != nil {
				return nil, err
			}
			if e.Scope, err = r.optScope(); err != nil {
				return nil, err
			}
			e.Extra = r.rest()
			return e, nil
		},
		EvMsgDel: func(r *objReader, _ int) (Event, error) {
			e := &MsgDel{}
			var err error
			if e.MsgID, err = r.b64("msgId"); err != nil {
				return nil, err
			}
			if e.MemberID, err = r.optB64("memberId"); err != nil {
				return nil, err
			}
			if e.Scope, err = r.optScope(); err != nil {
				return nil, err
			}
			e.Extra = r.rest()
			return e, nil
		},
		EvMsgReact: func(r *objReader, _ int) (Event, error) {
			e := &MsgReact{}
			var err error
			if e.MsgID, err = r.b64("msgId"); err != nil {
				return nil, err
			}
			if e.MemberID, err = r.optB64("memberId"); err != nil {
				return nil, err
			}
			if e.Scope, err = r.optScope(); err != nil {
				return nil, err
			}
			ro, err := r.obj("reaction")
			if err != nil {
				return nil, err
			}
			if e.Reaction, err = decodeReaction(ro); err != nil {
				return nil, err
			}
			if e.Add, err = r.boolean("add"); err != nil {
				return nil, err
			}
			e.Extra = r.rest()
			return e, nil
		},
		EvGrpInv: func(r *objReader, _ int) (Event, error) {
			o, err := r.obj("groupInvitation")
			if err != nil {
				return nil, err
			}
			inv, err := decodeGroupInvitation(o)
			if err != nil {
				return nil, err
			}
			return &GrpInv{Invitation: inv, Extra: r.rest()}, nil
		},
		EvGrpAcpt: func(r *objReader, _ int) (Event, error) {
			id, err := r.b64("memberId")
			if err != nil {
				return nil, err
			}
			return &GrpAcpt{MemberID: id, Extra: r.rest()}, nil
		},
		EvGrpLinkInv: func(r *objReader, _ int) (Event, error) {
			o, err := r.obj("groupLinkInvitation")
			if err != nil {
				return nil, err
			}
			inv, err := decodeGroupLinkInvitation(o)
			if err != nil {
				return nil, err
			}
			return &GrpLinkInv{Invitation: inv, Extra: r.rest()}, nil
		},
		EvGrpLinkMem: func(r *objReader, _ int) (Event, error) {
			p, err := subProfile(r, "profile")
			if err != nil {
				return nil, err
			}
			return &GrpLinkMem{Profile: p, Extra: r.rest()}, nil
		},
		EvGrpMemNew: func(r *objReader, _ int) (Event, error) {
			mi, err := subMemberInfo(r)
			if err != nil {
				return nil, err
			}
			sc, err := r.optScope()
			if err != nil {
				return nil, err
			}
			return &GrpMemNew{MemberInfo: mi, Scope: sc, Extra: r.rest()}, nil
		},
		EvGrpMemIntro: func(r *objReader, _ int) (Event, error) {
			mi, err := subMemberInfo(r)
			if err != nil {
				return nil, err
			}
			e := &GrpMemIntro{MemberInfo: mi}
			if ro, err := r.optObj("memberRestrictions"); err != nil {
				return nil, err
			} else if ro != nil {
				e.Restrictions = ro.rest()
				if e.Restrictions == nil {
					e.Restrictions = Object{}
				}
			}
			e.Extra = r.rest()
			return e, nil
		},
		EvGrpMemInv: func(r *objReader, _ int) (Event, error) {
			id, err := r.b64("memberId")
			if err != nil {
				return nil, err
			}
			in, err := subIntro(r)
			if err != nil {
				return nil, err
			}
			return &GrpMemInv{MemberID: id, Intro: in, Extra: r.rest()}, nil
		},
		EvGrpMemFwd: func(r *objReader, _ int) (Event, error) {
			mi, err := subMemberInfo(r)
			if err != nil {
				return nil, err
			}
			in, err := subIntro(r)
			if err != nil {
				return nil, err
			}
			return &GrpMemFwd{MemberInfo: mi, Intro: in, Extra: r.rest()}, nil
		},
		EvGrpMemInfo: func(r *objReader, _ int) (Event, error) {
			id, err := r.b64("memberId")
			if err != nil {
				return nil, err
			}
			p, err := subProfile(r, "profile")
			if err != nil {
				return nil, err
			}
			return &GrpMemInfo{MemberID: id, Profile: p, Extra: r.rest()}, nil
		},
		EvGrpMemCon: func(r *objReader, _ int) (Event, error) {
			id, err := r.b64("memberId")
			if err != nil {
				return nil, err
			}
			return &GrpMemCon{MemberID: id, Extra: r.rest()}, nil
		},
		EvGrpMemRole: func(r *objReader, _ int) (Event, error) {
			id, err := r.b64("memberId")
			if err != nil {
				return nil, err
			}
			role, err := r.role("role")
			if err != nil {
				return nil, err
			}
			return &GrpMemRole{MemberID: id, Role: role, Extra: r.rest()}, nil
		},
		EvGrpMemDel: func(r *objReader, _ int) (Event, error) {
			id, err := r.b64("memberId")
			if err != nil {
				return nil, err
			}
			e := &GrpMemDel{MemberID: id}
			// messages is read leniently, as upstream: anything but true is false.
			if v, ok := r.get("messages"); ok && string(v) == "true" {
				e.Messages = true
			} else if ok {
				r.keep("messages")
			}
			e.Extra = r.rest()
			return e, nil
		},
		EvGrpLeave: func(r *objReader, _ int) (Event, error) { return &GrpLeave{Extra: r.rest()}, nil },
		EvGrpDel:   func(r *objReader, _ int) (Event, error) { return &GrpDel{Extra: r.rest()}, nil },
		EvGrpInfo: func(r *objReader, _ int) (Event, error) {
			o, err := r.obj("groupProfile")
			if err != nil {
				return nil, err
			}
			gp, err := decodeGroupProfile(o)
			if err != nil {
				return nil, err
			}
			return &GrpInfo{GroupProfile: gp, Extra: r.rest()}, nil
		},
		EvGrpMsgForward: func(r *objReader, depth int) (Event, error) {
			e := &GrpMsgForward{}
			var err error
			if e.MemberID, err = r.optB64("memberId"); err != nil {
				return nil, err
			}
			if e.MemberName, err = r.optStr("memberName"); err != nil {
				return nil, err
			}
			v, ok := r.get("msg")
			if !ok {
				return nil, r.missing("msg")
			}
			if firstByte(v) != '{' {
				return nil, errf(ErrParams, r.at("msg"), "want an object, got %s", jsonKind(v))
			}
			if e.Msg, err = decodeMessage(v, r.at("msg"), depth+1); err != nil {
				return nil, err
			}
			if e.Msg.Event.Name() == EvGrpMsgForward {
				return nil, errf(ErrNested, r.at("msg.event"), "x.grp.msg.forward inside x.grp.msg.forward")
			}
			if e.MsgTs, err = r.timestamp("msgTs"); err != nil {
				return nil, err
			}
			e.Extra = r.rest()
			return e, nil
		},
	}
}

func subProfile(r *objReader, key string) (*Profile, error) {
	o, err := r.obj(key)
	if err != nil {
		return nil, err
	}
	return decodeProfile(o)
}

func subMemberInfo(r *objReader) (*MemberInfo, error) {
	o, err := r.obj("memberInfo")
	if err != nil {
		return nil, err
	}
	return decodeMemberInfo(o)
}

func subIntro(r *objReader) (*IntroInvitation, error) {
	o, err := r.obj("memberIntro")
	if err != nil {
		return nil, err
	}
	return decodeIntroInvitation(o)
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

package chatmsg

// Preference is one contact preference (CH-PREF-1): allow is "always",
// "yes" or "no"; ttl only for timedMessages.
type Preference struct {
	Allow string
	TTL   *int64
	Extra Object
}

// Preferences are a profile's contact preferences. Features this revision
// does not know stay in Extra.
type Preferences struct {
	TimedMessages, FullDelete, Reactions, Voice, Calls *Preference
	Extra                                              Object
}

func (p *Preferences) fields() []struct {
	key string
	ptr **Preference
} {
	return []struct {
		key string
		ptr **Preference
	}{{"timedMessages", &p.TimedMessages}, {"fullDelete", &p.FullDelete}, {"reactions", &p.Reactions}, {"voice", &p.Voice}, {"calls", &p.Calls}}
}

func decodePreferences(r *objReader) (*Preferences, error) {
	p := &Preferences{}
	for _, f := range p.fields() {
		o, err := r.optObj(f.key)
		if err != nil {
			return nil, err
		}
		if o == nil {
			continue
		}
		pr := &Preference{Allow: read(o, o.str, "allow")}
		if o.err != nil {
			return nil, o.err
		}
		switch pr.Allow {
		case "always", "yes", "no":
		default:
			return nil, errf(ErrParams, o.at("allow"), "want always, yes or no, got %q", pr.Allow)
		}
		if f.key == "timedMessages" {
			pr.TTL = read(o, o.optInt, "ttl")
		}
		if *f.ptr, err = finish(o, pr, &pr.Extra); err != nil {
			return nil, err
		}
	}
	p.Extra = r.rest()
	return p, nil
}

func (p *Preferences) encode() []byte {
	w := newObj()
	for _, f := range p.fields() {
		if pr := *f.ptr; pr != nil {
			o := newObj()
			o.str("allow", pr.Allow)
			o.optInt("ttl", pr.TTL)
			o.extra(pr.Extra)
			w.raw(f.key, o.bytesOut())
		}
	}
	w.extra(p.Extra)
	return w.bytesOut()
}

// GroupPreference is one group preference (CH-PREF-2): enable is "on" or
// "off"; role is the lowest role the feature is for; ttl only for
// timedMessages.
type GroupPreference struct {
	Enable string
	Role   *Role
	TTL    *int64
	Extra  Object
}

// GroupPreferences are a group profile's preferences.
type GroupPreferences struct {
	TimedMessages, DirectMessages, FullDelete, Reactions, Voice, Files, SimplexLinks, Reports, History *GroupPreference
	Extra                                                                                              Object
}

func (p *GroupPreferences) fields() []struct {
	key string
	ptr **GroupPreference
} {
	return []struct {
		key string
		ptr **GroupPreference
	}{{"timedMessages", &p.TimedMessages}, {"directMessages", &p.DirectMessages}, {"fullDelete", &p.FullDelete}, {"reactions", &p.Reactions}, {"voice", &p.Voice}, {"files", &p.Files}, {"simplexLinks", &p.SimplexLinks}, {"reports", &p.Reports}, {"history", &p.History}}
}

func decodeGroupPreferences(r *objReader) (*GroupPreferences, error) {
	p := &GroupPreferences{}
	for _, f := range p.fields() {
		o, err := r.optObj(f.key)
		if err != nil {
			return nil, err
		}
		if o == nil {
			continue
		}
		pr := &GroupPreference{Enable: read(o, o.str, "enable")}
		if o.err != nil {
			return nil, o.err
		}
		if pr.Enable != "on" && pr.Enable != "off" {
			return nil, errf(ErrParams, o.at("enable"), "want on or off, got %q", pr.Enable)
		}
		if _, ok := o.get("role"); ok {
			o.keep("role")
			role := read(o, o.role, "role")
			pr.Role = &role
		}
		if f.key == "timedMessages" {
			pr.TTL = read(o, o.optInt, "ttl")
		}
		if *f.ptr, err = finish(o, pr, &pr.Extra); err != nil {
			return nil, err
		}
	}
	p.Extra = r.rest()
	return p, nil
}

func (p *GroupPreferences) encode() []byte {
	w := newObj()
	for _, f := range p.fields() {
		if pr := *f.ptr; pr != nil {
			o := newObj()
			o.str("enable", pr.Enable)
			if pr.Role != nil {
				o.str("role", string(*pr.Role))
			}
			o.optInt("ttl", pr.TTL)
			o.extra(pr.Extra)
			w.raw(f.key, o.bytesOut())
		}
	}
	w.extra(p.Extra)
	return w.bytesOut()
}

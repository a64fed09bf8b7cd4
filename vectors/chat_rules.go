package vectors

import (
	"encoding/json"
	"errors"
	"fmt"

	cm "github.com/smpkit/smpkit/reference/chatmsg"
)

func init() {
	Register(Topic{Path: "chat/versions.json", Generate: genChatVersions, Verify: verifyChatVersions})
	Register(Topic{Path: "chat/profiles.json", Generate: genChatProfiles, Verify: verifyChatProfiles})
}

type chatVersionCase struct {
	Case
	// Kind is "range" (text parses to min, max) or "negotiate" (local and
	// peer give version, compatible).
	Kind       string `json:"kind"`
	Text       string `json:"text,omitempty"`
	Min        int    `json:"min,omitempty"`
	Max        int    `json:"max,omitempty"`
	Local      string `json:"local,omitempty"`
	Peer       string `json:"peer,omitempty"`
	Result     int    `json:"result,omitempty"`
	Compatible bool   `json:"compatible,omitempty"`
}

func genChatVersions() (any, error) {
	f := File[chatVersionCase]{
		Topic: "Chat version ranges and negotiation",
		Description: "kind range: text is a version range (CH-VER-1) with min and max, or must be rejected. kind negotiate: " +
			"a connection between local and peer ranges uses version result; compatible is false when the ranges do not " +
			"overlap and result is then the peer's end nearest to local (CH-VER-4).",
		Spec: "spec/chat.md §2",
	}
	for _, t := range []string{"1", "1-9", "9", "2-16", "0", "0-65535", "65535"} {
		r, err := cm.ParseVersionRange(t)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
		f.Cases = append(f.Cases, chatVersionCase{Case: Case{ID: "range-" + t, Spec: "CH-VER-1", Valid: true}, Kind: "range", Text: t, Min: int(r.Min), Max: int(r.Max)})
	}
	for i, t := range []string{"", "9-1", "1-", "-1", "+1", "1-2-3", "65536", "1-65536", " 1", "1 ", "1.0", "x", "01-2a"} {
		f.Cases = append(f.Cases, chatVersionCase{Case: Case{ID: fmt.Sprintf("range-bad-%02d", i+1), Spec: "CH-VER-1", Valid: false, Error: "VERSION"}, Kind: "range", Text: t})
	}
	for _, n := range []struct{ id, local, peer, comment string }{
		{"negotiate-newer-peer", "1-9", "1-16", "the smaller maximum"},
		{"negotiate-older-peer", "1-9", "1-5", ""},
		{"negotiate-initial", "1-9", "1", "a message without v"},
		{"negotiate-equal", "1-9", "1-9", ""},
		{"negotiate-disjoint-newer", "1-9", "10-16", "no overlap: the peer's minimum"},
		{"negotiate-disjoint-older", "5-9", "1-3", "no overlap: the peer's maximum"},
	} {
		l, _ := cm.ParseVersionRange(n.local)
		p, _ := cm.ParseVersionRange(n.peer)
		v, ok := cm.Negotiate(l, p)
		f.Cases = append(f.Cases, chatVersionCase{Case: Case{ID: n.id, Spec: "CH-VER-4", Valid: true, Comment: n.comment}, Kind: "negotiate",
			Local: n.local, Peer: n.peer, Result: int(v), Compatible: ok})
	}
	return f, nil
}

func verifyChatVersions(data []byte) error {
	return Check(data, func(c chatVersionCase) string { return c.ID }, func(c chatVersionCase) error {
		switch c.Kind {
		case "range":
			r, err := cm.ParseVersionRange(c.Text)
			if !c.Valid {
				if err == nil {
					return errors.New("accepted")
				}
				return nil
			}
			if err != nil {
				return err
			}
			if int(r.Min) != c.Min || int(r.Max) != c.Max || r.String() != c.Text {
				return fmt.Errorf("got %v", r)
			}
		case "negotiate":
			l, err := cm.ParseVersionRange(c.Local)
			if err != nil {
				return err
			}
			p, err := cm.ParseVersionRange(c.Peer)
			if err != nil {
				return err
			}
			if v, ok := cm.Negotiate(l, p); int(v) != c.Result || ok != c.Compatible {
				return fmt.Errorf("got %d %v", v, ok)
			}
		default:
			return fmt.Errorf("unknown kind %q", c.Kind)
		}
		return nil
	})
}

type chatProfileCase struct {
	Case
	// Kind is "redact" (profile as sent to a group is redacted) or
	// "display_name" (name is one a sender may use, or not).
	Kind string `json:"kind"`
	// Profile and Redacted are canonical JSON texts.
	Profile  string `json:"profile,omitempty"`
	Redacted string `json:"redacted,omitempty"`
	Name     string `json:"name,omitempty"`
}

func genChatProfiles() (any, error) {
	f := File[chatProfileCase]{
		Topic: "Profiles: redaction in groups and display names",
		Description: "kind redact: profile, sent to a group, becomes redacted (CH-PROF-4: names, image, shortDescr, peerType). " +
			"kind display_name: a sender may use name when valid (CH-PROF-2); receivers accept any name.",
		Spec: "spec/chat.md §10",
	}
	full := fxAlice()
	full.Extra = cm.Object{"shortDescr": json.RawMessage(`"tea and rabbits"`), "peerType": json.RawMessage(`"human"`), "badge": json.RawMessage(`{"kind":"x"}`)}
	for _, p := range []struct {
		id string
		p  *cm.Profile
	}{{"redact-full", full}, {"redact-minimal", fxBob()}} {
		b, err := profileJSON(p.p)
		if err != nil {
			return nil, err
		}
		r, err := profileJSON(p.p.Redacted())
		if err != nil {
			return nil, err
		}
		f.Cases = append(f.Cases, chatProfileCase{Case: Case{ID: p.id, Spec: "CH-PROF-4", Valid: true}, Kind: "redact", Profile: string(b), Redacted: string(r)})
	}
	for i, n := range []string{"alice", "Alice Liddell", "борис", "a#b", "小明", "x"} {
		f.Cases = append(f.Cases, chatProfileCase{Case: Case{ID: fmt.Sprintf("name-ok-%02d", i+1), Spec: "CH-PROF-2", Valid: true}, Kind: "display_name", Name: n})
	}
	for i, n := range []string{"", " alice", "alice ", "#team", "@bob", "a\nb", "tab\t"} {
		f.Cases = append(f.Cases, chatProfileCase{Case: Case{ID: fmt.Sprintf("name-bad-%02d", i+1), Spec: "CH-PROF-2", Valid: false, Error: "display name"}, Kind: "display_name", Name: n})
	}
	return f, nil
}

// profileJSON is a profile's canonical JSON, by way of an x.info message.
func profileJSON(p *cm.Profile) (json.RawMessage, error) {
	var m struct {
		Params struct {
			Profile json.RawMessage `json:"profile"`
		} `json:"params"`
	}
	if err := json.Unmarshal((&cm.Message{V: cm.Supported, Event: &cm.Info{Profile: p}}).Encode(), &m); err != nil {
		return nil, err
	}
	return m.Params.Profile, nil
}

func verifyChatProfiles(data []byte) error {
	return Check(data, func(c chatProfileCase) string { return c.ID }, func(c chatProfileCase) error {
		switch c.Kind {
		case "redact":
			m, err := cm.ParseMessage([]byte(`{"v":"1-9","event":"x.info","params":{"profile":` + c.Profile + `}}`))
			if err != nil {
				return err
			}
			got, err := profileJSON(m.Event.(*cm.Info).Profile.Redacted())
			if err != nil {
				return err
			}
			if string(got) != string(c.Redacted) {
				return fmt.Errorf("redacted\n%s\nwant\n%s", got, c.Redacted)
			}
		case "display_name":
			if err := cm.ValidDisplayName(c.Name); (err == nil) != c.Valid {
				return fmt.Errorf("ValidDisplayName(%q) = %v", c.Name, err)
			}
		default:
			return fmt.Errorf("unknown kind %q", c.Kind)
		}
		return nil
	})
}

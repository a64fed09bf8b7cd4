package relay

import (
	"fmt"
	"sort"
	"strings"
)

// [INFORMATION] follows upstream's reader (simplexmq Server/Main.hs
// serverPublicInfo), which builds the published server information from
// the file and leaves out what does not make a whole field:
//   - without source_code nothing is published at all;
//   - condition_amendments only with usage_conditions;
//   - operator_country only with operator, hosting_country only with hosting;
//   - a contact's PGP key only with its fingerprint (and the reverse).
//
// smpkit drops what upstream drops, with a warning for each so none goes
// silently, except the PGP pair: one half alone is refused, since an
// operator who wrote a key expects it to be published.

// infoDepends lists the fields published only with another.
var infoDepends = []struct{ key, needs string }{
	{"condition_amendments", "usage_conditions"},
	{"operator_country", "operator"},
	{"hosting_country", "hosting"},
}

// checkInformation refuses what upstream would read but not publish as
// written: half a PGP key, and *_simplex values that are not SimpleX links.
func checkInformation(info map[string]string) error {
	for _, who := range []string{"admin", "complaints"} {
		k, f := who+"_pgp", who+"_pgp_fingerprint"
		if (info[k] == "") != (info[f] == "") {
			return fmt.Errorf("[INFORMATION] %s and %s go together (upstream publishes the key only with its fingerprint)", k, f)
		}
		if l := info[who+"_simplex"]; l != "" {
			if err := linkShape(l); err != nil {
				return fmt.Errorf("[INFORMATION] %s_simplex: %v", who, err)
			}
		}
	}
	return nil
}

// publishedInformation removes from info the fields upstream would not
// publish and returns a warning for each.
func publishedInformation(info map[string]string) []string {
	if len(info) == 0 {
		return nil
	}
	if info["source_code"] == "" {
		keys := make([]string, 0, len(info))
		for k := range info {
			keys = append(keys, k)
			delete(info, k)
		}
		sort.Strings(keys)
		return []string{fmt.Sprintf("[INFORMATION] has no source_code, so no server information is published (as upstream): %s ignored",
			strings.Join(keys, ", "))}
	}
	var warnings []string
	for _, d := range infoDepends {
		if info[d.key] != "" && info[d.needs] == "" {
			delete(info, d.key)
			warnings = append(warnings, fmt.Sprintf("[INFORMATION] %s without %s is not published (as upstream): ignored", d.key, d.needs))
		}
	}
	return warnings
}

// linkShape checks that a value has the form of a SimpleX contact address
// or link, as upstream's linkP reads it (a full connection link or a short
// link): "simplex:" or an https:// host, then /contact or /invitation and
// a '#' fragment with the smp= queues, or a short link's type letter and
// a non-empty '#' fragment. Parsing the whole link needs reference/agent,
// which smp-server does not link (it would bring the chat database in).
func linkShape(l string) error {
	const want = "want a SimpleX address or link (simplex:/contact#/?v=...&smp=... or https://host/a#key)"
	rest, ok := strings.CutPrefix(l, "simplex:")
	if !ok {
		if rest, ok = strings.CutPrefix(l, "https://"); !ok {
			return fmt.Errorf("%s", want)
		}
		i := strings.IndexByte(rest, '/')
		if i <= 0 {
			return fmt.Errorf("%s", want)
		}
		rest = rest[i:]
	}
	path, frag, ok := strings.Cut(rest, "#")
	switch strings.TrimSuffix(path, "/") {
	case "/contact", "/invitation":
		ok = ok && (strings.HasPrefix(frag, "/?") || strings.HasPrefix(frag, "?")) && strings.Contains(frag, "smp=")
	case "/a", "/c", "/g", "/r", "/i", "/A", "/C", "/G", "/R":
		ok = ok && frag != ""
	default:
		ok = false
	}
	if !ok {
		return fmt.Errorf("%s", want)
	}
	return nil
}

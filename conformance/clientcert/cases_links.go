package clientcert

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/smpkit/smpkit/internal/driver"
	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/smp"
)

func init() {
	register(
		&Case{ID: "LINK-SHIM-PRINTS", Group: "links", Level: MUST, Spec: []string{"GC-LINK-1", "SMP-URI-1", "SMP-ADDR-1"},
			Title: "the shim's invitations carry v, smp and e2e, every value escaped, the queue on its relay", Run: linkShimPrints},
		&Case{ID: "LINK-RUNNER-VARIANTS", Group: "links", Level: MUST, Spec: []string{"GC-LINK-1"},
			Title: "the shim joins invitations in every printed form: https scheme, / before #, any order, extra data", Run: linkVariants},
	)
}

var escapedValue = regexp.MustCompile(`^([A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})*$`)

func linkShimPrints(ctx context.Context, t *T) error {
	if err := t.startShim(ctx, t.S.Server); err != nil {
		return err
	}
	for _, proc := range []string{"fast", "standard"} {
		rep, err := t.call(ctx, driver.Msg{Cmd: driver.CmdCreateInvitation, Procedure: proc})
		if err != nil {
			return err
		}
		t.Logf("%s link: %s", proc, rep.Link)
		inv, err := agent.ParseInvitation(rep.Link)
		if err != nil {
			return fmt.Errorf("%s invitation does not parse (GC-LINK-1): %w", proc, err)
		}
		_, query, ok := strings.Cut(rep.Link, "#/?")
		if !ok {
			return fmt.Errorf("%s invitation has no #/? (GC-LINK-1)", proc)
		}
		have := map[string]bool{}
		for _, kv := range strings.Split(query, "&") {
			k, v, _ := strings.Cut(kv, "=")
			have[k] = true
			if !escapedValue.MatchString(v) {
				return fmt.Errorf("%s invitation: the value of %q is not escaped (every byte but letters, digits and -._~ as %%XX, GC-LINK-1): %.80q", proc, k, v)
			}
		}
		for _, k := range []string{"v", "smp", "e2e"} {
			if !have[k] {
				return fmt.Errorf("%s invitation lacks %q (GC-LINK-1)", proc, k)
			}
		}
		if got := inv.Queues[0].Server.String(); got != t.S.Server.String() {
			return fmt.Errorf("%s invitation: queue on %s, want the shim's relay %s (SMP-URI-1)", proc, got, t.S.Server)
		}
	}
	return nil
}

// variants prints one invitation in the forms GC-LINK-1 lets a parser
// meet.
var variants = []struct {
	name string
	fn   func(link string) string
}{
	{"canonical", func(l string) string { return l }},
	{"https-scheme", func(l string) string { return strings.Replace(l, "simplex:", "https://simplex.chat", 1) }},
	{"slash-before-hash", func(l string) string { return strings.Replace(l, "/invitation#", "/invitation/#", 1) }},
	{"reordered", func(l string) string {
		head, q, _ := strings.Cut(l, "#/?")
		ps := strings.Split(q, "&")
		for i, j := 0, len(ps)-1; i < j; i, j = i+1, j-1 {
			ps[i], ps[j] = ps[j], ps[i]
		}
		return head + "#/?" + strings.Join(ps, "&")
	}},
	{"client-data", func(l string) string { return l + "&data=%7B%22groupLinkId%22%3A%22AQID%22%7D" }},
}

func linkVariants(ctx context.Context, t *T) error {
	if err := t.startShim(ctx, t.S.Server); err != nil {
		return err
	}
	for _, v := range variants {
		pc, link, err := t.peer.ag.CreateInvitationWith(ctx, agent.Fast)
		if err != nil {
			return err
		}
		text := v.fn(link)
		if _, err := t.call(ctx, driver.Msg{Cmd: driver.CmdJoin, Link: text, Info: driver.Str(v.name)}); err != nil {
			return fmt.Errorf("variant %s: %w\nlink: %s", v.name, err, text)
		}
		e, err := t.peerEvent(ctx, agent.EventConf, pc)
		if err != nil {
			return fmt.Errorf("variant %s: %w", v.name, err)
		}
		if string(e.Body) != v.name {
			return fmt.Errorf("variant %s: the peer got info %q", v.name, e.Body)
		}
	}
	return nil
}

func init() {
	register(&Case{ID: "LINK-VERSION-OUTSIDE", Group: "links", Level: MUST, Spec: []string{"DRV-CLIENT-4", "GC-LINK-1"},
		Title: "invitations offering only agent or ratchet versions outside the shim's range are refused; nothing is sent", Run: linkVersionOutside})
}

func linkVersionOutside(ctx context.Context, t *T) error {
	if err := t.startShim(ctx, t.S.Server); err != nil {
		return err
	}
	for _, which := range []string{"agent", "ratchet"} {
		_, link, err := t.peer.ag.CreateInvitationWith(ctx, agent.Fast)
		if err != nil {
			return err
		}
		inv, _ := agent.ParseInvitation(link)
		far := smp.VersionRange{Min: 100, Max: 101}
		if which == "agent" {
			inv.AgentVersions = far
		} else {
			inv.E2EVersions = far
		}
		if err := t.refused(ctx, driver.Msg{Cmd: driver.CmdJoin, Link: inv.String(), Info: driver.Str(shimInfo)}, "the link offers only "+which+" versions 100-101"); err != nil {
			return err
		}
		q, err := queueBySender(t.P.store(), inv.Queues[0].SenderID)
		if err != nil {
			return err
		}
		if _, msgs := t.P.store().Counts(); msgs != 0 || q.SenderKey != nil {
			return fmt.Errorf("after refusing a link with %s versions 100-101 the shim still sent to its queue (DRV-CLIENT-4)", which)
		}
	}
	return nil
}

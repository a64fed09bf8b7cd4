package agent_test

import (
	"context"
	"strings"
	"testing"

	"github.com/smpkit/smpkit/reference/agent"
)

// Links as upstream publishes them work end to end: an https:// invitation
// (GC-LINK-1) and a contact address written for agent version 1, with
// data= (GC-LINK-2).
func TestUpstreamLinkFormsJoin(t *testing.T) {
	r1, r2 := startRelay(t), startRelay(t)
	alice, bob := newAgent(t, t.TempDir(), r1, nil), newAgent(t, t.TempDir(), r2, nil)
	ctx := context.Background()
	_, link, err := alice.CreateInvitation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	web := "https://simplex.chat" + strings.TrimPrefix(link, "simplex:")
	inv, err := agent.ParseInvitation(web)
	if err != nil {
		t.Fatal(err)
	}
	if inv.String() != link {
		t.Fatalf("https link prints as %s, want %s", inv.String(), link)
	}
	if _, err := bob.Join(ctx, web, []byte("bob")); err != nil {
		t.Fatal(err)
	}
	if conf := next(t, alice, "CONF"); string(conf.Body) != "bob" {
		t.Fatalf("CONF %q", conf.Body)
	}

	_, address, err := alice.CreateContact(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := agent.ParseContact(address)
	if err != nil {
		t.Fatal(err)
	}
	ct.AgentVersions.Min, ct.AgentVersions.Max = 1, 2
	ct.Scheme = "https://simplex.chat"
	group := `{"type":"group_link", "group_link_id":"abc"}`
	ct.ClientData = &group
	old := ct.String()
	back, err := agent.ParseContact(old)
	if err != nil {
		t.Fatal(err)
	}
	if back.AgentVersions.Min != 2 || back.AgentVersions.Max != 2 || back.ClientData == nil || *back.ClientData != group {
		t.Fatalf("%s parsed to %+v", old, back)
	}
	if _, err := bob.JoinContact(ctx, old, []byte("bob again")); err != nil {
		t.Fatal(err)
	}
	if req := next(t, alice, "REQ"); string(req.Body) != "bob again" {
		t.Fatalf("REQ %q", req.Body)
	}
}

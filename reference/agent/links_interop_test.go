package agent_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/transport"
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

// A relay address whose key hash is shorter than 32 bytes parses, as
// upstream's does, and the handshake refuses it (SMP-ADDR-1, SMP-TLS-5).
func TestShortKeyHashFailsAtHandshake(t *testing.T) {
	srv := startRelay(t)
	short, err := smp.ParseServer("smp://1234-w==@" + strings.Join(srv.Hosts, ",") + ":" + srv.Port)
	if err != nil {
		t.Fatalf("short key hash: %v", err)
	}
	if len(short.KeyHash) != 4 {
		t.Fatalf("key hash %x", short.KeyHash)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if cl, err := client.Dial(ctx, short, client.Config{PingInterval: -1}); !errors.Is(err, transport.ErrIdentity) {
		if err == nil {
			cl.Close()
		}
		t.Fatalf("dial with a 4-byte key hash: %v, want the identity error", err)
	}
}

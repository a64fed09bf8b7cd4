package agent

import (
	"bytes"
	"crypto/rand"
	"reflect"
	"testing"

	"pgregory.net/rapid"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
)

func genServer(t *rapid.T) smp.Server {
	hosts := rapid.SliceOfN(rapid.SampledFrom([]string{"smp.example.com", "10.0.0.1", "fd00::1", "abcdefghij234567.onion", "relay-2.example.org"}), 1, 3).Draw(t, "hosts")
	return smp.Server{Hosts: hosts, Port: rapid.SampledFrom([]string{"", "443", "5223"}).Draw(t, "port"),
		KeyHash: rapid.SliceOfN(rapid.Byte(), 1, 40).Draw(t, "key hash")}
}

func genQueue(t *rapid.T, dh smpcrypto.PublicKey) smp.QueueURI {
	lo := rapid.Uint16Range(2, 4).Draw(t, "min") // min 1 would move hosts to srv=, also round-tripped
	q := smp.QueueURI{Server: genServer(t), SenderID: rapid.SliceOfN(rapid.Byte(), 1, 24).Draw(t, "sid"),
		Versions: smp.VersionRange{Min: smp.Version(lo), Max: smp.Version(rapid.Uint16Range(lo, 9).Draw(t, "max"))}, DHKey: dh}
	switch rapid.IntRange(0, 2).Draw(t, "mode") {
	case 1:
		m := smp.QueueMessaging
		q.Mode = &m
	case 2:
		m := smp.QueueContact
		q.Mode = &m
	}
	return q
}

// Property: a printed link parses back to the same value, whatever its
// scheme was (printed links are simplex:, GC-LINK-1), with data kept.
func TestLinkRoundTrip(t *testing.T) {
	dh, _ := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader)
	k1, _ := smpcrypto.GenerateKey(smpcrypto.X448, rand.Reader)
	rapid.Check(t, func(t *rapid.T) {
		qs := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) smp.QueueURI { return genQueue(t, dh.Public()) }), 1, 3).Draw(t, "queues")
		var data *string
		if rapid.Bool().Draw(t, "data?") {
			d := rapid.String().Draw(t, "data")
			data = &d
		}
		scheme := rapid.SampledFrom([]string{"simplex:", "https://simplex.chat", "https://example.com:8443"}).Draw(t, "scheme")
		lo := rapid.Uint16Range(1, 7).Draw(t, "agent min")
		av := smp.VersionRange{Min: smp.Version(lo), Max: smp.Version(rapid.Uint16Range(lo, 9).Draw(t, "agent max"))}
		inv := Invitation{Scheme: scheme, AgentVersions: av, Queues: qs, E2EVersions: smp.VersionRange{Min: 2, Max: 3},
			E2EKey1: k1.Public(), E2EKey2: k1.Public(), ClientData: data}
		got, err := ParseInvitation(inv.String())
		if err != nil {
			t.Fatalf("%s: %v", inv.String(), err)
		}
		want := inv
		want.Scheme = "simplex:"
		if got.String() != want.String() || !reflect.DeepEqual(got.ClientData, data) || got.AgentVersions != av {
			t.Fatalf("invitation\n got %s\nwant %s", got.String(), want.String())
		}
		ct := Contact{Scheme: scheme, AgentVersions: av, Queues: qs, ClientData: data}
		gc, err := ParseContact(ct.String())
		if err != nil {
			t.Fatalf("%s: %v", ct.String(), err)
		}
		wantAV := smp.VersionRange{Min: max(av.Min, AgentVersionMin), Max: max(av.Max, max(av.Min, AgentVersionMin))}
		if gc.AgentVersions != wantAV || gc.Scheme != "simplex:" || !reflect.DeepEqual(gc.ClientData, data) || len(gc.Queues) != len(qs) {
			t.Fatalf("contact %s parsed to %+v", ct.String(), gc)
		}
	})
}

// Property: short links print and parse back to the same value (GC-LINK-4).
func TestShortLinkProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		l := ShortLink{Web: rapid.Bool().Draw(t, "web"), Type: rapid.SampledFrom([]byte("iacgr")).Draw(t, "type"),
			Server: genServer(t), LinkKey: rapid.SliceOfN(rapid.Byte(), 1, 32).Draw(t, "key")}
		if rapid.Bool().Draw(t, "no key hash") {
			l.Server.KeyHash = nil
		}
		if l.Type == 'i' {
			l.LinkID = rapid.SliceOfN(rapid.Byte(), 1, 24).Draw(t, "id")
		}
		got, err := ParseShortLink(l.String())
		if err != nil {
			t.Fatalf("%s: %v", l.String(), err)
		}
		if got.String() != l.String() || got.Web != l.Web || got.Type != l.Type || !bytes.Equal(got.LinkKey, l.LinkKey) ||
			!bytes.Equal(got.LinkID, l.LinkID) || !reflect.DeepEqual(got.Server.Hosts, l.Server.Hosts) ||
			got.Server.Port != l.Server.Port || !bytes.Equal(got.Server.KeyHash, l.Server.KeyHash) {
			t.Fatalf("%s parsed to %+v", l.String(), got)
		}
	})
}

// A version 1 queue description naming a preset relay's public host gains
// its onion host, as upstream's reader adds it (GC-ENV-5, SMP-URI-1).
func TestQueueInfoV1PresetOnion(t *testing.T) {
	dh, _ := smpcrypto.GenerateKey(smpcrypto.X25519, rand.Reader)
	for _, c := range []struct {
		host string
		want []string
	}{
		{"smp5.simplex.im", []string{"smp5.simplex.im", "jjbyvoemxysm7qxap7m5d5m35jzv5qq6gnlv7s4rsn7tdwwmuqciwpid.onion"}},
		{"smp1.example.com", []string{"smp1.example.com"}},
	} {
		qi := QueueInfo{ClientVersion: 1, Server: smp.Server{Hosts: []string{c.host}, Port: "5223", KeyHash: make([]byte, 32)},
			SenderID: []byte("sid"), DHKey: dh.Public()}
		b, err := EncodeAgentMessage(ConnInfoReply{Queues: []QueueInfo{qi}, Info: []byte("{}")})
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseAgentMessage(b)
		if err != nil {
			t.Fatal(err)
		}
		got := m.(ConnInfoReply).Queues[0].Server.Hosts
		if !reflect.DeepEqual(got, c.want) {
			t.Fatalf("%s: hosts %v, want %v", c.host, got, c.want)
		}
		if again, _ := EncodeAgentMessage(m); !bytes.Equal(again, b) {
			t.Fatalf("%s: re-encoding differs", c.host)
		}
	}
}

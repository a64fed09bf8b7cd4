package driver

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// TestSchemaNamesEveryMessage: spec/driver.schema.json and this package
// name the same commands, optional commands and events.
func TestSchemaNamesEveryMessage(t *testing.T) {
	b, err := os.ReadFile("../../spec/driver.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Defs struct {
			Command struct {
				Properties struct {
					Cmd struct{ Enum []string }
				}
			}
			Reply struct {
				Properties struct {
					Unsupported struct{ Items struct{ Enum []string } }
				}
			}
			Event struct {
				Properties struct {
					Event struct{ Enum []string }
				}
			}
		} `json:"$defs"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	cmds := []string{CmdHello, CmdStart, CmdCreateInvitation, CmdJoin, CmdAllow, CmdSend, CmdAck, CmdSubscribe, CmdRotate,
		CmdSyncRatchet, CmdDelete, CmdRestart, CmdCreateContact, CmdJoinContact, CmdAddQueue, CmdQuit}
	evs := []string{EvConf, EvInfo, EvCon, EvMsg, EvRcvd, EvSwitch, EvRSync, EvReq, EvErr}
	for _, c := range []struct {
		what        string
		schema, pkg []string
	}{
		{"commands", s.Defs.Command.Properties.Cmd.Enum, cmds},
		{"optional commands", s.Defs.Reply.Properties.Unsupported.Items.Enum, Optional},
		{"events", s.Defs.Event.Properties.Event.Enum, evs},
	} {
		a, b := slices.Clone(c.schema), slices.Clone(c.pkg)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Errorf("%s: schema %v, package %v", c.what, a, b)
		}
	}
}

// TestRoundTrip: a line read back is the message written.
func TestRoundTrip(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "lines")
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(f)
	in := []Msg{{ID: 3, Cmd: CmdSend, Conn: "c", Body: Str("a\\nb \u00e9")}, {Event: EvMsg, Conn: "c", MsgID: 7, Body: Str("")}}
	for _, m := range in {
		if err := w.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	f.Seek(0, 0)
	r := NewReader(f)
	for _, want := range in {
		got, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != want.ID || got.Cmd != want.Cmd || got.Event != want.Event || Val(got.Body) != Val(want.Body) || got.MsgID != want.MsgID {
			t.Errorf("got %+v, want %+v", got, want)
		}
	}
}

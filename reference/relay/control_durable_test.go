package relay_test

import (
	"testing"

	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/smpcrypto"
	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/store/storetest"
)

// TestControlChangesAreDurable: the power goes right after the control
// port answers ok to block, unblock or delete, and after the restart the
// queue is as the answer said (a block with its notice). Before, the relay's deferred fsync (group
// commit) left the change in the page cache until some client's command
// asked for an fsync, so an operator's block could be undone.
func TestControlChangesAreDurable(t *testing.T) {
	for _, step := range []struct {
		cmd  string
		want func(*store.Queue, error) bool
	}{
		{"block", func(q *store.Queue, err error) bool {
			return err == nil && q.Status == store.Blocked && q.BlockInfo.Reason == "content" &&
				q.BlockInfo.Notice != nil && q.BlockInfo.Notice.TTL != nil && *q.BlockInfo.Notice.TTL == 86400
		}},
		{"unblock", func(q *store.Queue, err error) bool { return err == nil && q.Status == store.Active }},
		{"delete", func(q *store.Queue, err error) bool { return err != nil }},
	} {
		t.Run(step.cmd, func(t *testing.T) {
			mem := storetest.NewMemFS()
			st, _, err := store.Open("/data", store.Options{FS: mem})
			if err != nil {
				t.Fatal(err)
			}
			tr := startRelay(t, relay.Config{Store: st})
			addr := startControl(t, tr, relay.ControlConfig{AdminPassword: "adm"})
			q := newQueue(t, tr.dial(smp.VersionMax), smp.CmdNEW{}, smpcrypto.Ed25519)
			sid := smp.EncodeB64(q.ids.SndID)
			cmds := []string{step.cmd + " " + sid}
			switch step.cmd {
			case "block":
				cmds[0] += ` reason=content,notice={"ttl":86400}`
			case "unblock":
				cmds = []string{"block " + sid + " reason=spam", "unblock " + sid}
			}
			for _, c := range cmds {
				if out := control(t, addr, "adm", c); len(out) < 2 || out[:2] != "ok" {
					t.Fatalf("%s: %q", c, out)
				}
			}
			mem.CrashAfter(0)
			mem.Restart()
			st2, _, err := store.Open("/data", store.Options{FS: mem})
			if err != nil {
				t.Fatal(err)
			}
			defer st2.Close()
			if got, err := st2.Queue(store.ByRecipient, q.ids.RcvID); !step.want(got, err) {
				t.Fatalf("after %s and a power loss: queue %+v, err %v", step.cmd, got, err)
			}
		})
	}
}

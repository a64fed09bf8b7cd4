package relay

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/smpkit/smpkit/reference/store"
)

func TestSettingsRoundTrip(t *testing.T) {
	s := DefaultSettings()
	s.CreatePassword = "s3cret!"
	s.Ports = []string{"5223", "443"}
	s.Fsync = store.SyncInterval
	s.MetricsListen = "127.0.0.1:9090"
	var buf bytes.Buffer
	if err := WriteSettings(&buf, s); err != nil {
		t.Fatal(err)
	}
	got, warn, err := ReadSettings(&buf)
	if err != nil || len(warn) != 0 {
		t.Fatalf("read back: %v %v", err, warn)
	}
	if d := cmp.Diff(s, got); d != "" {
		t.Fatalf("round trip (-want +got):\n%s", d)
	}
}

func TestSettingsUpstreamFile(t *testing.T) {
	// Keys an upstream smp-server.ini has: known ones apply, others warn.
	in := `[STORE_LOG]
enable = on
restore_messages = on
expire_messages_days = 7
db_schema = smp_server

[AUTH]
new_queues = off
create_password = pw

[TRANSPORT]
host = relay.example
port = 5223,443
websockets = off

[INFORMATION]
source_code = https://example
`
	s, warn, err := ReadSettings(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if s.ExpireMessagesDays != 7 || s.NewQueues || s.CreatePassword != "pw" || s.Host != "relay.example" || len(s.Ports) != 2 {
		t.Fatalf("settings %+v", s)
	}
	if len(warn) != 2 {
		t.Fatalf("want warnings for db_schema and websockets, got %q", warn)
	}
}

func TestSettingsErrors(t *testing.T) {
	for _, in := range []string{
		"key = value\n",
		"[AUTH]\nnew_queues = maybe\n",
		"[AUTH]\ncreate_password = a@b\n",
		"[TRANSPORT]\nport = 70000\n",
		"[STORE_LOG]\nfsync = sometimes\n",
		"[QUEUES\n",
	} {
		if _, _, err := ReadSettings(strings.NewReader(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

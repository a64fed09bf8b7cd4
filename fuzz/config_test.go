package fuzz

import (
	"bytes"
	"context"
	"net"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/socks5"
)

// An operator's smp-server.ini, and a SOCKS proxy's answers, are input too.

// FuzzSettings reads arbitrary smp-server.ini text: never a panic, and
// settings that load write back (WriteSettings) to a file that loads as
// the same settings without a warning.
func FuzzSettings(f *testing.F) {
	for _, name := range []string{"upstream-smp-server.ini", "upstream-default-smp-server.ini"} {
		b, err := os.ReadFile("../reference/relay/testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	var def bytes.Buffer
	relay.WriteSettings(&def, relay.DefaultSettings())
	f.Add(def.Bytes())
	f.Add([]byte("[PROXY]\nsocks_proxy = u:p@[::1]:9150\nsocks_mode: always\nhost_mode = onion\n[STORE_LOG]\nbackups = 0\ncompact_min = 1\n"))
	f.Add([]byte("[INFORMATION]\nsource_code = s\nadmin_simplex = simplex:/contact#/?smp=x\nadmin_pgp = k\nadmin_pgp_fingerprint = f\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, _, err := relay.ReadSettings(bytes.NewReader(data))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := relay.WriteSettings(&out, s); err != nil {
			t.Fatal(err)
		}
		again, warn, err := relay.ReadSettings(bytes.NewReader(out.Bytes()))
		if err != nil || len(warn) > 0 {
			t.Fatalf("written settings do not load: %v %q\n%s", err, warn, out.Bytes())
		}
		if d := cmp.Diff(s, again); d != "" {
			t.Fatalf("round trip (-read +written):\n%s", d)
		}
	})
}

// FuzzSOCKSReply gives the SOCKS5 client arbitrary proxy answers: an
// error or a connection, never a panic or a hang.
func FuzzSOCKSReply(f *testing.F) {
	f.Add([]byte{5, 0, 5, 0, 0, 1, 127, 0, 0, 1, 0, 80}, false)
	f.Add([]byte{5, 2, 1, 0, 5, 0, 0, 3, 4, 'h', 'o', 's', 't', 0, 80}, true)
	f.Add([]byte{5, 0, 5, 4, 0, 1, 0, 0, 0, 0, 0, 0}, false)
	f.Add([]byte{5, 0xff}, false)
	f.Fuzz(func(t *testing.T, reply []byte, auth bool) {
		d := &socks5.Dialer{Proxy: "proxy:1080", Dial: func(context.Context, string, string) (net.Conn, error) {
			c, s := net.Pipe()
			go func() {
				defer s.Close()
				go func() {
					b := make([]byte, 512)
					for {
						if _, err := s.Read(b); err != nil {
							return
						}
					}
				}()
				s.Write(reply)
			}()
			return c, nil
		}}
		if auth {
			d.Username, d.Password = "u", "p"
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if c, err := d.DialContext(ctx, "tcp", "example.onion:5223"); err == nil {
			c.Close()
		}
	})
}

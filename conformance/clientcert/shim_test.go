package clientcert

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/smpkit/smpkit/conformance"
	"github.com/smpkit/smpkit/internal/agentshim"
)

// inProcess runs agentshim.Serve in this process, over pipes: the same
// protocol as a child process without the cost of one.
func inProcess(opts agentshim.Options) Launcher {
	return func(ctx context.Context, stderr io.Writer) (*Proc, error) {
		inR, inW := io.Pipe()
		outR, outW := io.Pipe()
		done := make(chan error, 1)
		go func() {
			err := agentshim.Serve(context.Background(), inR, outW, opts)
			outW.Close()
			inR.Close()
			done <- err
		}()
		var once sync.Once
		var werr error
		return &Proc{In: inW, Out: outR, Stop: func() error {
			once.Do(func() {
				inW.Close()
				select {
				case werr = <-done:
				case <-time.After(5 * time.Second):
					werr = io.ErrNoProgress
				}
			})
			return werr
		}}, nil
	}
}

// TestReferenceShim: the reference agent passes every case.
func TestReferenceShim(t *testing.T) {
	opts := Options{Launch: inProcess(agentshim.Options{}), Wait: 5 * time.Second, ExpectFail: map[string]string{}}
	for _, c := range Catalog() {
		t.Run(c.ID, func(t *testing.T) {
			t.Parallel() // each case has its own relays, peer and shim
			res := RunCase(context.Background(), c, opts)
			if testing.Verbose() {
				for _, l := range res.Log {
					t.Log(l)
				}
			}
			switch res.Status {
			case conformance.Pass, conformance.XFail:
			case conformance.Skip:
				t.Skip(res.Detail)
			default:
				for _, l := range res.Log {
					t.Log(l)
				}
				if c.Level == conformance.MUST {
					t.Errorf("%s: %s", res.Status, res.Detail)
				} else {
					t.Logf("%s %s: %s", c.Level, res.Status, res.Detail)
				}
			}
		})
	}
}

package transport

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/smpkit/smpkit/reference/smp"
	"pgregory.net/rapid"
)

// TestConcurrentSessionsKeepTheirBlocks: sessions share the block buffer
// pool; with several encrypted sessions writing and reading at once, every
// content arrives intact and stays intact until its session's next read.
func TestConcurrentSessionsKeepTheirBlocks(t *testing.T) {
	creds := testCreds(t)
	const n = 4
	type pairS struct{ s, c *Session }
	var pairs []pairS
	for range n {
		srv, cli := smpPair(t, creds, ServerConfig{}, false, ClientConfig{})
		if srv.err != nil || cli.err != nil {
			t.Fatalf("server: %v, client: %v", srv.err, cli.err)
		}
		if !srv.s.Encrypted() {
			t.Fatal("block encryption is off")
		}
		pairs = append(pairs, pairS{srv.s, cli.s})
	}
	rapid.Check(t, func(rt *rapid.T) {
		msgs := rapid.SliceOfN(rapid.SliceOfN(rapid.Byte(), 0, pairs[0].s.MaxContent()), n, n).Draw(rt, "msgs")
		batch := rapid.SliceOfN(rapid.SliceOfN(rapid.Byte(), 1, 3000), 1, 12).Draw(rt, "batch")
		var wg sync.WaitGroup
		errs := make(chan error, 4*n)
		for i, p := range pairs {
			wg.Add(2)
			go func() {
				defer wg.Done()
				if err := p.c.WriteBlock(msgs[i]); err != nil {
					errs <- err
					return
				}
				if err := p.s.WriteTransmissions(batch); err != nil {
					errs <- err
				}
			}()
			go func() {
				defer wg.Done()
				got, err := p.s.ReadBlock()
				if err != nil {
					errs <- err
					return
				}
				var txs [][]byte
				for len(txs) < len(batch) {
					more, err := p.c.ReadTransmissions()
					if err != nil {
						errs <- err
						return
					}
					for _, tx := range more {
						txs = append(txs, bytes.Clone(tx))
					}
				}
				// got must have survived the reads of another session
				// (and the other goroutines' traffic) since.
				if !bytes.Equal(got, msgs[i]) {
					errs <- fmt.Errorf("session %d: block changed before the next read", i)
					return
				}
				for j := range batch {
					if !bytes.Equal(txs[j], batch[j]) {
						errs <- fmt.Errorf("session %d: transmission %d differs", i, j)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			rt.Fatal(err)
		}
	})
}

// TestBatchGroupsAsBatch: AppendBlockContent after a prefix frames each
// group as Batch does.
func TestBatchGroupsAsBatch(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		txs := rapid.SliceOfN(rapid.SliceOfN(rapid.Byte(), 0, 9000), 0, 300).Draw(t, "txs")
		want, werr := smp.Batch(txs)
		groups, gerr := smp.BatchGroups(txs)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("Batch: %v, BatchGroups: %v", werr, gerr)
		}
		if len(groups) != len(want) {
			t.Fatalf("%d groups, %d blocks", len(groups), len(want))
		}
		for i, g := range groups {
			c, err := smp.AppendBlockContent([]byte("xx"), g)
			if err != nil || !bytes.Equal(c[2:], want[i]) {
				t.Fatalf("group %d: %v", i, err)
			}
		}
	})
}

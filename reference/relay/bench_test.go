package relay_test

import (
	"fmt"
	"testing"

	"github.com/smpkit/smpkit/internal/relaybench"
)

// The benchmark servers run in child processes of this test binary.
func init() { relaybench.ChildMain() }

// BenchmarkCompare runs the relay, the plain TLS baseline and the protocol
// floor side by side at fsync=never and fsync=each, b.N messages each, and
// reports the ratios of issue 13 (the bench command at the repository root
// prints the full table). Run with, for example,
//
//	go test ./reference/relay -run '^$' -bench Compare -benchtime 3000x
func BenchmarkCompare(b *testing.B) {
	for _, pairs := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("pairs=%d", pairs), func(b *testing.B) {
			rep, err := relaybench.Compare(relaybench.Options{Pairs: []int{pairs}, Messages: max(b.N, pairs), Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			for _, f := range []string{"never", "each"} {
				x := rep.Get(relaybench.Relay, f, pairs)
				b.ReportMetric(x.Rate, "relay-msgs/s-"+f)
				b.ReportMetric(float64(x.P99.Microseconds())/1000, "relay-p99-ms-"+f)
				b.ReportMetric(rep.Ratio(relaybench.Relay, f, relaybench.Baseline, f, pairs), "relay/baseline-"+f)
				b.ReportMetric(rep.Ratio(relaybench.Relay, f, relaybench.Floor, f, pairs), "relay/floor-"+f)
				b.ReportMetric(rep.CPURatio(relaybench.Relay, relaybench.Floor, f, pairs), "cpu-relay/floor-"+f)
			}
			b.ReportMetric(rep.Ratio(relaybench.Relay, "each", relaybench.Relay, "never", pairs), "relay-each/never")
			x := rep.Get(relaybench.Relay, "never", pairs)
			b.ReportMetric(x.BytesPerMsg, "relay-B/msg")
			b.ReportMetric(x.AllocsPerMsg, "relay-allocs/msg")
			b.ReportMetric(x.BlocksPerMsg, "relay-blocks/msg")
		})
	}
}

// BenchmarkIdleConn compares the relay's memory per idle connection with a
// bare Go TLS connection's (b.N connections each).
func BenchmarkIdleConn(b *testing.B) {
	ir, err := relaybench.Idle(max(b.N, 10), "", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(ir.RelayPerConn, "relay-B/conn")
	b.ReportMetric(ir.TLSPerConn, "tls-B/conn")
	b.ReportMetric(ir.RelayPerConn/ir.TLSPerConn, "relay/tls")
}

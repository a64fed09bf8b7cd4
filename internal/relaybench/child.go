// Package relaybench measures the reference relay side by side with a plain
// TLS store-and-forward baseline and the protocol floor (that baseline plus
// the per-message crypto SMP mandates), in one run, so that every result can
// be reported as a ratio on a shared, noisy machine.
//
// Each server runs in a child process (the benchmark binary re-executed with
// the environment variable of ChildMain set), so that the allocation, CPU and
// memory counters it reports are the server's alone, not the load
// generator's.
package relaybench

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"syscall"
	"time"

	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/transport"
)

// envChild names the environment variable that turns the process into a
// benchmark server; its value is the JSON of a serverSpec.
const envChild = "SMPKIT_RELAYBENCH_SERVER"

// envProfile, if set, is where servers write their allocation profiles
// (suffixed with kind and fsync policy) when they stop.
const envProfile = "SMPKIT_RELAYBENCH_MEMPROFILE"

// envCPUProfile, if set, is where servers write their CPU profiles.
const envCPUProfile = "SMPKIT_RELAYBENCH_CPUPROFILE"

// envTrace, if set, is where servers write execution traces (go tool
// trace), for finding where latency goes.
const envTrace = "SMPKIT_RELAYBENCH_TRACE"

// Server kinds.
const (
	kindRelay    = "relay"    // the reference relay
	kindBaseline = "baseline" // plain TLS store-and-forward, same blocks and disk writes
	kindFloor    = "floor"    // baseline plus block encryption, MSG body encryption, signature checks
	kindBareTLS  = "tls"      // TLS handshake, then one goroutine blocked in Read
)

type serverSpec struct {
	Kind  string `json:"kind"`
	Fsync string `json:"fsync"` // each or never
	Dir   string `json:"dir"`
	// SerialCommit makes the baseline and floor fsync each record on its
	// own instead of sharing fsyncs between pending writes.
	SerialCommit bool `json:"serialCommit,omitempty"`
}

// serverHello is the child's first line on stdout.
type serverHello struct {
	Addr     string `json:"addr"`
	Identity string `json:"identity"` // relay identity (certificate hash), base64
}

// counters is what the child reports on "stats".
type counters struct {
	Mallocs    uint64 `json:"mallocs"`
	Bytes      uint64 `json:"bytes"`
	CPU        int64  `json:"cpuNs"`   // user+system time of the process
	Live       uint64 `json:"live"`    // heap in use plus stacks, after a GC
	Goroutines int    `json:"gorouts"` // goroutines at the time of the call
}

// ChildMain turns the process into a benchmark server when the environment
// says so, and never returns then. Call it first in main or in an init
// function of a test binary.
func ChildMain() {
	s := os.Getenv(envChild)
	if s == "" {
		return
	}
	var spec serverSpec
	if err := json.Unmarshal([]byte(s), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "relaybench server:", err)
		os.Exit(2)
	}
	if err := serve(spec, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "relaybench server:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// serve starts the server, prints its hello and answers "stats" lines on in
// until in ends.
func serve(spec serverSpec, in io.Reader, out io.Writer) error {
	creds, err := transport.GenerateCredentials("localhost", rand.Reader)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	sync := store.SyncNever
	if spec.Fsync == "each" {
		sync = store.SyncEachWrite
	}
	switch spec.Kind {
	case kindRelay:
		st, _, err := store.Open(spec.Dir, store.Options{Sync: sync})
		if err != nil {
			return err
		}
		defer st.Close()
		r, err := relay.New(relay.Config{Credentials: creds, Store: st, Quota: 1 << 20})
		if err != nil {
			return err
		}
		defer r.Close()
		go r.Serve(ln)
	case kindBaseline, kindFloor:
		log, err := openLog(spec.Dir, sync == store.SyncEachWrite, !spec.SerialCommit)
		if err != nil {
			return err
		}
		defer log.close()
		srv := newPlainServer(log, spec.Kind == kindFloor)
		go srv.serve(tls.NewListener(ln, plainTLSConfig(creds)))
	case kindBareTLS:
		go serveBareTLS(tls.NewListener(ln, plainTLSConfig(creds)))
	default:
		return fmt.Errorf("unknown server kind %q", spec.Kind)
	}
	if p := os.Getenv(envCPUProfile); p != "" {
		f, err := os.Create(fmt.Sprintf("%s.%s-%s", p, spec.Kind, spec.Fsync))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if p := os.Getenv(envTrace); p != "" {
		f, err := os.Create(fmt.Sprintf("%s.%s-%s", p, spec.Kind, spec.Fsync))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			return err
		}
		defer trace.Stop()
	}
	hello, _ := json.Marshal(serverHello{Addr: ln.Addr().String(), Identity: base64.StdEncoding.EncodeToString(creds.Identity())})
	if _, err := fmt.Fprintf(out, "%s\n", hello); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		b, _ := json.Marshal(readCounters(sc.Text() == "live"))
		if _, err := fmt.Fprintf(out, "%s\n", b); err != nil {
			return err
		}
	}
	if p := os.Getenv(envProfile); p != "" {
		// For finding allocations: go tool pprof -sample_index=alloc_space.
		f, err := os.Create(fmt.Sprintf("%s.%s-%s", p, spec.Kind, spec.Fsync))
		if err != nil {
			return err
		}
		defer f.Close()
		return pprof.Lookup("allocs").WriteTo(f, 0)
	}
	return nil
}

func readCounters(live bool) counters {
	var c counters
	if live {
		runtime.GC()
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	c.Mallocs, c.Bytes = ms.Mallocs, ms.TotalAlloc
	c.Live = ms.HeapAlloc + ms.StackInuse
	c.Goroutines = runtime.NumGoroutine()
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Nanoseconds()
	}
	return c
}

// plainTLSConfig is the relay's own TLS configuration, so that every
// system negotiates the same protocol version, cipher suite and key
// exchange.
func plainTLSConfig(creds *transport.Credentials) *tls.Config {
	return transport.ServerTLSConfig(creds)
}

// serveBareTLS is the reference point for idle-connection memory: a Go TLS
// connection that has carried one 16 KiB block each way (as the SMP
// handshake does), with one goroutine waiting to read.
func serveBareTLS(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			b := make([]byte, smp.BlockSize)
			if _, err := c.Write(b); err != nil {
				return
			}
			if _, err := io.ReadFull(c, b); err != nil {
				return
			}
			b = nil
			var one [1]byte
			for {
				if _, err := c.Read(one[:]); err != nil {
					return
				}
			}
		}()
	}
}

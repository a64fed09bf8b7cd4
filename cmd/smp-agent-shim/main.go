// Command smp-agent-shim wraps the reference agent (reference/agent) in
// the client driver protocol (spec/driver.md), so that
// `smp-conform client -- smp-agent-shim` certifies it. It reads commands
// on standard input and writes replies and events on standard output.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/smpkit/smpkit/internal/agentshim"
	"github.com/smpkit/smpkit/internal/buildinfo"
)

func main() {
	fs := pflag.NewFlagSet("smp-agent-shim", pflag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: smp-agent-shim\n\nSpeaks the client driver protocol (spec/driver.md) on stdin/stdout over the reference agent.\n\n")
		fs.PrintDefaults()
	}
	version := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == pflag.ErrHelp {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "smp-agent-shim:", err)
		os.Exit(2)
	}
	if *version {
		fmt.Println(buildinfo.Line("smp-agent-shim"))
		return
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "smp-agent-shim: unexpected argument %q\n", fs.Arg(0))
		os.Exit(2)
	}
	if err := agentshim.Serve(context.Background(), os.Stdin, os.Stdout, agentshim.Options{Name: buildinfo.Line("smp-agent-shim")}); err != nil {
		fmt.Fprintln(os.Stderr, "smp-agent-shim:", err)
		os.Exit(1)
	}
}

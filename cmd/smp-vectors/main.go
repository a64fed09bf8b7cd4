// Command smp-vectors generates and verifies smpkit's test vectors.
//
//	smp-vectors generate [--dir vectors]   write every vector file from fixed seeds
//	smp-vectors verify   [--dir vectors]   check every file against the reference code
//	smp-vectors list                       print the topics
package main

import (
	"fmt"
	"os"

	"github.com/smpkit/smpkit/internal/buildinfo"
	"github.com/smpkit/smpkit/vectors"
	flag "github.com/spf13/pflag"
)

const usage = `smp-vectors: generate and verify smpkit's SMP test vectors

Usage:
  smp-vectors generate [--dir DIR]   write every vector file from fixed seeds
  smp-vectors verify   [--dir DIR]   check every vector file against the reference code;
                                     also reports files that regeneration would change
  smp-vectors list                   print the vector files this build knows
  smp-vectors --version              print the version

Flags:
`

func main() {
	fs := flag.NewFlagSet("smp-vectors", flag.ContinueOnError)
	dir := fs.String("dir", "vectors", "directory holding the vector files")
	version := fs.Bool("version", false, "print the version and exit")
	fs.SetOutput(os.Stderr)
	fs.Usage = func() {
		fmt.Fprint(os.Stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "smp-vectors: %v (see smp-vectors --help)\n", err)
		os.Exit(2)
	}
	if *version {
		fmt.Println(buildinfo.Line("smp-vectors"))
		return
	}
	if fs.NArg() != 1 {
		fs.Usage()
		os.Exit(2)
	}
	switch fs.Arg(0) {
	case "generate":
		if err := vectors.GenerateAll(*dir); err != nil {
			fmt.Fprintln(os.Stderr, "smp-vectors:", err)
			os.Exit(1)
		}
		fmt.Printf("wrote %d vector files under %s\n", len(vectors.Topics()), *dir)
	case "verify":
		failed := false
		if err := vectors.VerifyAll(*dir); err != nil {
			fmt.Fprintln(os.Stderr, "smp-vectors: verify failed:\n", err)
			failed = true
		}
		stale, err := vectors.Stale(*dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "smp-vectors:", err)
			os.Exit(1)
		}
		for _, p := range stale {
			fmt.Fprintf(os.Stderr, "smp-vectors: %s differs from what generate writes\n", p)
			failed = true
		}
		if failed {
			os.Exit(1)
		}
		fmt.Printf("verified %d vector files under %s\n", len(vectors.Topics()), *dir)
	case "list":
		for _, t := range vectors.Topics() {
			fmt.Println(t.Path)
		}
	default:
		fmt.Fprintf(os.Stderr, "smp-vectors: unknown command %q\n\n", fs.Arg(0))
		fs.Usage()
		os.Exit(2)
	}
}

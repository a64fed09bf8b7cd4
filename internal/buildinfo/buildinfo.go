// Package buildinfo reports the version of the running binary, for the
// --version flag every command offers.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is the module version the binary was built from ("(devel)" for a
// build from a checkout), followed by the VCS revision when the build
// recorded one.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
			if len(rev) > 12 {
				rev = rev[:12]
			}
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" {
		v += " " + rev + dirty
	}
	return v
}

// Line is the text --version prints: the program name, its version and the
// Go toolchain that built it.
func Line(prog string) string {
	return fmt.Sprintf("%s %s (%s)", prog, Version(), runtime.Version())
}

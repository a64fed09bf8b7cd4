package main

import (
	"testing"

	"github.com/smpkit/smpkit/internal/maintest"
)

func TestMain(m *testing.M) { maintest.TestMain(m, main) }

// TestVersion: --version prints the build line and exits 0.
func TestVersion(t *testing.T) { maintest.Version(t, "smp-agent-shim") }

// TestFlagError: an unknown flag is printed, with the program's name, and
// exits 2.
func TestFlagError(t *testing.T) { maintest.FlagError(t, "smp-agent-shim") }

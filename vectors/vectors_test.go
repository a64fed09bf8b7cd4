package vectors

import (
	"os"
	"path/filepath"
	"testing"
)

// TestVectorsVerify checks every committed file against the reference code.
func TestVectorsVerify(t *testing.T) {
	for _, tp := range Topics() {
		t.Run(tp.Path, func(t *testing.T) {
			b, err := os.ReadFile(filepath.FromSlash(tp.Path))
			if err != nil {
				t.Fatal(err)
			}
			if err := tp.Verify(b); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestVectorsUpToDate fails when regenerating would change a committed file.
func TestVectorsUpToDate(t *testing.T) {
	stale, err := Stale(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range stale {
		t.Errorf("%s differs from what smp-vectors generates: run `go run ./cmd/smp-vectors generate`", p)
	}
}

package vectors

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smpkit/smpkit/spec"
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

// TestSpecReferences checks that every case's spec field names a
// requirement of spec/smp.md (or a section, for the few cases that cite one).
func TestSpecReferences(t *testing.T) {
	known := map[string]bool{}
	for _, r := range append(append(spec.Requirements(), spec.GraphChatRequirements()...), spec.ChatRequirements()...) {
		known[r.ID] = true
	}
	for _, tp := range Topics() {
		b, err := os.ReadFile(filepath.FromSlash(tp.Path))
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Cases []struct {
				ID   string `json:"id"`
				Spec string `json:"spec"`
			} `json:"cases"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		for _, c := range f.Cases {
			if !known[c.Spec] && !strings.HasPrefix(c.Spec, "spec/smp.md §") && !strings.HasPrefix(c.Spec, "spec/graph-chat.md §") && !strings.HasPrefix(c.Spec, "spec/chat.md §") {
				t.Errorf("%s case %s cites %q, which spec/smp.md does not define", tp.Path, c.ID, c.Spec)
			}
		}
	}
}

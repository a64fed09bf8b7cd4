package clientcert

import (
	"os"
	"regexp"
	"testing"
)

// TestCoverageIsComplete: every client MUST is cited by a case, checked
// indirectly, or listed with a reason; every cited id exists in a spec.
func TestCoverageIsComplete(t *testing.T) {
	var text []byte
	for _, f := range []string{"../../spec/smp.md", "../../spec/graph-chat.md", "../../spec/driver.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text = append(text, b...)
	}
	for _, o := range Coverage() {
		if !regexp.MustCompile(`\*\*` + regexp.QuoteMeta(o.ID) + `\*\*`).Match(text) {
			t.Errorf("%s is not defined in spec/", o.ID)
		}
		if len(o.Cases) == 0 && o.Note == "" {
			t.Errorf("%s: no case and no reason", o.ID)
		}
	}
	cited := map[string]bool{}
	for _, c := range Catalog() {
		for _, s := range c.Spec {
			cited[s] = true
		}
	}
	for id := range notChecked {
		if _, ok := indirect[id]; ok {
			t.Errorf("%s is both unchecked and indirect", id)
		}
		if cited[id] {
			t.Errorf("%s is listed as unchecked, yet a case cites it", id)
		}
	}
}

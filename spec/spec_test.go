package spec

import (
	"regexp"
	"testing"
)

// Every id defined in the text is in the index and the reverse.
func TestIndexMatchesDefinitions(t *testing.T) {
	t.Run("smp", func(t *testing.T) { checkIndex(t, SMP, Requirements(), `SMP-[A-Z]+(?:-[A-Z]+)*-[0-9]+`) })
	t.Run("graph-chat", func(t *testing.T) {
		checkIndex(t, GraphChat, GraphChatRequirements(), `GC-[A-Z0-9]+(?:-[A-Z]+)*-[0-9]+`)
	})
	t.Run("chat", func(t *testing.T) { checkIndex(t, Chat, ChatRequirements(), `CH-[A-Z]+(?:-[A-Z]+)*-[0-9]+`) })
}

func checkIndex(t *testing.T, doc string, reqs []Requirement, idPattern string) {
	defined := map[string]bool{}
	for _, m := range defn.FindAllStringSubmatch(doc, -1) {
		if defined[m[1]] {
			t.Errorf("%s defined twice", m[1])
		}
		defined[m[1]] = true
	}
	indexed := map[string]bool{}
	for _, r := range reqs {
		indexed[r.ID] = true
		if !defined[r.ID] {
			t.Errorf("%s indexed but not defined", r.ID)
		}
		if r.Level == "" {
			t.Errorf("%s has no level", r.ID)
		}
	}
	for id := range defined {
		if !indexed[id] {
			t.Errorf("%s defined but not in the index", id)
		}
	}
	cited := regexp.MustCompile(idPattern)
	for _, id := range cited.FindAllString(doc, -1) {
		if !defined[id] {
			t.Errorf("%s cited but never defined", id)
		}
	}
}

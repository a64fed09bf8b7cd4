package relay

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// ini is a parsed smp-server.ini: section → key → value, with the line of
// each key for messages.
type ini struct {
	values map[string]map[string]string
	lines  map[string]int // "SECTION.key" → line number
	order  []string       // "SECTION.key" in file order
}

// parseINI reads the INI dialect upstream's smp-server reads (the Haskell
// ini-0.4.1 package): [SECTION] headers, whole-line comments starting with
// '#' or ';', and keys separated from values by the first '=' or ':' — so
// both "port = 5223" (what upstream's init writes) and "port: 5223" load.
// Keys and values are trimmed. Unlike upstream, a key before any section
// and a repeated key are errors rather than ignored.
func parseINI(r io.Reader) (*ini, error) {
	out := &ini{values: map[string]map[string]string{}, lines: map[string]int{}}
	sec := ""
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: unterminated section header %q", n, line)
			}
			sec = strings.TrimSpace(line[1 : len(line)-1])
			if sec == "" {
				return nil, fmt.Errorf("line %d: empty section name", n)
			}
			if out.values[sec] == nil {
				out.values[sec] = map[string]string{}
			}
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			return nil, fmt.Errorf("line %d: want key = value (or key: value), got %q", n, line)
		}
		k, v := strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+1:])
		if k == "" {
			return nil, fmt.Errorf("line %d: no key before %q", n, line[i:i+1])
		}
		if sec == "" {
			return nil, fmt.Errorf("line %d: key %q outside a section", n, k)
		}
		id := sec + "." + k
		if prev, dup := out.lines[id]; dup {
			return nil, fmt.Errorf("line %d: [%s] %s is already set on line %d", n, sec, k, prev)
		}
		out.values[sec][k] = v
		out.lines[id] = n
		out.order = append(out.order, id)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func (f *ini) get(sec, key string) (string, bool) {
	v, ok := f.values[sec][key]
	return v, ok
}

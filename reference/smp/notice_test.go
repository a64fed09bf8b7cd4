package smp

import "testing"

// TestParseClientNotice: the notice JSON is read as upstream's derived
// FromJSON ClientNotice (aeson, defaultJSON) reads it (SMP-NOTICE-1).
func TestParseClientNotice(t *testing.T) {
	ttl := func(n int64) *int64 { return &n }
	for _, c := range []struct {
		in   string
		ok   bool
		want *int64
	}{
		{`{}`, true, nil},
		{`{"ttl":null}`, true, nil},
		{`{"ttl":3600}`, true, ttl(3600)},
		{` {"ttl": -5} `, true, ttl(-5)},
		{`{"ttl":3.6e3}`, true, ttl(3600)}, // aeson: an integral Scientific
		{`{"ttl":100e-2}`, true, ttl(1)},
		{`{"ttl":9223372036854775807}`, true, ttl(9223372036854775807)},
		{`{"other":1}`, true, nil},
		{`{"TTL":1}`, true, nil}, // keys match exactly: an unknown key
		{`{"ttl":1.5}`, false, nil},
		{`{"ttl":9223372036854775808}`, false, nil},
		{`{"ttl":1e1000000000}`, false, nil},
		{`{"ttl":"1"}`, false, nil},
		{`{"ttl":true}`, false, nil},
		{`null`, false, nil},
		{`[]`, false, nil},
		{`{}x`, false, nil},
		{`{}}`, false, nil},
		{``, false, nil},
	} {
		n, err := ParseClientNotice([]byte(c.in))
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v, want ok=%v", c.in, err, c.ok)
			continue
		}
		if err != nil {
			continue
		}
		if (n.TTL == nil) != (c.want == nil) || n.TTL != nil && *n.TTL != *c.want {
			t.Errorf("%s: ttl %v, want %v", c.in, n.TTL, c.want)
		}
	}
}

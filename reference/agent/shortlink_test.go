package agent

import "testing"

// Literals from upstream's tests/AgentTests/ConnectionRequestTests.hs; the
// values they parse to are checked in vectors/graph-chat/upstream-literals.json.
func TestShortLinkRoundTrip(t *testing.T) {
	for _, s := range []string{
		"https://smp.simplex.im/a#MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY?h=jjbyvoemxysm7qxap7m5d5m35jzv5qq6gnlv7s4rsn7tdwwmuqciwpid.onion&p=5223&c=1234-w",
		"simplex:/i#MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3/MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY?h=smp.simplex.im",
		"https://localhost/i#tnUaHYp8saREmyEHR93SBpl8ySHBchOt/LJ1ZQUzxH9Udb0jw5wmJACv5o6oe8e7BsX_hUCUMTSY",
	} {
		l, err := ParseShortLink(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if l.String() != s {
			t.Fatalf("%s printed as %s", s, l.String())
		}
	}
	for _, s := range []string{"simplex:/a#MDEy", "https://h/x#MDEy", "simplex:/I#MDEy/MDEy?h=a", "simplex:/i#MDEy?h=a", "ftp://h/a#MDEy"} {
		if l, err := ParseShortLink(s); err == nil {
			t.Fatalf("%s parsed: %+v", s, l)
		}
	}
}

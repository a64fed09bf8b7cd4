package conformance

import (
	"bytes"
	"strings"
	"testing"
)

// JUnit agrees with the exit status: a SHOULD or robustness failure does
// not fail the run, so it is a skipped test with its message; the text
// summary names it.
func TestReportsAgreeWithVerdict(t *testing.T) {
	rep := &Report{Target: "t", Results: []Result{
		{ID: "A", Group: "g", Level: MUST, Status: Pass},
		{ID: "B", Group: "g", Level: SHOULD, Status: Fail, Detail: "slow"},
		{ID: "C", Group: "g", Level: Robustness, Status: Fail, Detail: "died"},
	}}
	if !rep.Passed() {
		t.Fatal("SHOULD failures fail the run")
	}
	var x, txt bytes.Buffer
	if err := rep.WriteJUnit(&x); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(x.Bytes(), []byte("<failure")) || !bytes.Contains(x.Bytes(), []byte("SHOULD failure (does not fail the run): slow")) {
		t.Errorf("JUnit:\n%s", x.String())
	}
	rep.WriteText(&txt)
	if !strings.Contains(txt.String(), "2 SHOULD/robustness failure(s), which do not fail the run: B C") {
		t.Errorf("summary:\n%s", txt.String())
	}
	rep.Results[0].Status = Fail
	x.Reset()
	rep.WriteJUnit(&x)
	if !bytes.Contains(x.Bytes(), []byte(`failures="1"`)) {
		t.Errorf("MUST failure not a JUnit failure:\n%s", x.String())
	}
}

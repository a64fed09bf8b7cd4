package smp

import "testing"

func TestQueueURIExample(t *testing.T) {
	const ex = "smp://LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI=@smp.example.com/c2m-H_GM-dlLXtsuW4XELVccECpJYx76#/?v=1-4&dh=MCowBQYDK2VuAyEASi07deOZw0MBSLMz1H5bJzC8VUGO5nC7pwbM6RCkKUU%3D&q=c"
	q, err := ParseQueueURI(ex)
	if err != nil {
		t.Fatal(err)
	}
	if got := q.String(); got != ex {
		t.Fatalf("round trip:\n got %s\nwant %s", got, ex)
	}
}

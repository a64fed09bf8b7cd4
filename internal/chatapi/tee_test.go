package chatapi

import (
	"strconv"
	"testing"

	"github.com/smpkit/smpkit/internal/chatcmd"
)

func TestTee(t *testing.T) {
	in := make(chan chatcmd.Response)
	outs := Tee(in, 2)
	go func() {
		for i := range 100 {
			in <- chatcmd.Response{Type: strconv.Itoa(i)}
		}
		close(in)
	}()
	done := make(chan []string, 2)
	for _, o := range outs {
		go func() {
			var got []string
			for r := range o {
				got = append(got, r.Type)
			}
			done <- got
		}()
	}
	for range outs {
		got := <-done
		if len(got) != 100 || got[0] != "0" || got[99] != "99" {
			t.Fatalf("got %d events: %v...", len(got), got[:min(3, len(got))])
		}
	}
}

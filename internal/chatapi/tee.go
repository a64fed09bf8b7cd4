package chatapi

import "github.com/smpkit/smpkit/internal/chatcmd"

// Tee gives n channels that each get every Response of in, in order, for
// a session whose events both the terminal and the API show. It waits for
// each reader in turn, so every one must keep reading: a Server's Run does
// (it never waits for its clients). All the channels close when in does.
func Tee(in <-chan chatcmd.Response, n int) []<-chan chatcmd.Response {
	outs := make([]chan chatcmd.Response, n)
	ro := make([]<-chan chatcmd.Response, n)
	for i := range outs {
		outs[i] = make(chan chatcmd.Response, 16)
		ro[i] = outs[i]
	}
	go func() {
		defer func() {
			for _, o := range outs {
				close(o)
			}
		}()
		for r := range in {
			for _, o := range outs {
				o <- r
			}
		}
	}()
	return ro
}

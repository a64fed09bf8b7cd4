//go:build !chatsec && !chatgroups && !chatusers

package main

import "testing"

// Commands whose library calls are still being built answer one line
// (internal/chatcmd/pending_*.go).
func TestNotSupportedYet(t *testing.T) {
	srv := startRelay(t)
	alice := startChat(t, "alice", t.TempDir(), srv)
	for cmd, want := range map[string]string{
		"/feed hello":         "/feed (broadcasts): not supported yet",
		"/code @bob":          "/code (security codes): not supported yet",
		"/switch @bob":        "/switch (queue rotation): not supported yet",
		"/mr team bob member": "/mr (member roles): not supported yet",
		"/create link #team":  "group links: not supported yet",
		"/hide user secret":   "/hide user: not supported yet",
	} {
		alice.send(cmd)
		alice.expect(want)
	}
}

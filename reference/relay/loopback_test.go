package relay_test

import (
	"context"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/relay"
)

func TestLoopbackCloseWithClients(t *testing.T) {
	l, err := relay.StartLoopback(relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cl, err := client.Dial(ctx, l.Server, client.Config{PingInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	done := make(chan error)
	go func() { done <- l.Close() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close with a connected client did not return")
	}
	select {
	case <-cl.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("client not disconnected")
	}
}

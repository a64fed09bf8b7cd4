package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/smpkit/smpkit/internal/chatapi"
	"github.com/smpkit/smpkit/internal/chatcmd"
)

// serveAPI serves the bot API (docs/chat-api.md) over the session on
// loopback port o.apiPort until stop is called, and returns the events
// left for the terminal: both get every event. With no --api-port it
// returns the session's events as they are.
func serveAPI(ctx context.Context, o options, sess chatcmd.Session, log *slog.Logger, out *console) (events <-chan chatcmd.Response, stop func(), err error) {
	if o.apiPort == 0 {
		return sess.Events(), func() {}, nil
	}
	ln, err := chatapi.Listen(o.apiPort)
	if err != nil {
		return nil, nil, fmt.Errorf("--api-port %d: %w", o.apiPort, err)
	}
	evs := chatapi.Tee(sess.Events(), 2)
	srv := chatapi.New(sess, chatapi.Config{Events: evs[1], Logger: log})
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ctx, ln)
	}()
	out.line("bot API on ws://%s (no authentication: loopback only; see docs/chat-api.md)", ln.Addr())
	stop = func() {
		cancel()
		<-done
		go func() { // the terminal's copy must not wait for the API's
			for range evs[1] {
			}
		}()
	}
	return evs[0], stop, nil
}

// logger is where the API's clients coming, going and falling behind are
// logged: the profile's log file (or stderr with SMP_CHAT_LOG=stderr).
func (p *profile) logger() *slog.Logger {
	if p.log != nil {
		return slog.New(slog.NewTextHandler(p.log, nil))
	}
	if os.Getenv("SMP_CHAT_LOG") == "stderr" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return nil
}

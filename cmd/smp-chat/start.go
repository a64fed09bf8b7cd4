package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/smpkit/smpkit/reference/client"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/transport"
	"golang.org/x/term"
)

// passphrase is the database passphrase: $SMP_CHAT_PASSPHRASE, the first
// line of --passphrase-file, or asked (without echo on a terminal; twice
// for a new database).
func passphrase(ctx context.Context, o options, tty bool, in *lineReader, out *console, fresh bool) (string, error) {
	if p := os.Getenv("SMP_CHAT_PASSPHRASE"); p != "" {
		return p, nil
	}
	if o.passphraseFile != "" {
		b, err := os.ReadFile(o.passphraseFile)
		if err != nil {
			return "", fmt.Errorf("passphrase file: %w", err)
		}
		p, _, _ := strings.Cut(string(b), "\n")
		p = strings.TrimRight(p, "\r")
		if p == "" {
			return "", fmt.Errorf("passphrase file %s: the first line is empty", o.passphraseFile)
		}
		return p, nil
	}
	ask := func(prompt string) (string, error) {
		if tty {
			fmt.Fprint(os.Stdout, prompt)
			b, err := term.ReadPassword(int(os.Stdin.Fd()))
			fmt.Fprintln(os.Stdout)
			if err != nil {
				return "", fmt.Errorf("passphrase: %w", err)
			}
			return string(b), nil
		}
		out.line("%s", strings.TrimSpace(prompt))
		l, ok := in.next(ctx)
		if !ok {
			return "", errors.New("passphrase: no input")
		}
		return l, nil
	}
	if fresh {
		out.line("A new encrypted database will be created in %s.", o.dir)
	}
	p, err := ask("passphrase: ")
	if err != nil {
		return "", err
	}
	if p == "" {
		return "", errors.New("the passphrase is empty")
	}
	if fresh && tty {
		again, err := ask("repeat passphrase: ")
		if err != nil {
			return "", err
		}
		if again != p {
			return "", errors.New("the passphrases differ")
		}
	}
	return p, nil
}

// embeddedRelay is a reference relay on loopback whose identity, port and
// queues live in dir, so contacts made through it keep working after a
// restart.
type embeddedRelay struct {
	log    *lazyFile
	r      *relay.Relay
	st     *store.Store
	server smp.Server
	done   chan error
}

func startEmbeddedRelay(dir string) (*embeddedRelay, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	creds, err := transport.LoadCredentials(dir)
	if err != nil {
		if creds, err = transport.GenerateCredentials("localhost", rand.Reader); err != nil {
			return nil, err
		}
		if err := creds.Save(dir); err != nil {
			return nil, err
		}
	}
	st, _, err := store.Open(filepath.Join(dir, "store"), store.Options{})
	if err != nil {
		return nil, fmt.Errorf("embedded relay store: %w", err)
	}
	// The relay's log goes beside its store, not between the chat lines.
	logf := &lazyFile{path: filepath.Join(dir, "relay.log")}
	r, err := relay.New(relay.Config{Credentials: creds, Store: st, Proxy: &relay.ProxyConfig{AllowPrivate: true},
		Logger: slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		st.Close()
		return nil, err
	}
	// The same port as last time, so our queue addresses stay valid.
	portFile := filepath.Join(dir, "port")
	addr := "127.0.0.1:0"
	if b, err := os.ReadFile(portFile); err == nil {
		addr = "127.0.0.1:" + strings.TrimSpace(string(b))
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		r.Close()
		st.Close()
		return nil, fmt.Errorf("embedded relay: %w", err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if err := os.WriteFile(portFile, []byte(port+"\n"), 0o600); err != nil {
		ln.Close()
		r.Close()
		st.Close()
		return nil, err
	}
	e := &embeddedRelay{log: logf, r: r, st: st, done: make(chan error, 1),
		server: smp.Server{Hosts: []string{"127.0.0.1"}, Port: port, KeyHash: creds.Identity()}}
	go func() { e.done <- r.Serve(ln) }()
	return e, nil
}

func (e *embeddedRelay) Close() {
	e.r.Close()
	<-e.done
	e.st.Close()
	e.log.Close()
}

// serversFile keeps the relays /smp sets.
func serversFile(dir string) string { return filepath.Join(dir, "servers.txt") }

func loadServers(dir string) []string {
	b, err := os.ReadFile(serversFile(dir))
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func saveServers(dir string, servers []string) error {
	for _, s := range servers {
		if _, err := smp.ParseServer(s); err != nil {
			return fmt.Errorf("relay %q: %w", s, err)
		}
	}
	if len(servers) == 0 {
		err := os.Remove(serversFile(dir))
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	return os.WriteFile(serversFile(dir), []byte(strings.Join(servers, "\n")+"\n"), 0o600)
}

// testServer connects to a relay and runs the SMP handshake.
func testServer(ctx context.Context, text string) error {
	srv, err := smp.ParseServer(strings.TrimSpace(text))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, srv, client.Config{})
	if err != nil {
		return err
	}
	return c.Close()
}

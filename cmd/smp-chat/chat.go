package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/smpkit/smpkit/internal/buildinfo"
	"github.com/smpkit/smpkit/internal/chatcmd"
	"github.com/smpkit/smpkit/internal/qr"
	"github.com/smpkit/smpkit/reference/chat"
	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
	"github.com/smpkit/smpkit/reference/smp"
	"golang.org/x/term"
)

// profile is one running chat client: its database, relay and session.
type profile struct {
	client *chat.Client
	sess   *chatcmd.Engine
	relay  *embeddedRelay
	log    *lazyFile
}

// lazyFile is a log file made at its first line, so a start that fails
// (a wrong passphrase) leaves nothing behind.
type lazyFile struct {
	mu   sync.Mutex
	path string
	f    *os.File
	err  error
}

func (l *lazyFile) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil && l.err == nil {
		l.f, l.err = os.OpenFile(l.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	}
	if l.err != nil {
		return len(b), nil // logging never stops the chat
	}
	return l.f.Write(b)
}

func (l *lazyFile) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
	}
}

func (p *profile) Close() {
	if p.sess != nil {
		p.sess.Close()
	}
	if p.client != nil {
		p.client.Close()
	}
	if p.relay != nil {
		p.relay.Close()
	}
	if p.log != nil {
		p.log.Close()
	}
}

func isTTY(in io.Reader) bool {
	f, ok := in.(*os.File)
	return ok && f == os.Stdin && term.IsTerminal(int(f.Fd()))
}

// openProfile opens (or creates) the database in dir with its relays.
// relay, when not nil, is shared (the demo's); otherwise the relays are
// servers, those saved by /smp, or an embedded relay.
func openProfile(ctx context.Context, o options, dir, pass string, shared *embeddedRelay, out *console) (*profile, []string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	p := &profile{}
	servers := o.servers
	if len(servers) == 0 {
		servers = loadServers(dir)
	}
	var relaySrv smp.Server
	switch {
	case shared != nil:
		relaySrv = shared.server
		servers = []string{shared.server.String()}
	case len(servers) > 0:
		for i, s := range servers {
			srv, err := smp.ParseServer(s)
			if err != nil {
				return nil, nil, usageError{fmt.Errorf("--server %q: %w", s, err)}
			}
			if i == 0 {
				relaySrv = srv
			}
		}
		if len(servers) > 1 {
			out.line("new queues are made on the first relay, %s", servers[0])
		}
	default:
		r, err := startEmbeddedRelay(filepath.Join(dir, "relay"))
		if err != nil {
			return nil, nil, err
		}
		p.relay = r
		relaySrv = r.server
		servers = []string{r.server.String()}
		out.line("no --server given: started an embedded relay on loopback, %s", r.server)
		out.line("(it runs while smp-chat runs; contacts on other machines need a relay they can reach: use --server)")
	}
	// What fails in the background goes to a log file beside the
	// database, not between the chat lines (SMP_CHAT_LOG=stderr to watch).
	cfg := chat.Config{Dir: dir, Passphrase: pass, Relay: relaySrv}
	if os.Getenv("SMP_CHAT_LOG") == "stderr" {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	} else {
		p.log = &lazyFile{path: filepath.Join(dir, "smp-chat.log")}
		cfg.Log = slog.New(slog.NewTextHandler(p.log, nil))
	}
	if o.fastKDF {
		cfg.DBOptions = &db.Options{KDF: db.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}}
	}
	c, err := chat.Open(ctx, cfg)
	if err != nil {
		p.Close()
		if errors.Is(err, db.ErrWrongPassphrase) {
			return nil, nil, errors.New("wrong passphrase: the database in " + dir + " was not opened (nothing was changed)")
		}
		return nil, nil, fmt.Errorf("open the database in %s: %w", dir, err)
	}
	p.client = c
	return p, servers, nil
}

func dbExists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "chat.db"))
	return err == nil
}

// ensureUser makes the first profile when there is none.
func ensureUser(ctx context.Context, c *chat.Client, name string, in *lineReader, out *console) error {
	us, err := c.Users(ctx)
	if err != nil {
		return err
	}
	if len(us) > 0 {
		return nil
	}
	for {
		if name == "" {
			out.line("No user profiles found, it will be created now.")
			out.line("Please choose your display name; it is sent to your contacts when you connect.")
			out.line("display name:")
			l, ok := in.next(ctx)
			if !ok {
				return errors.New("no display name given")
			}
			name = strings.TrimSpace(l)
			if name == "" {
				continue
			}
		}
		_, err := c.CreateUser(ctx, chatmsg.Profile{DisplayName: name})
		if err == nil {
			return nil
		}
		out.line("invalid display name: %s", err)
		name = ""
	}
}

func (p *profile) start(o options, dir string, servers []string) {
	p.sess = chatcmd.New(p.client, chatcmd.Options{
		Servers:     servers,
		SaveServers: func(s []string) error { return saveServers(dir, s) },
		TestServer:  testServer,
		Version:     buildinfo.Line("smp-chat"),
	})
}

// linkOf is the link an answer carries, to show as a QR code.
func linkOf(r chatcmd.Response) string {
	switch r.Type {
	case "invitation":
		s, _ := r.Fields["connLinkInvitation"].(string)
		return s
	case "userContactLinkCreated":
		s, _ := r.Fields["connLinkContact"].(string)
		return s
	case "userContactLink":
		if a, ok := r.Fields["contactLink"].(chat.Address); ok {
			return a.Link
		}
	case "groupLinkCreated", "groupLink":
		s, _ := r.Fields["connLinkContact"].(string)
		return s
	}
	return ""
}

// show prints an answer or event, with the QR code of its link, in one
// piece (an event does not come between a link and its code).
func show(o options, out *console, prefix string, r chatcmd.Response) {
	ls := r.Lines
	if link := linkOf(r); link != "" {
		ls = append([]string(nil), ls...)
		if !o.noQR {
			if q, err := qr.Terminal(link); err == nil {
				ls = append(ls, q...)
			}
		}
		if o.qrPNG != "" {
			if err := qr.WritePNG(o.qrPNG, link); err != nil {
				ls = append(ls, "cannot save the QR code: "+err.Error())
			} else {
				ls = append(ls, "QR code saved to "+o.qrPNG)
			}
		}
	}
	out.lines(prefix, ls)
}

func runChat(ctx context.Context, o options, stdin io.Reader, out *console) error {
	tty := isTTY(stdin)
	var in *lineReader
	fresh := !dbExists(o.dir)
	if !tty {
		in = newLineReader(stdin)
	}
	pass, err := passphrase(ctx, o, tty, in, out, fresh)
	if err != nil {
		return err
	}
	if in == nil {
		in = newLineReader(stdin)
	}
	p, servers, err := openProfile(ctx, o, o.dir, pass, nil, out)
	if err != nil {
		return err
	}
	defer p.Close()
	if o.migrate != "" {
		if err := importProfile(ctx, o, p.client, out); err != nil {
			return err
		}
	}
	if err := ensureUser(ctx, p.client, o.name, in, out); err != nil {
		return err
	}
	movedNotice(ctx, p.client, out)
	p.start(o, o.dir, servers)
	for _, r := range p.sess.Exec(ctx, "/user") {
		show(o, out, "", r)
	}
	events, stopAPI, err := serveAPI(ctx, o, p.sess, p.logger(), out)
	if err != nil {
		return err
	}
	defer stopAPI()
	out.line("type /help for the commands, /q to quit")
	go func() {
		for r := range events {
			show(o, out, "", r)
		}
	}()
	for {
		l, ok := in.next(ctx)
		if !ok {
			return in.err
		}
		if strings.TrimSpace(l) == "" {
			continue
		}
		if chatcmd.IsQuit(l) {
			return nil
		}
		if name, ok := takeBackCommand(l); ok {
			if err := takeBack(ctx, p.client, name, out); err != nil {
				out.line("error: %v", err)
			}
			continue
		}
		if file, ok := migrateCommand(l); ok {
			if err := exportProfile(ctx, o, p.client, file, out); err != nil {
				out.line("error: %v", err)
				continue
			}
			return nil
		}
		for _, r := range execLine(ctx, p.sess, l) {
			show(o, out, "", r)
		}
	}
}

// commandTimeout bounds one command, so an unreachable relay gives an
// error line instead of a terminal that hangs.
const commandTimeout = 2 * time.Minute

func execLine(ctx context.Context, s chatcmd.Session, line string) []chatcmd.Response {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	return s.Exec(ctx, line)
}

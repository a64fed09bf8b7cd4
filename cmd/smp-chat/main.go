// Command smp-chat is smpkit's reference chat client for the terminal:
// upstream's command language (/c, @bob hi, /g team, ...) and output lines
// over reference/chat, QR codes for links, and an encrypted profile.
//
//	smp-chat                      ask for a name and a passphrase, start chatting
//	smp-chat --server smp://...   use these relays instead of an embedded one
//	smp-chat --demo               two users side by side in one terminal
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/smpkit/smpkit/internal/buildinfo"
	flag "github.com/spf13/pflag"
)

const usage = `smp-chat: smpkit's reference chat client for the terminal

Usage:
  smp-chat [flags]

With no flags on a fresh machine it asks for a display name and a
passphrase, creates the encrypted database in the data directory and, with
no --server, starts an embedded relay on loopback. Type /help once running.

  smp-chat --api-port 5225       also serve the bot API on ws://127.0.0.1:5225
                                 (docs/chat-api.md; examples/echo-bot)
  /migrate to device [FILE]      (typed in the chat) move the profile away: writes
                                 its archive, shows the link (and QR code) that
                                 opens it
  smp-chat --migrate LINK --migrate-archive FILE
                                 take the profile over in this data directory
  /migrate take back NAME        (typed in the chat) run a moved profile here
                                 again, when its archive was never imported

Flags:
`

type options struct {
	dir            string
	servers        []string
	passphraseFile string
	name           string
	qrPNG          string
	noQR           bool
	demo           bool
	fastKDF        bool
	apiPort        int
	migrate        string
	migrateArchive string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("smp-chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.dir, "db", defaultDir(), "directory of the encrypted database (env SMP_CHAT_DB)")
	fs.StringArrayVarP(&o.servers, "server", "s", nil, "SMP relay address smp://KEYHASH@host[:port] (repeat or comma-separate; the first gets new queues)")
	fs.StringVar(&o.passphraseFile, "passphrase-file", "", "read the database passphrase from this file (or env SMP_CHAT_PASSPHRASE)")
	fs.StringVar(&o.name, "name", "", "display name of the first profile, instead of asking")
	fs.StringVar(&o.qrPNG, "qr-png", "", "also save every invitation, address and group link as a QR code PNG in this file")
	fs.BoolVar(&o.noQR, "no-qr", false, "do not draw QR codes in the terminal")
	fs.BoolVar(&o.demo, "demo", false, "run two users side by side (alice and bob) with an embedded relay")
	fs.StringVar(&o.migrate, "migrate", "", "take over a profile from another device: the `LINK` its /migrate to device showed")
	fs.StringVar(&o.migrateArchive, "migrate-archive", "", "the archive file /migrate to device wrote (default "+defaultArchive+")")
	fs.IntVar(&o.apiPort, "api-port", 0, "also serve the bot API (JSON over WebSocket, docs/chat-api.md) on this loopback `PORT`")
	fs.BoolVar(&o.fastKDF, "insecure-fast-kdf", false, "derive the database key cheaply for new databases (tests only)")
	_ = fs.MarkHidden("insecure-fast-kdf")
	help := fs.BoolP("help", "h", false, "show this help")
	version := fs.BoolP("version", "v", false, "print the version")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "smp-chat: %v\nrun \"smp-chat --help\" for the flags\n", err)
		return 2
	}
	if *help {
		fs.SetOutput(stdout)
		fmt.Fprint(stdout, usage)
		fs.PrintDefaults()
		return 0
	}
	if *version {
		fmt.Fprintln(stdout, buildinfo.Line("smp-chat"))
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "smp-chat: unexpected argument %q\nrun \"smp-chat --help\" for the flags\n", fs.Arg(0))
		return 2
	}
	var servers []string
	for _, s := range o.servers {
		for _, x := range strings.Split(s, ",") {
			if x = strings.TrimSpace(x); x != "" {
				servers = append(servers, x)
			}
		}
	}
	o.servers = servers
	if o.apiPort < 0 || o.apiPort > 65535 {
		fmt.Fprintf(stderr, "smp-chat: --api-port %d: not a port (1-65535)\n", o.apiPort)
		return 2
	}
	if o.migrate != "" && o.demo {
		fmt.Fprintf(stderr, "smp-chat: --migrate does not go with --demo\n")
		return 2
	}
	if o.migrateArchive != "" && o.migrate == "" {
		fmt.Fprintf(stderr, "smp-chat: --migrate-archive needs --migrate LINK\n")
		return 2
	}
	if o.apiPort != 0 && o.demo {
		fmt.Fprintf(stderr, "smp-chat: --api-port does not go with --demo\n")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out := &console{w: stdout}
	var err error
	if o.demo {
		err = runDemo(ctx, o, stdin, out)
	} else {
		err = runChat(ctx, o, stdin, out)
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "smp-chat: %v\n", err)
			return 2
		}
		fmt.Fprintf(stderr, "smp-chat: %v\n", err)
		return 1
	}
	return 0
}

type usageError struct{ error }

// defaultDir is the data directory: $SMP_CHAT_DB, $XDG_DATA_HOME/smp-chat,
// ~/.local/share/smp-chat, or the user's config directory elsewhere.
func defaultDir() string {
	if d := os.Getenv("SMP_CHAT_DB"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "smp-chat")
	}
	if h, err := os.UserHomeDir(); err == nil && (filepath.Separator == '/') {
		return filepath.Join(h, ".local", "share", "smp-chat")
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "smp-chat")
	}
	return "smp-chat-data"
}

// console serializes output lines of commands and events.
type console struct {
	mu sync.Mutex
	w  io.Writer
}

func (c *console) lines(prefix string, ls []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range ls {
		fmt.Fprintln(c.w, prefix+l)
	}
}

func (c *console) line(format string, args ...any) {
	c.lines("", []string{fmt.Sprintf(format, args...)})
}

// lineReader yields input lines; one goroutine reads, so a line can be
// awaited with a context.
type lineReader struct {
	ch  chan string
	err error
}

func newLineReader(r io.Reader) *lineReader {
	lr := &lineReader{ch: make(chan string)}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lr.ch <- sc.Text()
		}
		lr.err = sc.Err()
		close(lr.ch)
	}()
	return lr
}

// next is the next line; ok is false at the end of input or when ctx ends.
func (lr *lineReader) next(ctx context.Context) (string, bool) {
	select {
	case l, ok := <-lr.ch:
		return l, ok
	case <-ctx.Done():
		return "", false
	}
}

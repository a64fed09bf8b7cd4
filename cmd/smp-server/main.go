// Command smp-server runs smpkit's reference SMP relay.
//
//	smp-server init    create certificates and a configuration, print the address
//	smp-server start   serve SMP on the configured ports
//	smp-server cert    replace the online TLS certificate (needs the CA key)
//	smp-server address print the relay address
//	smp-server delete  remove the configuration, certificates and stored data
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/transport"
	flag "github.com/spf13/pflag"
)

const usage = `smp-server: smpkit's reference SMP relay

Usage:
  smp-server init [flags]      create certificates and smp-server.ini in --dir, print the address
  smp-server start [flags]     serve SMP on the configured ports until SIGINT/SIGTERM
  smp-server cert [flags]      replace the online TLS certificate (the CA key must be in --dir)
  smp-server address [flags]   print the relay address
  smp-server delete [flags]    remove --dir with its configuration, certificates and data
  smp-server block [flags]     block (or --unblock) a queue by any of its ids; run it while the relay is stopped

Files in --dir: smp-server.ini, ca.crt, ca.key, server.crt, server.key, and the
store (queues.log, messages.log). Keep ca.key offline once the relay runs: only
cert needs it.

Run "smp-server COMMAND --help" for the flags of a command.
`

const configFile = "smp-server.ini"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmds := map[string]func([]string, io.Writer, io.Writer) error{
		"init": cmdInit, "start": cmdStart, "cert": cmdCert, "address": cmdAddress, "delete": cmdDelete, "block": cmdBlock,
	}
	f, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "smp-server: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err := f(args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "smp-server %s: %v\n", args[0], err)
			return 2
		}
		fmt.Fprintf(stderr, "smp-server %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

type usageError struct{ error }

func defaultDir() string {
	if d := os.Getenv("SMP_SERVER_DIR"); d != "" {
		return d
	}
	return "smp-server-data"
}

func newFlags(name, synopsis string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("smp-server "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: smp-server %s [flags]\n\n%s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	dir := fs.String("dir", defaultDir(), "directory for configuration, certificates and data (env SMP_SERVER_DIR)")
	return fs, dir
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

func cmdInit(args []string, stdout, stderr io.Writer) error {
	fs, dir := newFlags("init", "Create an identity CA, an online certificate and smp-server.ini.", stderr)
	host := fs.String("host", "localhost", "host name or IP address clients use; goes into the address and the certificate")
	port := fs.String("port", smp.DefaultPort, "port to listen on")
	password := fs.String("password", "", "basic-auth password required to create queues (empty: anyone can)")
	force := fs.Bool("force", false, "overwrite an existing configuration")
	if err := parse(fs, args); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(*dir, configFile)); err == nil && !*force {
		return fmt.Errorf("%s already holds a configuration (use --force to replace it, or delete)", *dir)
	}
	s := relay.DefaultSettings()
	s.Host = *host
	s.Ports = []string{*port}
	s.CreatePassword = *password
	// Validate by a round trip through the parser, so init cannot write a
	// file that start refuses.
	var sb strings.Builder
	if err := relay.WriteSettings(&sb, s); err != nil {
		return err
	}
	if _, _, err := relay.ReadSettings(strings.NewReader(sb.String())); err != nil {
		return usageError{err}
	}
	creds, err := transport.GenerateCredentials(*host, rand.Reader)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	if err := creds.Save(*dir); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*dir, configFile), []byte(sb.String()), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s and certificates to %s\n", configFile, *dir)
	fmt.Fprintln(stdout, address(creds, s))
	return nil
}

func address(creds *transport.Credentials, s relay.Settings) string {
	srv := smp.Server{Hosts: []string{s.Host}, KeyHash: creds.Identity()}
	if len(s.Ports) > 0 && s.Ports[0] != smp.DefaultPort {
		srv.Port = s.Ports[0]
	}
	if s.CreatePassword != "" {
		return smp.ServerWithAuth{Server: srv, BasicAuth: s.CreatePassword, HasAuth: true}.String()
	}
	return srv.String()
}

func load(dir string, stderr io.Writer) (relay.Settings, *transport.Credentials, error) {
	s, warnings, err := relay.LoadSettings(filepath.Join(dir, configFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return s, nil, fmt.Errorf("no configuration in %s: run smp-server init first", dir)
		}
		return s, nil, err
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "smp-server: %s: %s\n", configFile, w)
	}
	creds, err := transport.LoadCredentials(dir)
	if err != nil {
		return s, nil, err
	}
	return s, creds, nil
}

func cmdAddress(args []string, stdout, stderr io.Writer) error {
	fs, dir := newFlags("address", "Print the relay address.", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	s, creds, err := load(*dir, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, address(creds, s))
	return nil
}

func cmdCert(args []string, stdout, stderr io.Writer) error {
	fs, dir := newFlags("cert", "Replace the online TLS certificate and key; the identity (address) stays.", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	s, creds, err := load(*dir, stderr)
	if err != nil {
		return err
	}
	if creds.CAKey == nil {
		return fmt.Errorf("ca.key is not in %s: copy it there to rotate the certificate", *dir)
	}
	if err := creds.Rotate(s.Host, rand.Reader); err != nil {
		return err
	}
	if err := creds.Save(*dir); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "new online certificate written; restart the relay to use it\n")
	fmt.Fprintln(stdout, address(creds, s))
	return nil
}

func cmdDelete(args []string, stdout, stderr io.Writer) error {
	fs, dir := newFlags("delete", "Remove the directory with configuration, certificates and all stored queues and messages.", stderr)
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	if err := parse(fs, args); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(*dir, configFile)); err != nil {
		return fmt.Errorf("%s holds no smp-server configuration; nothing deleted", *dir)
	}
	if !*yes {
		return usageError{fmt.Errorf("this deletes %s with the relay identity and every stored message: repeat with --yes", *dir)}
	}
	lock, err := store.LockDir(*dir) // not under a running relay
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := os.RemoveAll(*dir); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "deleted %s\n", *dir)
	return nil
}

func cmdStart(args []string, stdout, stderr io.Writer) error {
	fs, dir := newFlags("start", "Serve SMP until SIGINT or SIGTERM; a clean stop loses nothing, and with\nfsync=each neither does kill -9 for any message answered OK.", stderr)
	logLevel := fs.String("log-level", "info", "debug, info, warn or error (info never logs queue ids or content)")
	fsync := fs.String("fsync", "", "override [STORE_LOG] fsync: each, interval or never")
	if err := parse(fs, args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageError{fmt.Errorf("--log-level: %v", err)}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	s, creds, err := load(*dir, stderr)
	if err != nil {
		return err
	}
	if *fsync != "" {
		if s.Fsync, err = store.ParseSyncPolicy(*fsync); err != nil {
			return usageError{err}
		}
	}
	var st *store.Store
	if s.StoreEnabled {
		var rec *store.Recovery
		st, rec, err = store.Open(*dir, store.Options{Sync: s.Fsync, SyncInterval: s.FsyncInterval})
		if err != nil {
			return err
		}
		defer st.Close()
		log.Info("store loaded", "queues", rec.Queues, "messages", rec.Messages, "elapsed", rec.Elapsed)
		for _, d := range rec.Dropped {
			log.Warn("store damage set aside", "detail", d)
		}
	}
	r, err := relay.New(relay.ConfigFromSettings(s, creds, st, log))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, len(s.Ports)+1)
	for _, p := range s.Ports {
		ln, err := net.Listen("tcp", net.JoinHostPort("", p))
		if err != nil {
			r.Close()
			return err
		}
		log.Info("listening", "addr", ln.Addr().String())
		go func() { errc <- r.Serve(ln) }()
	}
	if s.MetricsListen != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", r.MetricsHandler())
		hs := &http.Server{Addr: s.MetricsListen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- hs.ListenAndServe() }()
		defer hs.Close()
		log.Info("metrics", "url", "http://"+s.MetricsListen+"/metrics")
	}
	fmt.Fprintln(stdout, address(creds, s))
	select {
	case <-ctx.Done():
		log.Info("stopping")
	case err = <-errc:
		log.Error("listener failed", "err", err)
	}
	r.Close()
	return err
}

// cmdBlock sets a queue's status to blocked (or back to active): its
// commands are then answered ERR BLOCKED (SMP-QSTATE-3). The store has one
// writer, so the relay must be stopped.
func cmdBlock(args []string, stdout, stderr io.Writer) error {
	fs, dir := newFlags("block", "Block a queue, or unblock it, by its recipient, sender, notifier or link id.\nRun it while the relay is stopped.", stderr)
	id := fs.String("id", "", "the queue id, base64url as clients show it (required)")
	reason := fs.String("reason", "spam", "blocking reason sent to clients: spam or content")
	unblock := fs.Bool("unblock", false, "make a blocked queue active again")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *reason != "spam" && *reason != "content" {
		return usageError{fmt.Errorf("--reason must be spam or content, not %q", *reason)}
	}
	raw, err := smp.DecodeB64(*id)
	if err != nil || len(raw) == 0 {
		return usageError{fmt.Errorf("--id: not a base64url id: %q", *id)}
	}
	st, _, err := store.Open(*dir, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	var q *store.Queue
	for _, kind := range []store.IDKind{store.ByRecipient, store.BySender, store.ByNotifier, store.ByLink} {
		if q, err = st.Queue(kind, raw); err == nil {
			break
		}
	}
	if q == nil {
		return fmt.Errorf("no queue has the id %s", *id)
	}
	if _, err := st.UpdateQueue(q.RecipientID, func(q *store.Queue) error {
		if *unblock {
			q.Status, q.BlockInfo = store.Active, ""
		} else {
			q.Status, q.BlockInfo = store.Blocked, *reason
		}
		return nil
	}); err != nil {
		return err
	}
	if *unblock {
		fmt.Fprintln(stderr, "queue unblocked")
	} else {
		fmt.Fprintf(stderr, "queue blocked (reason=%s)\n", *reason)
	}
	return nil
}

// Command smp-server runs smpkit's reference SMP relay.
//
//	smp-server init    create certificates and a configuration, print the address
//	smp-server start   serve SMP on the configured ports
//	smp-server cert    replace the online TLS certificate (needs the CA key)
//	smp-server address print the relay address
//	smp-server block   block or unblock a queue (through the control port while running)
//	smp-server stats   print the running relay's counters (control port)
//	smp-server control send another control port command
//	smp-server delete  remove the configuration, certificates and stored data
package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/smpkit/smpkit/internal/buildinfo"
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
  smp-server cert [flags]      replace the online TLS certificate (the CA key must be in --dir);
                               a running relay with a control port loads it at once
  smp-server address [flags]   print the relay address
  smp-server block [flags]     block (or --unblock) a queue; through the control port while
                               the relay runs, directly in the store while it is stopped
  smp-server stats [flags]     print a running relay's counters (control port)
  smp-server control [flags] COMMAND...
                               send another control port command (status, server-info, sockets;
                               with --admin: clients, threads, save, delete; help lists all)
  smp-server delete [flags]    remove --dir with its configuration, certificates and data
  smp-server --version         print the version

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
	if args[0] == "--version" || args[0] == "-v" || args[0] == "version" {
		fmt.Fprintln(stdout, buildinfo.Line("smp-server"))
		return 0
	}
	cmds := map[string]func([]string, io.Writer, io.Writer) error{
		"init": cmdInit, "start": cmdStart, "cert": cmdCert, "address": cmdAddress, "delete": cmdDelete,
		"block": cmdBlock, "stats": cmdStats, "control": cmdControl,
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
		fmt.Fprintf(stderr, "smp-server %s: %v\n", args[0], err)
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "run \"smp-server %s --help\" for its flags\n", args[0])
			return 2
		}
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

// parse parses flags; the caller prints the error (pflag does not with
// ContinueOnError), so every flag error reaches the operator.
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

// randomPassword is what upstream's init makes when no password is given
// (Server/Main.hs: randomBase64 of 32 bytes for create_password, of 18 for
// the control port passwords), base64url so that it fits an address.
func randomPassword(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func cmdInit(args []string, stdout, stderr io.Writer) error {
	fs, dir := newFlags("init", "Create an identity CA, an online certificate and smp-server.ini.\n"+
		"As upstream's init, it sets a random password for creating queues and for the\n"+
		"sending proxy unless --no-password (a public relay) or --password is given.", stderr)
	host := fs.String("host", "localhost", "host name or IP address clients use; goes into the address and the certificate")
	port := fs.String("port", smp.DefaultPort, "port to listen on")
	password := fs.String("password", "", "basic-auth password for creating queues and proxying (default: random)")
	noPassword := fs.Bool("no-password", false, "anyone may create queues and use the proxy (public relay)")
	controlPort := fs.String("control-port", "", "enable the control port on 127.0.0.1 with random admin and user passwords: --control-port (5224) or --control-port=PORT")
	fs.Lookup("control-port").NoOptDefVal = "5224"
	force := fs.Bool("force", false, "overwrite an existing configuration")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *noPassword && *password != "" {
		return usageError{errors.New("--password and --no-password contradict each other")}
	}
	if _, err := os.Stat(filepath.Join(*dir, configFile)); err == nil && !*force {
		return fmt.Errorf("%s already holds a configuration (use --force to replace it, or delete)", *dir)
	}
	s := relay.DefaultSettings()
	s.Host = *host
	s.Ports = []string{*port}
	s.ExpireOnSend = false // upstream's init writes off (its code default is on)
	s.Information = map[string]string{"source_code": "https://github.com/smpkit/smpkit"}
	var err error
	switch {
	case *password != "":
		s.CreatePassword = *password
	case !*noPassword:
		if s.CreatePassword, err = randomPassword(32); err != nil {
			return err
		}
	}
	if *controlPort != "" {
		s.ControlPort = *controlPort
		if s.ControlAdminPassword, err = randomPassword(18); err != nil {
			return err
		}
		if s.ControlUserPassword, err = randomPassword(18); err != nil {
			return err
		}
	}
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
	if s.CreatePassword != "" {
		fmt.Fprintln(stderr, "creating queues and proxying need the password in the address below; give it only to your users")
	}
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

// load reads the configuration and credentials in dir; warnings about the
// configuration go to log.
func load(dir string, log *slog.Logger) (relay.Settings, *transport.Credentials, error) {
	s, warnings, err := relay.LoadSettings(filepath.Join(dir, configFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return s, nil, fmt.Errorf("no configuration in %s: run smp-server init first", dir)
		}
		return s, nil, fmt.Errorf("%s: %w", filepath.Join(dir, configFile), err)
	}
	for _, w := range warnings {
		log.Warn("configuration: "+w, "file", configFile)
	}
	creds, err := transport.LoadCredentials(dir)
	if err != nil {
		return s, nil, err
	}
	return s, creds, nil
}

// cliLogger is the logger of the short-lived commands.
func cliLogger(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func cmdAddress(args []string, stdout, stderr io.Writer) error {
	fs, dir := newFlags("address", "Print the relay address.", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	s, creds, err := load(*dir, cliLogger(stderr))
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, address(creds, s))
	return nil
}

func cmdCert(args []string, stdout, stderr io.Writer) error {
	fs, dir := newFlags("cert", "Replace the online TLS certificate and key; the identity (address) stays.\n"+
		"With a control port, the running relay loads the new certificate at once.", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	s, creds, err := load(*dir, cliLogger(stderr))
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
	switch out, err := controlRun(s, true, "reload"); {
	case errors.Is(err, errNoControlPort):
		fmt.Fprintln(stderr, "new online certificate written; restart the relay to use it")
	case errors.Is(err, errNotRunning):
		fmt.Fprintln(stderr, "new online certificate written; the relay is not running, it will use it when started")
	case err != nil:
		return fmt.Errorf("new online certificate written, but the running relay did not load it: %w", err)
	case !strings.HasPrefix(out, "ok"):
		return fmt.Errorf("new online certificate written, but the running relay did not load it: %s", strings.TrimSpace(out))
	default:
		fmt.Fprintln(stderr, "new online certificate written and loaded by the running relay")
	}
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

package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/store"
	flag "github.com/spf13/pflag"
)

var (
	errNoControlPort = errors.New("no control port configured ([TRANSPORT] control_port)")
	errNotRunning    = errors.New("the relay is not running (nothing answers on the control port)")
)

// controlRun sends commands to the running relay's control port with the
// admin password (or, when admin is false and there is one, the user's).
func controlRun(s relay.Settings, admin bool, cmds ...string) (string, error) {
	if s.ControlPort == "" {
		return "", errNoControlPort
	}
	pw := s.ControlAdminPassword
	if !admin && s.ControlUserPassword != "" {
		pw = s.ControlUserPassword
	}
	if pw == "" {
		return "", fmt.Errorf("no control port password for this command in [AUTH]")
	}
	out, err := relay.ControlCommands(net.JoinHostPort("127.0.0.1", s.ControlPort), pw, 10*time.Second, cmds...)
	if errors.Is(err, syscall.ECONNREFUSED) {
		return "", errNotRunning
	}
	return out, err
}

// cmdBlock sets a queue's status to blocked (or back to active): its
// commands are then answered ERR BLOCKED (SMP-QSTATE-3). While the relay
// runs this goes through its control port; while it is stopped, straight
// to the store.
func cmdBlock(args []string, stdout, stderr io.Writer) error {
	fs, dir := newFlags("block", "Block a queue, or unblock it, by its sender or link id (or recipient or notifier id).\n"+
		"While the relay runs this needs its control port; while it is stopped it edits the store.", stderr)
	id := fs.String("id", "", "the queue id, base64url as clients show it (required)")
	reason := fs.String("reason", "spam", "blocking reason sent to clients: spam or content")
	notice := fs.String("notice", "", `client notice sent with the reason from v18, JSON: {"ttl":SECONDS}, or {} for indefinitely`)
	unblock := fs.Bool("unblock", false, "make a blocked queue active again")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *reason != "spam" && *reason != "content" {
		return usageError{fmt.Errorf("--reason must be spam or content, not %q", *reason)}
	}
	info := store.BlockInfo{Reason: *reason}
	text := "reason=" + *reason
	if *notice != "" {
		n, err := smp.ParseClientNotice([]byte(*notice))
		if err != nil {
			return usageError{fmt.Errorf("--notice: %w", err)}
		}
		info.Notice = &store.Notice{TTL: n.TTL}
		text += ",notice=" + *notice
	}
	raw, err := smp.DecodeB64(*id)
	if err != nil || len(raw) == 0 {
		return usageError{fmt.Errorf("--id: not a base64url id: %q", *id)}
	}
	s, _, err := load(*dir, cliLogger(stderr))
	if err != nil {
		return err
	}
	cmd := "block " + *id + " " + text
	if *unblock {
		cmd = "unblock " + *id
	}
	out, err := controlRun(s, false, cmd)
	switch {
	case err == nil:
		out = strings.TrimSpace(out)
		if !strings.HasPrefix(out, "ok") {
			return fmt.Errorf("the relay answered: %s", out)
		}
		fmt.Fprintln(stderr, out)
		return nil
	case !errors.Is(err, errNoControlPort) && !errors.Is(err, errNotRunning):
		return err
	}
	// Offline: the store has one writer, so this only works while the
	// relay is stopped (the store refuses a directory in use).
	st, _, err := store.Open(*dir, storeOptions(s))
	if err != nil {
		return fmt.Errorf("%w (while the relay runs, block needs [TRANSPORT] control_port)", err)
	}
	defer st.Close()
	q, err := relay.FindQueue(st, raw)
	if err != nil {
		return fmt.Errorf("no queue has the id %s", *id)
	}
	if _, err := st.UpdateQueue(q.RecipientID, func(q *store.Queue) error {
		if *unblock {
			q.Status, q.BlockInfo = store.Active, store.BlockInfo{}
		} else {
			q.Status, q.BlockInfo = store.Blocked, info
		}
		return nil
	}); err != nil {
		return err
	}
	if *unblock {
		fmt.Fprintln(stderr, "queue unblocked")
	} else {
		fmt.Fprintf(stderr, "queue blocked (%s)\n", text)
	}
	return nil
}

func cmdStats(args []string, stdout, stderr io.Writer) error {
	fs, dir := newFlags("stats", "Print the running relay's counters, from its control port.", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	s, _, err := relay.LoadSettings(filepath.Join(*dir, configFile))
	if err != nil {
		return err
	}
	out, err := controlRun(s, false, "stats")
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, out)
	return nil
}

// cmdControl sends one command line to the running relay's control port
// and prints the answer: the commands block and stats do not cover
// (status, server-info, clients, save, delete, help, ...).
func cmdControl(args []string, stdout, stderr io.Writer) error {
	fs, dir := newFlags("control", "Send one command to the running relay's control port and print the answer,\n"+
		"for example: smp-server control status QUEUE_ID, or smp-server control --admin delete QUEUE_ID.\n"+
		"'help' lists the commands.", stderr)
	admin := fs.Bool("admin", false, "authenticate with the admin password (clients, threads, save, delete and reload need it)")
	// Flags end at the command: what follows is the relay's (a base64url
	// queue id may start with '-').
	fs.SetInterspersed(false)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() == 0 {
		return usageError{errors.New("no command given (try: smp-server control help)")}
	}
	s, _, err := relay.LoadSettings(filepath.Join(*dir, configFile))
	if err != nil {
		return err
	}
	out, err := controlRun(s, *admin, strings.Join(fs.Args(), " "))
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, out)
	if strings.HasPrefix(out, "error") || strings.TrimSpace(out) == "AUTH" {
		return errors.New("the relay refused the command")
	}
	return nil
}

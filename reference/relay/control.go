package relay

import (
	"bufio"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/smpkit/smpkit/reference/smp"
	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/transport"
)

// The control port: operator commands while the relay runs, in upstream's
// line protocol (simplexmq Server.hs runCPServer, Server/Control.hs). A
// client connects (to 127.0.0.1 only), gets a two-line greeting, sends
// "auth <password>" to take the user or admin role, then one command per
// line; each answer is one or more lines, and "quit" closes. Commands
// without the role they need are answered "AUTH".

// ControlConfig configures the control port.
type ControlConfig struct {
	// AdminPassword and UserPassword give the two roles (upstream
	// control_port_admin_password, control_port_user_password); an empty
	// one gives nothing.
	AdminPassword, UserPassword string
	// Reload loads the online credentials again for "reload" (smpkit);
	// nil answers that reloading is not available.
	Reload func() (*transport.Credentials, error)
}

type cpRole int

const (
	cpNone cpRole = iota
	cpUser
	cpAdmin
)

// upstream's names, printed by auth.
func (r cpRole) String() string {
	return [...]string{"CPRNone", "CPRUser", "CPRAdmin"}[r]
}

// cpHelp lists the commands smpkit answers, in upstream's format (whose
// list leaves out auth, status, block and unblock).
const cpHelp = "commands: auth, stats, stats-rts, clients, sockets, threads, server-info, " +
	"status, block, unblock, delete, save, reload, help, quit"

// cpRoles is the role each command needs, as upstream's runCPClient
// checks it (reload is smpkit's). stats-rts needs none there either.
var cpRoles = map[string]cpRole{
	"auth": cpNone, "help": cpNone, "quit": cpNone, "": cpNone, "stats-rts": cpNone,
	"stats": cpUser, "sockets": cpUser, "server-info": cpUser,
	"status": cpUser, "block": cpUser, "unblock": cpUser,
	"suspend": cpAdmin, "resume": cpAdmin, "clients": cpAdmin, "threads": cpAdmin,
	"socket-threads": cpAdmin, "delete": cpAdmin, "save": cpAdmin, "reload": cpAdmin,
}

// ServeControl serves the control port on ln until Close. ln should listen
// on a loopback address: the passwords travel in clear, as upstream's do.
func (r *Relay) ServeControl(ln net.Listener, cfg ControlConfig) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return net.ErrClosed
	}
	r.lns = append(r.lns, ln)
	r.mu.Unlock()
	return r.acceptLoop(ln, func(c net.Conn) { r.controlSession(c, cfg) })
}

func (r *Relay) controlSession(c io.ReadWriter, cfg ControlConfig) {
	w := bufio.NewWriter(c)
	say := func(format string, a ...any) {
		fmt.Fprintf(w, format+"\n", a...)
	}
	say("SMP server control port\n'help' for supported commands")
	w.Flush()
	role := cpNone
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		cmd, arg, _ := strings.Cut(line, " ")
		need, known := cpRoles[cmd]
		if cmd != "auth" && cmd != "help" && cmd != "quit" && cmd != "" {
			// Upstream logs every command but auth at warn level.
			r.log.Warn("control port", "command", cmd)
		}
		switch {
		case !known:
			// Upstream parses before it checks the role; this is its
			// parser's message.
			say("error: Failed reading: bad ControlProtocol command")
		case role < need:
			r.log.Error("unauthorized control port command")
			say("AUTH")
		case cmd == "":
		case cmd == "quit":
			w.Flush()
			return
		case cmd == "help":
			say(cpHelp)
		case cmd == "auth":
			next := cpNone
			switch {
			case cfg.AdminPassword != "" && equal(arg, cfg.AdminPassword):
				next = cpAdmin
			case cfg.UserPassword != "" && equal(arg, cfg.UserPassword):
				next = cpUser
			}
			if role == cpNone {
				role = next
				say("Current role is %s", role)
			} else if role == next {
				say("Current role is %s", role)
			} else {
				say("Current role is %s, start new session to change.", role)
			}
		case cmd == "status":
			say("%s", r.controlStatus(arg))
		case cmd == "block":
			say("%s", r.controlBlock(arg))
		case cmd == "unblock":
			say("%s", r.controlUnblock(arg))
		case cmd == "delete":
			say("%s", r.controlDelete(arg))
		case cmd == "reload":
			say("%s", r.controlReload(cfg))
		case arg != "":
			say("error: %s takes no argument", cmd)
		default:
			r.controlInfo(cmd, role, say)
		}
		w.Flush()
	}
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// FindQueue looks a queue up by its sender id or link id (as upstream's
// control port does), then by its recipient or notifier id.
func FindQueue(st *store.Store, id []byte) (*store.Queue, error) {
	for _, kind := range []store.IDKind{store.BySender, store.ByLink, store.ByRecipient, store.ByNotifier} {
		if q, err := st.Queue(kind, id); err == nil && q != nil {
			return q, nil
		}
	}
	return nil, errors.New("no queue has this id")
}

func (r *Relay) queueArg(arg string) (*store.Queue, string) {
	raw, err := smp.DecodeB64(strings.TrimSpace(arg))
	if err != nil || len(raw) == 0 {
		return nil, "error: want a queue id in base64url"
	}
	q, err := FindQueue(r.store, raw)
	if err != nil {
		return nil, "error: AUTH"
	}
	return q, ""
}

// The answers about a queue print its state as upstream prints its
// values (Haskell's show), so that scripts written for upstream's control
// port read ours.

func showBlockingInfo(bi store.BlockInfo) string {
	reason := bi.Reason
	switch reason {
	case "spam", "": // what blockedError sends for a record without a reason
		reason = "BRSpam"
	case "content":
		reason = "BRContent"
	}
	return "BlockingInfo {reason = " + reason + ", notice = " + showNotice(bi.Notice) + "}"
}

// showNotice is the Maybe ClientNotice field as derived Show prints it at
// precedence 11 (an argument of Just): a record in parentheses, and a
// negative number in parentheses too.
func showNotice(n *store.Notice) string {
	if n == nil {
		return "Nothing"
	}
	ttl := "Nothing"
	if n.TTL != nil {
		ttl = "Just " + strconv.FormatInt(*n.TTL, 10)
		if *n.TTL < 0 {
			ttl = "Just (" + strconv.FormatInt(*n.TTL, 10) + ")"
		}
	}
	return "Just (ClientNotice {ttl = " + ttl + "})"
}

// parseBlock reads block's argument "<id> reason=spam|content[,notice=<JSON>]"
// (upstream's CPBlock: the JSON runs to the end of the line).
func parseBlock(arg string) (id string, bi store.BlockInfo, err error) {
	id, info, _ := strings.Cut(strings.TrimSpace(arg), " ")
	if !strings.HasPrefix(info, "reason=") {
		return "", bi, errors.New("want block <queue id> reason=spam|content[,notice={\"ttl\":seconds}]")
	}
	sbi, err := smp.ParseBlockingInfo([]byte(info))
	if err != nil {
		return "", bi, err
	}
	bi.Reason = sbi.Reason
	if sn := sbi.Notice; sn != nil {
		bi.Notice = &store.Notice{TTL: sn.TTL}
	}
	return id, bi, nil
}

func sameBlockInfo(a, b store.BlockInfo) bool {
	if a.Reason != b.Reason || (a.Notice == nil) != (b.Notice == nil) {
		return false
	}
	if a.Notice == nil {
		return true
	}
	at, bt := a.Notice.TTL, b.Notice.TTL
	return (at == nil) == (bt == nil) && (at == nil || *at == *bt)
}

func queueStatus(q *store.Queue) string {
	switch q.Status {
	case store.Blocked:
		return "EntityBlocked (" + showBlockingInfo(q.BlockInfo) + ")"
	case store.Off:
		return "EntityOff"
	}
	return "EntityActive"
}

// controlStatus executes "status <id>": upstream's line is
// "status: S, updatedAt: Maybe SystemDate, queueMode: Maybe QueueMode".
func (r *Relay) controlStatus(arg string) string {
	q, e := r.queueArg(arg)
	if q == nil {
		return e
	}
	updated := "Nothing"
	if q.UpdatedAt != 0 {
		updated = fmt.Sprintf("Just (RoundedSystemTime {roundedSeconds = %d})", q.UpdatedAt)
	}
	mode := "Nothing"
	switch q.Mode {
	case 'M':
		mode = "Just QMMessaging"
	case 'C':
		mode = "Just QMContact"
	}
	return "status: " + queueStatus(q) + ", updatedAt: " + updated + ", queueMode: " + mode
}

// controlBlock executes "block <id> reason=spam|content[,notice=<JSON>]":
// the queue's commands get ERR BLOCKED (SMP-QSTATE-3), with the notice
// from v18 (SMP-ERR-2), and its subscriber is told at once, as upstream
// does. Blocking an active queue counts against DailyBlockQuota; a queue
// already off or blocked with other info takes the new state and is
// answered "already inactive", as upstream's.
func (r *Relay) controlBlock(arg string) string {
	id, info, err := parseBlock(arg)
	if err != nil {
		return "error: " + err.Error()
	}
	q, e := r.queueArg(id)
	if q == nil {
		return e
	}
	if q.Status == store.Blocked && sameBlockInfo(q.BlockInfo, info) {
		return "ok, already inactive: " + queueStatus(q)
	}
	active := q.Status == store.Active
	if active && !r.blocks.take(r.cfg.DailyBlockQuota, r.cfg.Now()) {
		return fmt.Sprintf("error: reached limit of %d queues blocked daily", r.cfg.DailyBlockQuota)
	}
	r.qmu.Lock()
	q, err = r.store.UpdateQueue(q.RecipientID, func(q *store.Queue) error {
		q.Status, q.BlockInfo = store.Blocked, info
		return nil
	})
	if err != nil {
		r.qmu.Unlock()
		if active {
			r.blocks.undo()
		}
		return "error: " + err.Error()
	}
	if sub := r.subs[string(q.RecipientID)]; sub != nil {
		sub.event(sub.errTx(nil, q.RecipientID, blockedError(q.BlockInfo)))
	}
	seq := r.store.Written()
	r.qmu.Unlock()
	if e := r.controlDurable(seq); e != "" {
		return e
	}
	r.log.Info("queue blocked by the operator", "reason", info.Reason, "notice", info.Notice != nil)
	if !active {
		return "ok, already inactive: " + queueStatus(q)
	}
	r.stats.queuesBlocked.Add(1)
	return "ok, queue blocked: " + queueStatus(q)
}

// controlUnblock executes "unblock <id>"; a queue its recipient turned off
// stays off, as upstream's.
func (r *Relay) controlUnblock(arg string) string {
	q, e := r.queueArg(arg)
	if q == nil {
		return e
	}
	switch q.Status {
	case store.Active:
		return "ok, queue was active"
	case store.Off:
		return "error, queue is inactive"
	}
	was := q.BlockInfo
	r.qmu.Lock()
	if _, err := r.store.UpdateQueue(q.RecipientID, func(q *store.Queue) error {
		q.Status, q.BlockInfo = store.Active, store.BlockInfo{}
		return nil
	}); err != nil {
		r.qmu.Unlock()
		return "error: " + err.Error()
	}
	seq := r.store.Written()
	r.qmu.Unlock()
	if e := r.controlDurable(seq); e != "" {
		return e
	}
	r.log.Info("queue unblocked by the operator")
	return "ok, queue unblocked, reason to block was: " + showBlockingInfo(was)
}

// controlDelete executes "delete <id>" (admin): the queue and its messages
// go, and its subscribers get DELD, as if the recipient sent DEL.
func (r *Relay) controlDelete(arg string) string {
	q, e := r.queueArg(arg)
	if q == nil {
		return e
	}
	r.qmu.Lock()
	n, _ := r.store.Size(q.RecipientID)
	if err := r.store.DeleteQueue(q.RecipientID); err != nil {
		r.qmu.Unlock()
		return "error: " + err.Error()
	}
	// No connection of the operator's is subscribed: every subscriber is
	// told, as another client's DEL would tell it.
	r.endQueue(&conn{r: r, queues: map[string]*qsub{}, ntfs: map[string]bool{}}, q)
	r.stats.countDeleted(q)
	seq := r.store.Written()
	r.qmu.Unlock()
	if e := r.controlDurable(seq); e != "" {
		return e
	}
	r.log.Info("queue deleted by the operator")
	return fmt.Sprintf("ok, %d messages deleted", n)
}

// controlDurable waits, outside r.qmu, until the operator's change (the
// store's records up to seq) is durable, so that "ok" is never answered
// for a block, unblock or delete a power loss could undo; it returns the
// error line to answer instead, or "".
func (r *Relay) controlDurable(seq uint64) string {
	if err := r.durable(seq); err != nil {
		return "error: store: " + err.Error()
	}
	return ""
}

func (r *Relay) controlReload(cfg ControlConfig) string {
	if cfg.Reload == nil {
		return "error: reload is not available"
	}
	creds, err := cfg.Reload()
	if err == nil {
		err = r.ReloadCredentials(creds)
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return "ok, online certificate reloaded"
}

// blockQuota counts control-port blocks per UTC day (upstream
// daily_block_queue_quota: 0 no limit, -1 none allowed).
type blockQuota struct {
	mu    sync.Mutex
	day   int64
	count int
}

func (b *blockQuota) take(quota int, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if day := now.UTC().Unix() / 86400; day != b.day {
		b.day, b.count = day, 0
	}
	if quota != 0 && b.count >= quota {
		return false
	}
	b.count++
	return true
}

func (b *blockQuota) undo() {
	b.mu.Lock()
	b.count--
	b.mu.Unlock()
}

// ControlCommands runs commands on the control port at addr with password
// and returns their output, after the greeting and the auth reply. It
// sends "quit" last and reads until the relay closes, as upstream's
// control port has no end-of-answer marker.
func ControlCommands(addr, password string, timeout time.Duration, cmds ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	var req strings.Builder
	fmt.Fprintf(&req, "auth %s\n", password)
	for _, cmd := range cmds {
		req.WriteString(cmd + "\n")
	}
	req.WriteString("quit\n")
	if _, err := io.WriteString(c, req.String()); err != nil {
		return "", err
	}
	out, err := io.ReadAll(c)
	if err != nil {
		return "", fmt.Errorf("control port: %w", err)
	}
	lines := strings.SplitAfterN(string(out), "\n", 4)
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "SMP server control port") {
		return "", fmt.Errorf("control port: unexpected greeting %q", out)
	}
	if auth := strings.TrimSpace(lines[2]); auth == "Current role is CPRNone" {
		return "", errors.New("control port: password not accepted")
	}
	if len(lines) < 4 {
		return "", nil
	}
	return lines[3], nil
}

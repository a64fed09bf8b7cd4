// Package driver holds the messages of the client driver protocol
// (spec/driver.md): one JSON object per line between smp-conform client
// and a shim wrapping the client under test.
package driver

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// Version is the driver protocol version this package speaks (DRV-VER-1).
const Version = 1

// Command names (spec/driver.md §3).
const (
	CmdHello            = "hello"
	CmdStart            = "start"
	CmdCreateInvitation = "create_invitation"
	CmdJoin             = "join"
	CmdAllow            = "allow"
	CmdSend             = "send"
	CmdAck              = "ack"
	CmdSubscribe        = "subscribe"
	CmdRotate           = "rotate"
	CmdSyncRatchet      = "sync_ratchet"
	CmdDelete           = "delete"
	CmdRestart          = "restart"
	CmdCreateContact    = "create_contact"
	CmdJoinContact      = "join_contact"
	CmdAddQueue         = "add_queue"
	CmdQuit             = "quit"
)

// Optional lists the commands a shim may declare unsupported (DRV-VER-2).
var Optional = []string{CmdSubscribe, CmdRotate, CmdSyncRatchet, CmdDelete, CmdRestart, CmdCreateContact, CmdJoinContact, CmdAddQueue}

// Event names (spec/driver.md §4).
const (
	EvConf   = "conf"
	EvInfo   = "info"
	EvCon    = "con"
	EvMsg    = "msg"
	EvRcvd   = "rcvd"
	EvSwitch = "switch"
	EvRSync  = "rsync"
	EvReq    = "req"
	EvErr    = "err"
)

// Range is a version range.
type Range struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

// Msg is any line: a command (ID and Cmd), a reply (ID and OK) or an
// event (Event). Fields a line does not use are left out.
type Msg struct {
	ID    int64  `json:"id,omitempty"`
	Cmd   string `json:"cmd,omitempty"`
	Event string `json:"event,omitempty"`
	OK    *bool  `json:"ok,omitempty"`
	Error string `json:"error,omitempty"`

	// hello
	Driver      json.RawMessage `json:"driver,omitempty"` // command: Range; reply: int
	Name        string          `json:"name,omitempty"`
	Unsupported []string        `json:"unsupported,omitempty"`
	// start
	Relay   string `json:"relay,omitempty"`
	DataDir string `json:"data_dir,omitempty"`
	// create_invitation
	Procedure     string `json:"procedure,omitempty"`
	AgentVersions *Range `json:"agent_versions,omitempty"`

	Conn  string  `json:"conn,omitempty"`
	Link  string  `json:"link,omitempty"`
	Info  *string `json:"info,omitempty"`
	Body  *string `json:"body,omitempty"`
	MsgID int64   `json:"msg_id,omitempty"`
}

// IsReply reports whether m is a reply to a command.
func (m Msg) IsReply() bool { return m.ID != 0 && m.Cmd == "" && m.Event == "" }

// Str returns a pointer to s, for Info and Body.
func Str(s string) *string { return &s }

// Val returns *p or "".
func Val(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Writer writes lines; it is safe for concurrent use.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriter writes lines to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write writes one message as a line (DRV-FRAME-1).
func (w *Writer) Write(m Msg) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err = w.w.Write(append(b, '\n'))
	return err
}

// Reader reads lines.
type Reader struct{ sc *bufio.Scanner }

// NewReader reads lines from r; a line may be up to 1 MiB.
func NewReader(r io.Reader) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return &Reader{sc: sc}
}

// Read returns the next message, or io.EOF.
func (r *Reader) Read() (Msg, error) {
	for r.sc.Scan() {
		line := r.sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var m Msg
		if err := json.Unmarshal(line, &m); err != nil {
			return Msg{}, fmt.Errorf("driver: line %.80q: %w", line, err)
		}
		return m, nil
	}
	if err := r.sc.Err(); err != nil {
		return Msg{}, err
	}
	return Msg{}, io.EOF
}

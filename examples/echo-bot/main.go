// Command echo-bot is a small bot for smp-chat's bot API: it connects to a
// running `smp-chat --api-port 5225`, makes sure the profile has a contact
// address that accepts everyone, prints the address, and sends every text
// message it gets back to its sender.
//
//	smp-chat --api-port 5225 &
//	echo-bot --api ws://127.0.0.1:5225
//
// It uses only the WebSocket and the JSON of docs/chat-api.md, as a bot in
// any language would.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"sync"

	"github.com/coder/websocket"
	flag "github.com/spf13/pflag"

	"github.com/smpkit/smpkit/internal/buildinfo"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("echo-bot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	api := fs.String("api", "ws://127.0.0.1:5225", "smp-chat's bot API `URL`")
	welcome := fs.String("welcome", "", "also set this auto-reply on the address (sent to each new contact)")
	version := fs.Bool("version", false, "print the version")
	fs.Usage = func() {
		fmt.Fprint(stderr, "echo-bot: sends every text message back to its sender, through smp-chat's bot API\n\nUsage:\n  echo-bot [flags]\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "echo-bot: %v\n", err)
		return 2
	}
	if *version {
		fmt.Fprintln(stdout, buildinfo.Line("echo-bot"))
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "echo-bot: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	b, err := Dial(ctx, *api)
	if err != nil {
		fmt.Fprintf(stderr, "echo-bot: %v\n", err)
		return 1
	}
	defer b.Close()
	link, err := b.Setup(ctx, *welcome)
	if err != nil {
		fmt.Fprintf(stderr, "echo-bot: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "echo-bot address: %s\n", link)
	if err := b.Echo(ctx, stdout); err != nil && ctx.Err() == nil {
		fmt.Fprintf(stderr, "echo-bot: %v\n", err)
		return 1
	}
	return 0
}

// Bot is a connection to the API.
type Bot struct {
	conn *websocket.Conn
	done chan struct{}
	err  error // why the connection ended, set before done closes

	mu      sync.Mutex
	next    int
	pending map[string]chan json.RawMessage
	events  []json.RawMessage // not yet taken by Echo: the reader never waits
	arrived chan struct{}     // signalled when events grows
}

// Dial connects to the API at url (ws://host:port).
func Dial(ctx context.Context, url string) (*Bot, error) {
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", url, err)
	}
	conn.SetReadLimit(16 << 20)
	b := &Bot{conn: conn, done: make(chan struct{}), pending: map[string]chan json.RawMessage{}, arrived: make(chan struct{}, 1)}
	go b.read()
	return b, nil
}

// Close ends the connection.
func (b *Bot) Close() error { return b.conn.Close(websocket.StatusNormalClosure, "") }

// read hands each answer to the command waiting for its corrId and each
// event (no corrId) to Events.
func (b *Bot) read() {
	defer close(b.done)
	for {
		_, data, err := b.conn.Read(context.Background())
		if err != nil {
			b.err = fmt.Errorf("api connection: %w", err)
			return
		}
		var msg struct {
			CorrID string          `json:"corrId"`
			Resp   json.RawMessage `json:"resp"`
		}
		if err := json.Unmarshal(data, &msg); err != nil {
			continue // not ours to fail on; a bot ignores what it does not know
		}
		if msg.CorrID == "" {
			b.mu.Lock()
			b.events = append(b.events, msg.Resp)
			b.mu.Unlock()
			select {
			case b.arrived <- struct{}{}:
			default:
			}
			continue
		}
		b.mu.Lock()
		ch := b.pending[msg.CorrID]
		delete(b.pending, msg.CorrID)
		b.mu.Unlock()
		if ch != nil {
			ch <- msg.Resp
		}
	}
}

// event takes the next event, waiting for one.
func (b *Bot) event(ctx context.Context) (json.RawMessage, error) {
	for {
		b.mu.Lock()
		if len(b.events) > 0 {
			ev := b.events[0]
			b.events = b.events[1:]
			b.mu.Unlock()
			return ev, nil
		}
		b.mu.Unlock()
		select {
		case <-b.arrived:
		case <-b.done:
			return nil, b.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Cmd sends one command and returns its answer: the "resp" object.
func (b *Bot) Cmd(ctx context.Context, cmd string) (json.RawMessage, error) {
	b.mu.Lock()
	b.next++
	id := strconv.Itoa(b.next)
	ch := make(chan json.RawMessage, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	req, _ := json.Marshal(map[string]string{"corrId": id, "cmd": cmd})
	if err := b.conn.Write(ctx, websocket.MessageText, req); err != nil {
		return nil, fmt.Errorf("send %q: %w", cmd, err)
	}
	select {
	case r := <-ch:
		return r, nil
	case <-b.done:
		return nil, b.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// typ reads the "type" of a resp.
func typ(resp json.RawMessage) string {
	var t struct{ Type string }
	json.Unmarshal(resp, &t)
	return t.Type
}

// cmdErr turns a chatCmdError answer into an error.
func cmdErr(cmd string, resp json.RawMessage) error {
	if typ(resp) != "chatCmdError" {
		return nil
	}
	return fmt.Errorf("%s: %s", cmd, resp)
}

// linkOf finds the address link in userContactLink / userContactLinkCreated
// answers, in upstream's current shape (connLinkContact.connFullLink) or
// its older one (connReqContact).
func linkOf(resp json.RawMessage) string {
	type link struct {
		ConnFullLink string `json:"connFullLink"`
	}
	var r struct {
		ConnLinkContact link `json:"connLinkContact"`
		ConnReqContact  string
		ContactLink     struct {
			ConnLinkContact link `json:"connLinkContact"`
			ConnReqContact  string
		} `json:"contactLink"`
	}
	json.Unmarshal(resp, &r)
	for _, s := range []string{r.ContactLink.ConnLinkContact.ConnFullLink, r.ContactLink.ConnReqContact, r.ConnLinkContact.ConnFullLink, r.ConnReqContact} {
		if s != "" {
			return s
		}
	}
	return ""
}

// Setup shows the profile's address, creating it if there is none, and
// turns on auto-accept (with welcome as the auto-reply, if not empty). It
// returns the address.
func (b *Bot) Setup(ctx context.Context, welcome string) (string, error) {
	resp, err := b.Cmd(ctx, "/show_address")
	if err != nil {
		return "", err
	}
	if typ(resp) != "userContactLink" {
		if resp, err = b.Cmd(ctx, "/address"); err != nil {
			return "", err
		}
		if err := cmdErr("/address", resp); err != nil {
			return "", err
		}
	}
	link := linkOf(resp)
	if link == "" {
		return "", fmt.Errorf("no address link in %s", resp)
	}
	accept := "/auto_accept on"
	if welcome != "" {
		accept += " text " + welcome // upstream's form of the auto-reply
	}
	if resp, err = b.Cmd(ctx, accept); err != nil {
		return "", err
	}
	if err := cmdErr(accept, resp); err != nil {
		return "", err
	}
	return link, nil
}

// received is what Echo reads of a newChatItems event.
type received struct {
	Type      string `json:"type"`
	ChatItems []struct {
		ChatInfo struct {
			Type    string `json:"type"`
			Contact struct {
				ContactID        int64  `json:"contactId"`
				LocalDisplayName string `json:"localDisplayName"`
			} `json:"contact"`
		} `json:"chatInfo"`
		ChatItem struct {
			Content struct {
				Type       string `json:"type"`
				MsgContent struct {
					Type string `json:"type"`
					Text string `json:"text"`
				} `json:"msgContent"`
			} `json:"content"`
		} `json:"chatItem"`
	} `json:"chatItems"`
}

// Echo answers every text message from a contact with the same text until
// ctx is done or the connection ends. It writes one line per echo to log.
// The reply goes by the contact's id, as upstream's bots send it.
func (b *Bot) Echo(ctx context.Context, log io.Writer) error {
	for {
		ev, err := b.event(ctx)
		if err != nil {
			return err
		}
		var r received
		if json.Unmarshal(ev, &r) != nil {
			continue
		}
		switch r.Type {
		case "contactConnected":
			fmt.Fprintf(log, "contact connected\n")
		case "newChatItems":
			for _, ci := range r.ChatItems {
				c := ci.ChatItem.Content
				if ci.ChatInfo.Type != "direct" || c.Type != "rcvMsgContent" || c.MsgContent.Type != "text" || c.MsgContent.Text == "" {
					continue
				}
				name := ci.ChatInfo.Contact.LocalDisplayName
				cmd := sendCmd(ci.ChatInfo.Contact.ContactID, c.MsgContent.Text)
				resp, err := b.Cmd(ctx, cmd)
				if err != nil {
					return err
				}
				if err := cmdErr(cmd, resp); err != nil {
					fmt.Fprintf(log, "echo to %s failed: %v\n", name, err)
					continue
				}
				fmt.Fprintf(log, "echoed to %s: %s\n", name, c.MsgContent.Text)
			}
		}
	}
}

// sendCmd is upstream's API command that sends text to a contact by id
// (bots/api/COMMANDS.md, APISendMessages): unlike "@name text" it needs no
// quoting of names.
func sendCmd(contactID int64, text string) string {
	msgs, _ := json.Marshal([]map[string]any{{"msgContent": map[string]string{"type": "text", "text": text}}})
	return fmt.Sprintf("/_send @%d json %s", contactID, msgs)
}

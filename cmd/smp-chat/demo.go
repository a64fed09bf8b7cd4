package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/smpkit/smpkit/internal/chatcmd"
	"github.com/smpkit/smpkit/reference/chat"
)

// runDemo runs two users, alice and bob, in one terminal over one embedded
// relay, connected to each other on the first run. Lines go to the current
// user; "/1" and "/2" switch, "1 LINE" and "2 LINE" send one line as either.
// Output lines say whose they are: "1| " or "2| ".
func runDemo(ctx context.Context, o options, stdin io.Reader, out *console) error {
	o.noQR = true
	in := newLineReader(stdin)
	root := filepath.Join(o.dir, "demo")
	fresh := !dbExists(filepath.Join(root, "alice"))
	pass, err := passphrase(ctx, o, isTTY(stdin), in, out, fresh)
	if err != nil {
		return err
	}
	r, err := startEmbeddedRelay(filepath.Join(root, "relay"))
	if err != nil {
		return err
	}
	defer r.Close()
	out.line("demo: two users on an embedded relay at %s", r.server)
	var ps [2]*profile
	for i, name := range []string{"alice", "bob"} {
		dir := filepath.Join(root, name)
		p, servers, err := openProfile(ctx, o, dir, pass, r, out)
		if err != nil {
			return err
		}
		defer p.Close()
		if err := ensureUser(ctx, p.client, name, in, out); err != nil {
			return err
		}
		p.start(o, dir, servers)
		ps[i] = p
		prefix := fmt.Sprintf("%d| ", i+1)
		go func() {
			for ev := range p.sess.Events() {
				show(o, out, prefix, ev)
			}
		}()
	}
	if fresh {
		if err := demoConnect(ctx, ps[0].client, ps[1].client); err != nil {
			out.line("demo: connecting alice and bob failed: %v", err)
		}
	}
	out.line("demo: lines go to user 1 (alice); /1 and /2 switch, \"2 @alice hi\" sends one line as user 2; /q quits")
	cur := 0
	for {
		l, ok := in.next(ctx)
		if !ok {
			return in.err
		}
		switch t := strings.TrimSpace(l); {
		case t == "":
			continue
		case t == "/1" || t == "/2":
			cur = int(t[1] - '1')
			out.line("demo: now user %d", cur+1)
			continue
		case chatcmd.IsQuit(t):
			return nil
		}
		who := cur
		if len(l) > 2 && (l[0] == '1' || l[0] == '2') && l[1] == ' ' {
			who, l = int(l[0]-'1'), l[2:]
		}
		for _, r := range execLine(ctx, ps[who].sess, l) {
			show(o, out, fmt.Sprintf("%d| ", who+1), r)
		}
	}
}

// demoConnect makes the demo's users contacts by a one-time invitation.
func demoConnect(ctx context.Context, a, b *chat.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, link, err := a.CreateInvitation(ctx)
	if err != nil {
		return err
	}
	_, err = b.Connect(ctx, link)
	return err
}

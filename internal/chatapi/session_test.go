package chatapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/smpkit/smpkit/internal/chatcmd"
	"github.com/smpkit/smpkit/reference/chat"
	"github.com/smpkit/smpkit/reference/chat/chattest"
	"github.com/smpkit/smpkit/reference/relay"
)

// The API over the real session: a bot profile served on a loopback port
// and a person's client, over a reference relay on loopback.

func openClient(t *testing.T, rl *relay.Loopback, name string) *chat.Client {
	return chattest.Open(t, rl.Server, name)
}

// apiMsg is what the tests read of an API message.
type apiMsg struct {
	CorrID string `json:"corrId"`
	Resp   struct {
		Type            string
		ConnLinkContact struct{ ConnFullLink string }
		ContactLink     struct {
			AddressSettings struct {
				AutoAccept *struct{ AcceptIncognito bool }
			}
		}
		Contact struct {
			ContactID        int64
			LocalDisplayName string
			ContactStatus    string
			ActiveConn       struct{ ConnStatus string }
		}
		ChatItems []struct {
			ChatInfo struct {
				Type    string
				Contact struct{ LocalDisplayName string }
			}
			ChatItem struct {
				ChatDir struct{ Type string }
				Meta    struct{ ItemText string }
				Content struct {
					Type       string
					MsgContent struct{ Type, Text string }
				}
			}
		}
		ChatError struct {
			ErrorType struct{ Type, Message string }
		}
	} `json:"resp"`
	raw string
}

func read(t *testing.T, c *websocket.Conn, timeout time.Duration) apiMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m apiMsg
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	m.raw = string(b)
	if testing.Verbose() {
		t.Logf("api: %s", b)
	}
	return m
}

// await reads until a message of type typ (answer or event) arrives.
func await(t *testing.T, c *websocket.Conn, typ string) apiMsg {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		m := read(t, c, time.Until(deadline))
		if m.Resp.Type == typ {
			return m
		}
	}
}

func TestAPIOverRealSession(t *testing.T) {
	rl, err := relay.StartLoopback(relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer rl.Close()
	botClient := openClient(t, rl, "echo")
	person := openClient(t, rl, "bob")
	sess := chatcmd.New(botClient, chatcmd.Options{Version: "test"})
	defer sess.Close()
	srv := New(sess, Config{})
	ln, err := Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	defer func() { stop(); <-served }()
	ws := dial(t, "ws://"+ln.Addr().String())

	send(t, ws, `{"corrId":"1","cmd":"/ad"}`)
	m := await(t, ws, "userContactLinkCreated")
	link := m.Resp.ConnLinkContact.ConnFullLink
	if m.CorrID != "1" || !strings.HasPrefix(link, "simplex:/contact") {
		t.Fatalf("/ad: %s", m.raw)
	}
	send(t, ws, `{"corrId":"2","cmd":"/auto_accept on"}`)
	if m := await(t, ws, "userContactLinkUpdated"); m.CorrID != "2" || m.Resp.ContactLink.AddressSettings.AutoAccept == nil {
		t.Fatalf("/auto_accept: %s", m.raw)
	}
	send(t, ws, `{"corrId":"3","cmd":"not a command"}`)
	if m := await(t, ws, "chatCmdError"); m.CorrID != "3" || m.Resp.ChatError.ErrorType.Message == "" {
		t.Fatalf("bad command: %s", m.raw)
	}
	send(t, ws, `{"corrId":3,"cmd":"/ad"}`)
	if m := read(t, ws, 5*time.Second); m.raw != invalidRequest {
		t.Fatalf("bad request: %s", m.raw)
	}

	if _, err := person.ConnectAddress(ctx, link); err != nil {
		t.Fatal(err)
	}
	m = await(t, ws, "contactConnected")
	if m.CorrID != "" || m.Resp.Contact.LocalDisplayName != "bob" || m.Resp.Contact.ContactStatus != "active" || m.Resp.Contact.ActiveConn.ConnStatus != "ready" {
		t.Fatalf("contactConnected: %s", m.raw)
	}
	bob := chattest.WaitEvent[chat.ContactConnected](t, person).Contact
	if _, err := person.SendText(ctx, bob.ID, "hello bot"); err != nil {
		t.Fatal(err)
	}
	m = await(t, ws, "newChatItems")
	if len(m.Resp.ChatItems) != 1 {
		t.Fatalf("newChatItems: %s", m.raw)
	}
	ci := m.Resp.ChatItems[0]
	if ci.ChatInfo.Type != "direct" || ci.ChatInfo.Contact.LocalDisplayName != "bob" || ci.ChatItem.ChatDir.Type != "directRcv" ||
		ci.ChatItem.Content.Type != "rcvMsgContent" || ci.ChatItem.Content.MsgContent != (struct{ Type, Text string }{"text", "hello bot"}) || ci.ChatItem.Meta.ItemText != "hello bot" {
		t.Fatalf("newChatItems: %s", m.raw)
	}
	send(t, ws, `{"corrId":"4","cmd":"@bob hello bob"}`)
	m = await(t, ws, "newChatItems")
	if m.CorrID != "4" || len(m.Resp.ChatItems) != 1 || m.Resp.ChatItems[0].ChatItem.ChatDir.Type != "directSnd" || m.Resp.ChatItems[0].ChatItem.Content.Type != "sndMsgContent" {
		t.Fatalf("@bob: %s", m.raw)
	}
	if got := chattest.WaitEvent[chat.NewItem](t, person).Item.Text; got != "hello bob" {
		t.Fatalf("bob got %q", got)
	}
}

// awaitMap reads API messages until one of type typ comes, decoded loosely.
func awaitMap(t *testing.T, c *websocket.Conn, typ string) (corrID string, resp map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		var m struct {
			CorrID string         `json:"corrId"`
			Resp   map[string]any `json:"resp"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("not JSON: %s", b)
		}
		if testing.Verbose() {
			t.Logf("api: %s", b)
		}
		if m.Resp["type"] == typ {
			return m.CorrID, m.Resp
		}
	}
}

// Upstream's API-only commands, as its bot libraries send them
// (bots/api/COMMANDS.md), over the real session.
func TestUpstreamAPICommands(t *testing.T) {
	ctx, _, person, wsURL := servedBot(t)
	ws := dial(t, wsURL)

	errType := func(cmd string) any {
		t.Helper()
		send(t, ws, `{"corrId":"e","cmd":`+strconvQuote(cmd)+`}`)
		id, r := awaitMap(t, ws, "chatCmdError")
		if id != "e" {
			t.Fatalf("%s: corrId %q", cmd, id)
		}
		return chattest.JSONAt(r, "chatError", "errorType", "type")
	}
	if got := errType("/_show_address 1"); got == nil {
		t.Fatal("/_show_address without an address: no error type")
	}
	if got := errType("/_address 2"); got != "differentActiveUser" {
		t.Fatalf("/_address 2: %v", got)
	}
	send(t, ws, `{"corrId":"1","cmd":"/_address 1"}`)
	_, r := awaitMap(t, ws, "userContactLinkCreated")
	link, _ := chattest.JSONAt(r, "connLinkContact", "connFullLink").(string)
	send(t, ws, `{"corrId":"2","cmd":`+strconvQuote(`/_address_settings 1 {"businessAddress":false,"autoAccept":{"acceptIncognito":false},"autoReply":{"type":"text","text":"welcome!"}}`)+`}`)
	_, r = awaitMap(t, ws, "userContactLinkUpdated")
	if chattest.JSONAt(r, "contactLink", "addressSettings", "autoReply", "text") != "welcome!" || chattest.JSONAt(r, "contactLink", "addressSettings", "autoAccept") == nil {
		t.Fatalf("/_address_settings: %v", r)
	}
	send(t, ws, `{"corrId":"3","cmd":"/_show_address 1"}`)
	if _, r = awaitMap(t, ws, "userContactLink"); chattest.JSONAt(r, "contactLink", "connLinkContact", "connFullLink") != link {
		t.Fatalf("/_show_address: %v", r)
	}

	if _, err := person.ConnectAddress(ctx, link); err != nil {
		t.Fatal(err)
	}
	_, ev := awaitMap(t, ws, "contactConnected")
	cid := int64(chattest.JSONAt(ev, "contact", "contactId").(float64))
	bot := chattest.WaitEvent[chat.ContactConnected](t, person).Contact
	if got := chattest.WaitEvent[chat.NewItem](t, person).Item.Text; got != "welcome!" {
		t.Fatalf("auto-reply: %q", got)
	}
	mine, err := person.SendText(ctx, bot.ID, "question")
	if err != nil {
		t.Fatal(err)
	}
	for chattest.JSONAt(ev, "chatItems", 0, "chatItem", "meta", "itemText") != "question" { // the welcome may come first
		_, ev = awaitMap(t, ws, "newChatItems")
	}
	qid := int64(chattest.JSONAt(ev, "chatItems", 0, "chatItem", "meta", "itemId").(float64))

	cmd := fmt.Sprintf(`/_send @%d json [{"msgContent":{"type":"text","text":"one"}},{"quotedItemId":%d,"msgContent":{"type":"text","text":"answer"}}]`, cid, qid)
	send(t, ws, `{"corrId":"4","cmd":`+strconvQuote(cmd)+`}`)
	id, r := awaitMap(t, ws, "newChatItems")
	for id != "4" {
		id, r = awaitMap(t, ws, "newChatItems")
	}
	if chattest.JSONAt(r, "chatItems", 1, "chatItem", "meta", "itemText") != "answer" || chattest.JSONAt(r, "chatItems", 0, "chatItem", "chatDir", "type") != "directSnd" {
		t.Fatalf("/_send: %v", r)
	}
	if got := chattest.WaitEvent[chat.NewItem](t, person).Item; got.Text != "one" || got.QuoteID != 0 {
		t.Fatalf("bob got %+v", got)
	}
	if got := chattest.WaitEvent[chat.NewItem](t, person).Item; got.Text != "answer" || got.QuoteID != mine.ID {
		t.Fatalf("bob got %+v, want a reply to item %d", got, mine.ID)
	}

	oneID := int64(chattest.JSONAt(r, "chatItems", 0, "chatItem", "meta", "itemId").(float64))
	answerID := int64(chattest.JSONAt(r, "chatItems", 1, "chatItem", "meta", "itemId").(float64))

	// Edit, react, delete by id.
	cmd = fmt.Sprintf(`/_update item @%d %d json {"msgContent":{"type":"text","text":"one, edited"}}`, cid, oneID)
	send(t, ws, `{"corrId":"u","cmd":`+strconvQuote(cmd)+`}`)
	if _, r = awaitMap(t, ws, "chatItemUpdated"); chattest.JSONAt(r, "chatItem", "chatItem", "meta", "itemText") != "one, edited" || chattest.JSONAt(r, "chatItem", "chatItem", "meta", "itemEdited") != true {
		t.Fatalf("/_update item: %v", r)
	}
	if got := chattest.WaitEvent[chat.ItemUpdated](t, person).Item; got.Text != "one, edited" || !got.Edited {
		t.Fatalf("bob's edited item: %+v", got)
	}
	cmd = fmt.Sprintf(`/_reaction @%d %d on {"type":"emoji","emoji":"👍"}`, cid, qid)
	send(t, ws, `{"corrId":"r","cmd":`+strconvQuote(cmd)+`}`)
	if _, r = awaitMap(t, ws, "chatItemReaction"); chattest.JSONAt(r, "added") != true || chattest.JSONAt(r, "reaction", "chatReaction", "reaction", "emoji") != "👍" {
		t.Fatalf("/_reaction: %v", r)
	}
	if got := chattest.WaitEvent[chat.ItemUpdated](t, person).Item; len(got.Reactions) != 1 || got.Reactions[0].Emoji != "👍" {
		t.Fatalf("bob's reacted item: %+v", got)
	}
	cmd = fmt.Sprintf(`/_delete item @%d %d broadcast`, cid, answerID)
	send(t, ws, `{"corrId":"d","cmd":`+strconvQuote(cmd)+`}`)
	if _, r = awaitMap(t, ws, "chatItemsDeleted"); chattest.JSONAt(r, "byUser") != true || chattest.JSONAt(r, "chatItemDeletions", 0, "deletedChatItem", "chatItem", "meta", "itemId") != float64(answerID) {
		t.Fatalf("/_delete item: %v", r)
	}
	if got := chattest.WaitEvent[chat.ItemUpdated](t, person).Item; got.Text != "answer" || !got.Deleted {
		t.Fatalf("bob's deleted item: %+v", got)
	}

	// A disappearing message (timed messages are on by default).
	cmd = fmt.Sprintf(`/_send @%d ttl=30 json [{"msgContent":{"type":"text","text":"fleeting"}}]`, cid)
	send(t, ws, `{"corrId":"t","cmd":`+strconvQuote(cmd)+`}`)
	id, r = awaitMap(t, ws, "newChatItems")
	for id != "t" {
		id, r = awaitMap(t, ws, "newChatItems")
	}
	if chattest.JSONAt(r, "chatItems", 0, "chatItem", "meta", "itemTimed", "ttl") != float64(30) {
		t.Fatalf("/_send ttl=30: %v", r)
	}
	if got := chattest.WaitEvent[chat.NewItem](t, person).Item; got.Text != "fleeting" || got.TTL != 30*time.Second {
		t.Fatalf("bob got %+v", got)
	}

	send(t, ws, `{"corrId":"5","cmd":"/_contacts 1"}`)
	if _, r = awaitMap(t, ws, "contactsList"); chattest.JSONAt(r, "contacts", 0, "localDisplayName") != "bob" {
		t.Fatalf("/_contacts: %v", r)
	}
	send(t, ws, `{"corrId":"6","cmd":"/_connect 1"}`)
	if _, r = awaitMap(t, ws, "invitation"); chattest.JSONAt(r, "connLinkInvitation", "connFullLink") == nil {
		t.Fatalf("/_connect: %v", r)
	}
	for cmd, want := range map[string]string{
		`/_send @999 json [{"msgContent":{"type":"text","text":"x"}}]`:                              "contactNotFound",
		fmt.Sprintf(`/_send @%d ttl=0 json [{"msgContent":{"type":"text","text":"x"}}]`, cid):       "commandError",
		`/_send #1 ttl=5 json [{"msgContent":{"type":"text","text":"x"}}]`:                          "notSupported",
		fmt.Sprintf(`/_send @%d json [{"msgContent":{"type":"image","text":"","image":"x"}}]`, cid): "notSupported",
		fmt.Sprintf(`/_send @%d json nope`, cid):                                                    "commandError",
		`/_send bob json []`:                                                                        "commandError",
		`/_reject 77`:                                                                               "contactRequestNotFound",
		`/_accept x`:                                                                                "commandError",
		fmt.Sprintf(`/_delete item @%d %d broadcast`, cid, qid):                                     "invalidChatItemDelete",
		fmt.Sprintf(`/_update item @%d 999 json {"msgContent":{"type":"text","text":"x"}}`, cid):    "chatItemNotFound",
		fmt.Sprintf(`/_reaction @%d %d on {"type":"unknown"}`, cid, qid):                            "notSupported",
		`/_delete #1 full`:                                                                          "notSupported",
	} {
		if got := errType(cmd); got != want {
			t.Errorf("%s: error %v, want %s", cmd, got, want)
		}
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Several API clients send at once through one session; every message
// arrives and each client gets its own answers.
func TestConcurrentClientsRealSession(t *testing.T) {
	ctx, _, person, wsURL := servedBot(t)

	ws := dial(t, wsURL)
	send(t, ws, `{"corrId":"1","cmd":"/c"}`)
	_, r := awaitMap(t, ws, "invitation")
	link, _ := chattest.JSONAt(r, "connLinkInvitation", "connFullLink").(string)
	if _, err := person.Connect(ctx, link); err != nil {
		t.Fatal(err)
	}
	awaitMap(t, ws, "contactConnected")
	chattest.WaitEvent[chat.ContactConnected](t, person)

	const clients, each = 3, 5
	conns := []*websocket.Conn{ws}
	for len(conns) < clients {
		conns = append(conns, dial(t, wsURL))
	}
	errs := make(chan error, clients)
	for i, c := range conns {
		go func() {
			for j := range each {
				id := fmt.Sprintf("%d-%d", i, j)
				msg, _ := json.Marshal(map[string]string{"corrId": id, "cmd": fmt.Sprintf("@bob m %s", id)})
				if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
					errs <- err
					return
				}
			}
			got := 0
			for got < each {
				_, b, err := c.Read(ctx)
				if err != nil {
					errs <- err
					return
				}
				var m struct {
					CorrID string `json:"corrId"`
					Resp   struct{ Type string }
				}
				json.Unmarshal(b, &m)
				if m.CorrID == "" {
					continue // events
				}
				if !strings.HasPrefix(m.CorrID, fmt.Sprintf("%d-", i)) || m.Resp.Type != "newChatItems" {
					errs <- fmt.Errorf("client %d got %s", i, b)
					return
				}
				got++
			}
			errs <- nil
		}()
	}
	for range conns {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for len(seen) < clients*each {
		seen[chattest.WaitEvent[chat.NewItem](t, person).Item.Text] = true
	}
	for i := range clients {
		for j := range each {
			if !seen[fmt.Sprintf("m %d-%d", i, j)] {
				t.Errorf("bob did not get m %d-%d", i, j)
			}
		}
	}
}

// /_send #<groupId> sends to a group made and joined over the API.
func TestAPIGroupSend(t *testing.T) {
	ctx, _, person, wsURL := servedBot(t)
	ws := dial(t, wsURL)

	send(t, ws, `{"corrId":"1","cmd":"/c"}`)
	_, r := awaitMap(t, ws, "invitation")
	link, _ := chattest.JSONAt(r, "connLinkInvitation", "connFullLink").(string)
	if _, err := person.Connect(ctx, link); err != nil {
		t.Fatal(err)
	}
	awaitMap(t, ws, "contactConnected")
	chattest.WaitEvent[chat.ContactConnected](t, person)

	send(t, ws, `{"corrId":"2","cmd":"/g team"}`)
	_, r = awaitMap(t, ws, "groupCreated")
	gid, _ := chattest.JSONAt(r, "groupInfo", "groupId").(float64)
	if chattest.JSONAt(r, "groupInfo", "groupProfile", "displayName") != "team" || chattest.JSONAt(r, "groupInfo", "membership", "memberRole") != "owner" {
		t.Fatalf("/g team: %v", r)
	}
	send(t, ws, `{"corrId":"3","cmd":"/a team bob"}`)
	if _, r = awaitMap(t, ws, "sentGroupInvitation"); chattest.JSONAt(r, "member", "memberStatus") != "invited" || chattest.JSONAt(r, "member", "memberCategory") != "invitee" {
		t.Fatalf("/a team bob: %v", r)
	}
	inv := chattest.WaitEvent[chat.GroupInvited](t, person)
	if err := person.JoinGroup(ctx, inv.Group.ID); err != nil {
		t.Fatal(err)
	}
	_, ev := awaitMap(t, ws, "joinedGroupMember")
	if chattest.JSONAt(ev, "member", "localDisplayName") != "bob" || chattest.JSONAt(ev, "groupInfo", "groupId") != gid {
		t.Fatalf("joinedGroupMember: %v", ev)
	}
	chattest.WaitEvent[chat.MemberConnected](t, person)

	cmd := fmt.Sprintf(`/_send #%d json [{"msgContent":{"type":"text","text":"hello team"}}]`, int64(gid))
	send(t, ws, `{"corrId":"4","cmd":`+strconvQuote(cmd)+`}`)
	id, r := awaitMap(t, ws, "newChatItems")
	for id != "4" {
		id, r = awaitMap(t, ws, "newChatItems")
	}
	if chattest.JSONAt(r, "chatItems", 0, "chatInfo", "type") != "group" || chattest.JSONAt(r, "chatItems", 0, "chatItem", "chatDir", "type") != "groupSnd" {
		t.Fatalf("/_send #: %v", r)
	}
	if got := chattest.WaitEvent[chat.NewGroupItem](t, person).Item.Text; got != "hello team" {
		t.Fatalf("bob got %q", got)
	}
	if _, err := person.SendGroupText(ctx, inv.Group.ID, "hi bot"); err != nil {
		t.Fatal(err)
	}
	_, ev = awaitMap(t, ws, "newChatItems")
	for chattest.JSONAt(ev, "chatItems", 0, "chatItem", "meta", "itemText") != "hi bot" {
		_, ev = awaitMap(t, ws, "newChatItems")
	}
	if chattest.JSONAt(ev, "chatItems", 0, "chatItem", "chatDir", "type") != "groupRcv" || chattest.JSONAt(ev, "chatItems", 0, "chatItem", "chatDir", "groupMember", "localDisplayName") != "bob" {
		t.Fatalf("group message from bob: %v", ev)
	}
	// A reply in the group: the quote names bob's item.
	qid, _ := chattest.JSONAt(ev, "chatItems", 0, "chatItem", "meta", "itemId").(float64)
	cmd = fmt.Sprintf(`/_send #%d json [{"quotedItemId":%d,"msgContent":{"type":"text","text":"hi bob"}}]`, int64(gid), int64(qid))
	send(t, ws, `{"corrId":"5","cmd":`+strconvQuote(cmd)+`}`)
	for id, _ = awaitMap(t, ws, "newChatItems"); id != "5"; id, _ = awaitMap(t, ws, "newChatItems") {
	}
	reply := chattest.WaitEvent[chat.NewGroupItem](t, person).Item
	if reply.Text != "hi bob" || reply.Quote == nil || reply.QuoteID == 0 {
		t.Fatalf("bob got the reply %+v", reply)
	}
}

// TestAPIAcceptIncognito: /_accept incognito=on accepts a request with a
// random profile, so the requester never sees the bot's own.
func TestAPIAcceptIncognito(t *testing.T) {
	ctx, botClient, person, wsURL := servedBot(t)
	ws := dial(t, wsURL)

	addr, err := botClient.CreateAddress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := person.ConnectAddress(ctx, addr.Link); err != nil {
		t.Fatal(err)
	}
	var req chat.Request
	for deadline := time.Now().Add(20 * time.Second); ; {
		u, _ := botClient.ActiveUser(ctx)
		rs, _ := botClient.Requests(ctx, u.ID)
		if len(rs) == 1 {
			req = rs[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no contact request")
		}
		time.Sleep(20 * time.Millisecond)
	}
	send(t, ws, fmt.Sprintf(`{"corrId":"1","cmd":"/_accept incognito=on %d"}`, req.ID))
	if _, r := awaitMap(t, ws, "acceptingContactRequest"); chattest.JSONAt(r, "contact", "contactId") == nil {
		t.Fatalf("/_accept incognito=on: %v", r)
	}
	ct := chattest.WaitEvent[chat.ContactConnected](t, person).Contact
	if ct.Profile == nil || ct.Profile.DisplayName == "bot" {
		t.Fatalf("bob sees the bot's profile %+v", ct.Profile)
	}
}

// servedBot starts a loopback relay, a bot client whose session the API
// serves, and a second client (bob) to talk to it; all stop with the test.
func servedBot(t *testing.T) (ctx context.Context, botClient, person *chat.Client, wsURL string) {
	t.Helper()
	rl, err := relay.StartLoopback(relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rl.Close() })
	botClient = openClient(t, rl, "bot")
	person = openClient(t, rl, "bob")
	sess := chatcmd.New(botClient, chatcmd.Options{})
	t.Cleanup(func() { sess.Close() })
	srv := New(sess, Config{})
	ln, err := Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	t.Cleanup(cancel)
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	// Cleanups run last first: serving stops before the session and the relay.
	t.Cleanup(func() { stop(); <-served })
	return ctx, botClient, person, "ws://" + ln.Addr().String()
}

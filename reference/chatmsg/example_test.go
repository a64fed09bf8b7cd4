package chatmsg_test

import (
	"fmt"

	"github.com/smpkit/smpkit/reference/chatmsg"
)

// A sender encodes events and packs them for the connection; a receiver
// splits a body into messages and switches on the event type.
func Example() {
	hello := &chatmsg.Message{V: chatmsg.Supported, MsgID: []byte("fixed id 12b"), Event: &chatmsg.MsgNew{Container: chatmsg.Container{
		Content: &chatmsg.Content{Type: chatmsg.ContentText, Text: "hello", HasText: true}}}}
	probe := &chatmsg.Message{V: chatmsg.Supported, Event: &chatmsg.Probe{Probe: []byte("0123456789abcdef0123456789abcdef")}}
	bodies, err := chatmsg.Pack(chatmsg.Connection{Version: 9}, hello.Encode(), probe.Encode())
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d body: %s\n", len(bodies), bodies[0])

	items, err := chatmsg.ParseBody(bodies[0])
	if err != nil {
		panic(err)
	}
	for _, it := range items {
		switch ev := it.Msg.Event.(type) {
		case *chatmsg.MsgNew:
			fmt.Println("message:", ev.Content.DisplayText())
		case *chatmsg.Probe:
			fmt.Printf("probe of %d bytes\n", len(ev.Probe))
		}
	}
	// Output:
	// 1 body: [{"v":"1-9","msgId":"Zml4ZWQgaWQgMTJi","event":"x.msg.new","params":{"content":{"text":"hello","type":"text"}}},{"v":"1-9","event":"x.info.probe","params":{"probe":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}]
	// message: hello
	// probe of 32 bytes
}

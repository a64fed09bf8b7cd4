package vectors

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"

	cm "github.com/smpkit/smpkit/reference/chatmsg"
)

type chatFrameItem struct {
	// Message is the item's canonical encoding; Error and Where its error.
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
	Where   string `json:"where,omitempty"`
}

type chatFrameCase struct {
	Case
	Body Hex `json:"body"`
	// Where is the position of a body-level error.
	Where string          `json:"where,omitempty"`
	Items []chatFrameItem `json:"items,omitempty"`
}

// libzstdFrame is the JSON batch below compressed by the zstd 1.5.4 command
// line tool (zstd -3 --no-check), as upstream's C library writes it: an
// interoperability known answer for CH-FRAME-5.
const libzstdBatch = `[{"v":"1-9","msgId":"bGlienN0ZC1hLTAx","event":"x.msg.new","params":{"content":{"text":"compressed by libzstd 1: hello hello hello","type":"text"}}},{"v":"1-9","msgId":"bGlienN0ZC1hLTAy","event":"x.msg.new","params":{"content":{"text":"compressed by libzstd 2: hello hello hello","type":"text"}}}]`

const libzstdFrame = "28b52ffd602900250400d2071b1d606b75b0b1ad1233db99cd97ec7fc0ee8d4e257c3621c6068c68109c150d41555114ed59d679f5e81c3369576ab31fac71a9b2d4b89b1df9a242791e9a302a87f6fd12279157773044967e08fd7e427ef8ea94a04030abb008242037cec0be6f87a5dfd50780f5fd7388110700c02306e875318478851d53d82d65aa8c569d01"

func chatFrameMsgs() [][]byte {
	var out [][]byte
	for i, text := range []string{"one", "two", "three: " + string(bytes.Repeat([]byte("long text "), 30))} {
		m := &cm.Message{V: cm.Supported, MsgID: cid(fmt.Sprint("frame ", i)), Event: &cm.MsgNew{Container: cm.Container{Content: fxText(text)}}}
		out = append(out, m.Encode())
	}
	return out
}

func be16(n int) []byte { return []byte{byte(n >> 8), byte(n)} }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func genChatFraming() (any, error) {
	f := File[chatFrameCase]{
		Topic: "Chat body framings",
		Description: "Agent message bodies in each framing of spec/chat.md §4. Valid: ParseBody(body) gives items in order, " +
			"each either a message whose canonical encoding is message or an error of kind error at where (an error in one " +
			"message of a batch does not reject the others, CH-FRAME-7). Invalid: the whole body is rejected with error at where.",
		Spec: "spec/chat.md §4",
	}
	msgs := chatFrameMsgs()
	z, err := hex.DecodeString(libzstdFrame)
	if err != nil {
		return nil, err
	}
	bin, err := cm.EncodeBinaryBatch(msgs[0], []byte("/G\x01M signed element"), msgs[1])
	if err != nil {
		return nil, err
	}
	bin2, err := cm.EncodeBinaryBatch(msgs...)
	if err != nil {
		return nil, err
	}
	cPass, err := cm.Compress(msgs[0])
	if err != nil {
		return nil, err
	}
	cBatch, err := cm.Compress(cm.EncodeJSONBatch(msgs...))
	if err != nil {
		return nil, err
	}
	cTwo, err := cm.Compress(msgs[0], msgs[2])
	if err != nil {
		return nil, err
	}
	cBin, err := cm.Compress(bin2)
	if err != nil {
		return nil, err
	}
	bomb := func() []byte {
		b, _ := cm.Compress(bytes.Repeat([]byte("{"), cm.MaxDecompressedLength+1))
		return b
	}()
	valid := []struct {
		id, spec, comment string
		body              []byte
	}{
		{"single", "CH-FRAME-1", "one JSON message", msgs[0]},
		{"json-batch", "CH-FRAME-2", "", cm.EncodeJSONBatch(msgs...)},
		{"json-batch-bad-element", "CH-FRAME-2", "a non-object element fails alone", cat([]byte("["), msgs[0], []byte(",7,"), msgs[1], []byte("]"))},
		{"binary-batch", "CH-FRAME-3", "", bin2},
		{"binary-batch-signed-element", "CH-FRAME-4", "a signed element is reported, the others decode", bin},
		{"binary-batch-bad-message", "CH-FRAME-3", "an element that is not a valid message fails alone", cat([]byte{'=', 2}, be16(2), []byte("{}"), be16(len(msgs[0])), msgs[0])},
		{"compressed-passthrough", "CH-FRAME-5", "an item of at most 180 bytes is stored as is", cPass},
		{"compressed-json-batch", "CH-FRAME-5", "a JSON batch compressed with zstd", cBatch},
		{"compressed-two-items", "CH-FRAME-5", "a stored item and a zstd item", cTwo},
		{"compressed-binary-batch", "CH-FRAME-6", "a compressed item holding a binary batch", cBin},
		{"compressed-libzstd", "CH-FRAME-5", "a frame written by the C library (zstd 1.5.4 -3 --no-check) from the body of libzstd-plain", cat([]byte{'X', 1, '1'}, be16(len(z)), z)},
		{"libzstd-plain", "CH-FRAME-2", "the JSON batch compressed in compressed-libzstd", []byte(libzstdBatch)},
	}
	for _, v := range valid {
		items, err := cm.ParseBody(v.body)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v.id, err)
		}
		c := chatFrameCase{Case: Case{ID: v.id, Spec: v.spec, Valid: true, Comment: v.comment}, Body: v.body}
		for _, it := range items {
			if it.Err != nil {
				c.Items = append(c.Items, chatFrameItem{Error: cm.KindName(it.Err), Where: cm.Where(it.Err)})
			} else {
				c.Items = append(c.Items, chatFrameItem{Message: string(it.Msg.Encode())})
			}
		}
		f.Cases = append(f.Cases, c)
	}
	m0 := msgs[0]
	invalid := []struct {
		id, spec, comment string
		body              []byte
	}{
		{"empty", "CH-FRAME-1", "", []byte{}},
		{"unknown-first-byte", "CH-FRAME-1", "upstream's binary file chunk F is outside this revision", []byte("F\x00\x00\x00\x01chunk")},
		{"json-batch-empty", "CH-FRAME-2", "", []byte("[]")},
		{"json-batch-broken", "CH-FRAME-2", "", cat([]byte("["), m0)},
		{"binary-count-zero", "CH-FRAME-3", "", []byte{'=', 0}},
		{"binary-no-count", "CH-FRAME-3", "", []byte{'='}},
		{"binary-truncated-length", "CH-FRAME-3", "", cat([]byte{'=', 2}, be16(len(m0)), m0, []byte{0})},
		{"binary-truncated-element", "CH-FRAME-3", "", cat([]byte{'=', 1}, be16(len(m0)+1), m0)},
		{"binary-trailing", "CH-FRAME-3", "", cat([]byte{'=', 1}, be16(len(m0)), m0, []byte("{}"))},
		{"compressed-count-zero", "CH-FRAME-5", "", []byte{'X', 0}},
		{"compressed-unknown-tag", "CH-FRAME-5", "", cat([]byte{'X', 1, '2', 2}, []byte("{}"))},
		{"compressed-truncated", "CH-FRAME-5", "", cat([]byte{'X', 1, '1'}, be16(len(z)), z[:len(z)-10])},
		{"compressed-garbage", "CH-FRAME-5", "", cat([]byte{'X', 1, '1'}, be16(8), []byte("not zstd"))},
		{"compressed-trailing", "CH-FRAME-5", "", cat(cPass, []byte{'0'})},
		{"compressed-over-limit", "CH-FRAME-6", "declares and holds 65537 bytes", bomb},
		{"compressed-over-total", "CH-FRAME-6", "two items of 40000 bytes each: together over 65536", func() []byte {
			item := append(append([]byte(`{"v":"1-9","event":"x.ok","params":{"pad":"`), bytes.Repeat([]byte("a"), 40000-46)...), []byte(`"}}`)...)
			b, _ := cm.Compress(item, item)
			return b
		}()},
		{"compressed-nested", "CH-FRAME-6", "a compressed body inside a stored item", cat([]byte{'X', 1, '0', byte(len(cPass))}, cPass)},
		{"compressed-inner-empty", "CH-FRAME-1", "a stored item of zero bytes", []byte{'X', 1, '0', 0}},
	}
	for _, v := range invalid {
		_, err := cm.ParseBody(v.body)
		if err == nil {
			return nil, fmt.Errorf("%s: accepted", v.id)
		}
		f.Cases = append(f.Cases, chatFrameCase{Case: Case{ID: v.id, Spec: v.spec, Valid: false, Error: cm.KindName(err), Comment: v.comment}, Body: v.body, Where: cm.Where(err)})
	}
	return f, nil
}

func verifyChatFraming(data []byte) error {
	return Check(data, func(c chatFrameCase) string { return c.ID }, func(c chatFrameCase) error {
		items, err := cm.ParseBody(c.Body)
		if !c.Valid {
			if err == nil {
				return errors.New("accepted")
			}
			if cm.KindName(err) != c.Error || cm.Where(err) != c.Where {
				return fmt.Errorf("got %v, want %s at %q", err, c.Error, c.Where)
			}
			return nil
		}
		if err != nil {
			return err
		}
		if len(items) != len(c.Items) {
			return fmt.Errorf("%d items, want %d", len(items), len(c.Items))
		}
		for i, it := range items {
			w := c.Items[i]
			if w.Error != "" {
				if cm.KindName(it.Err) != w.Error || cm.Where(it.Err) != w.Where {
					return fmt.Errorf("item %d: got %v, want %s at %q", i, it.Err, w.Error, w.Where)
				}
				continue
			}
			if it.Err != nil {
				return fmt.Errorf("item %d: %w", i, it.Err)
			}
			if got := string(it.Msg.Encode()); got != w.Message {
				return fmt.Errorf("item %d:\n%s\nwant\n%s", i, got, w.Message)
			}
		}
		return nil
	})
}

package chatmsg

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"pgregory.net/rapid"
)

// Encoding is canonical and decoding loses nothing: encode(parse(encode(m)))
// is encode(m) byte for byte, for every event type, with unknown fields
// (CH-JSON-2, CH-EXT-1, CH-EXT-2).
func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genMessage(t, 0)
		b := m.Encode()
		got, err := ParseMessage(b)
		if err != nil {
			t.Fatalf("parse %s: %v", b, err)
		}
		if got.Event.Name() != m.Event.Name() {
			t.Fatalf("event %s, want %s", got.Event.Name(), m.Event.Name())
		}
		if b2 := got.Encode(); !bytes.Equal(b, b2) {
			t.Fatalf("re-encoding differs:\n%s\n%s", b, b2)
		}
	})
}

// Every framing carries any list of messages unchanged (CH-FRAME-2..6).
func TestFramingRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 5).Draw(t, "n")
		var encs [][]byte
		for i := 0; i < n; i++ {
			encs = append(encs, genMessage(t, 0).Encode())
		}
		var body []byte
		var err error
		switch rapid.IntRange(0, 3).Draw(t, "framing") {
		case 0:
			body = EncodeJSONBatch(encs...)
		case 1:
			body, err = EncodeBinaryBatch(encs...)
		case 2:
			body, err = Compress(EncodeJSONBatch(encs...))
		case 3:
			body, err = Compress(encs...)
		}
		if err != nil {
			t.Skip(err) // a message over 64 KiB
		}
		items, err := ParseBody(body)
		if err != nil {
			t.Fatalf("parse body: %v", err)
		}
		if len(items) != n {
			t.Fatalf("%d items, want %d", len(items), n)
		}
		for i, it := range items {
			if it.Err != nil {
				t.Fatalf("item %d: %v", i, it.Err)
			}
			if got := it.Msg.Encode(); !bytes.Equal(got, encs[i]) {
				t.Fatalf("item %d:\n%s\nwant\n%s", i, got, encs[i])
			}
		}
	})
}

// Batch keeps order, respects the limit and loses nothing (CH-SIZE-2).
func TestBatch(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		limit := rapid.IntRange(100, 3000).Draw(t, "limit")
		var encs [][]byte
		for i := rapid.IntRange(0, 12).Draw(t, "n"); i > 0; i-- {
			encs = append(encs, []byte(`{"v":"1","event":"x.msg.new","params":{"content":{"text":"`+strings.Repeat("a", rapid.IntRange(0, 400).Draw(t, "len"))+`","type":"text"}}}`))
		}
		batches, err := Batch(limit, encs...)
		if err != nil {
			if !errors.Is(err, ErrLimit) {
				t.Fatal(err)
			}
			return
		}
		var got [][]byte
		for _, b := range batches {
			if len(b) > limit {
				t.Fatalf("batch of %d bytes over %d", len(b), limit)
			}
			items, err := ParseBody(b)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				got = append(got, it.Raw)
			}
		}
		if len(got) != len(encs) {
			t.Fatalf("%d messages, want %d", len(got), len(encs))
		}
		for i := range got {
			if !bytes.Equal(got[i], encs[i]) {
				t.Fatalf("message %d changed", i)
			}
		}
	})
}

// CH-VER-1, CH-VER-4
func TestVersionRange(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		lo := rapid.Uint16().Draw(t, "lo")
		r := VersionRange{lo, rapid.Uint16Range(lo, 65535).Draw(t, "hi")}
		got, err := ParseVersionRange(r.String())
		if err != nil || got != r {
			t.Fatalf("%v: %v %v", r, got, err)
		}
	})
	for _, bad := range []string{"", "-", "1-", "-1", "2-1", "+1", "1-2-3", "65536", " 1", "1.0", "01x"} {
		if _, err := ParseVersionRange(bad); err == nil {
			t.Errorf("ParseVersionRange(%q) accepted", bad)
		}
	}
	for _, c := range []struct {
		local, peer VersionRange
		v           uint16
		ok          bool
	}{
		{Supported, VersionRange{1, 16}, 9, true},
		{Supported, VersionRange{1, 5}, 5, true},
		{Supported, VersionRange{1, 1}, 1, true},
		{VersionRange{1, 9}, VersionRange{10, 16}, 10, false},
		{VersionRange{5, 9}, VersionRange{1, 3}, 3, false},
	} {
		if v, ok := Negotiate(c.local, c.peer); v != c.v || ok != c.ok {
			t.Errorf("Negotiate(%v, %v) = %d %v, want %d %v", c.local, c.peer, v, ok, c.v, c.ok)
		}
	}
}

// A body that decompresses past the limit is refused, with and without a
// declared content size (CH-FRAME-6).
func TestDecompressionLimit(t *testing.T) {
	zOnce.Do(zInit)
	big := bytes.Repeat([]byte("{"), MaxDecompressedLength+1)
	z := zEnc.EncodeAll(big, nil)
	body := append([]byte{'X', 1, '1', byte(len(z) >> 8), byte(len(z))}, z...)
	if _, err := ParseBody(body); !errors.Is(err, ErrCompression) {
		t.Fatalf("over-limit item: %v", err)
	}
	ok := bytes.Repeat([]byte(" "), MaxDecompressedLength-2)
	ok = append(append([]byte("{"), ok...), '}')
	z = zEnc.EncodeAll(ok, nil)
	body = append([]byte{'X', 1, '1', byte(len(z) >> 8), byte(len(z))}, z...)
	items, err := ParseBody(body)
	if err != nil || len(items) != 1 {
		t.Fatalf("at-limit item: %v %v", items, err)
	}
}

// CH-PROF-2
func TestDisplayName(t *testing.T) {
	for _, ok := range []string{"alice", "Alice Smith", "борис", "a#b"} {
		if err := ValidDisplayName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", " alice", "alice ", "#team", "@bob", "a\nb"} {
		if ValidDisplayName(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// CH-PROF-4
func TestRedacted(t *testing.T) {
	img, link := "data:image/png;base64,AA==", "simplex:/contact#x"
	p := &Profile{DisplayName: "a", FullName: "A", Image: &img, ContactLink: &link, Preferences: &Preferences{}, Extra: Object{"shortDescr": []byte(`"hi"`), "peerType": []byte(`"bot"`)}}
	got := string(p.Redacted().encode())
	want := `{"displayName":"a","fullName":"A","image":"data:image/png;base64,AA==","peerType":"bot","shortDescr":"hi"}`
	if got != want {
		t.Fatalf("%s\nwant %s", got, want)
	}
}

func TestDecompressionLimitNoSize(t *testing.T) {
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(bytes.Repeat([]byte("{"), 10*MaxDecompressedLength))
	w.Close()
	z := buf.Bytes()
	body := append([]byte{'X', 1, '1', byte(len(z) >> 8), byte(len(z))}, z...)
	if _, err := ParseBody(body); !errors.Is(err, ErrCompression) {
		t.Fatalf("over-limit streamed item: %v", err)
	}
}

// A time whose offset moves it before year 0 in UTC cannot be written back:
// it is refused rather than re-encoded into something unparsable.
func TestTimeRange(t *testing.T) {
	m := `{"v":"1","event":"x.grp.msg.forward","params":{"msg":{"v":"1","event":"x.ok","params":{}},"msgTs":"0000-01-01T00:00:00+01:00"}}`
	if _, err := ParseMessage([]byte(m)); !errors.Is(err, ErrParams) || Where(err) != "params.msgTs" {
		t.Fatalf("got %v", err)
	}
	if got := FormatTime(time.Date(2025, 1, 1, 10, 0, 0, 500_000_000, time.UTC)); got != "2025-01-01T10:00:00.5Z" {
		t.Fatal(got)
	}
}

// Pack follows the connection's version (CH-VER-4, CH-SIZE-1..4): no batches before version 5 in
// groups and 9 in direct connections, compression only from version 8 on PQ
// connections and only above the compressed limit; whatever it returns
// parses back to the same messages.
func TestPack(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := Connection{Version: rapid.Uint16Range(1, 12).Draw(t, "v"), Group: rapid.Bool().Draw(t, "group"), PQ: rapid.Bool().Draw(t, "pq")}
		var msgs [][]byte
		for i := rapid.IntRange(1, 40).Draw(t, "n"); i > 0; i-- {
			text := strings.Repeat(rapid.SampledFrom([]string{"a", "ab", "hello "}).Draw(t, "t"), rapid.IntRange(0, 2500).Draw(t, "len"))
			msgs = append(msgs, (&Message{V: Supported, MsgID: []byte{1}, Event: &MsgNew{Container: Container{Content: &Content{Type: ContentText, Text: text, HasText: true}}}}).Encode())
		}
		bodies, err := Pack(c, msgs...)
		if err != nil {
			t.Fatal(err)
		}
		var got [][]byte
		for _, b := range bodies {
			if b[0] == FrameJSONBatch && !c.CanBatch() {
				t.Fatal("batch on a connection that cannot take one")
			}
			if b[0] == FrameCompressed && (!c.PQ || c.Version < VersionCompression) {
				t.Fatal("compressed body on a connection that cannot take one")
			}
			if c.PQ && c.Version >= VersionCompression && len(b) > MaxCompressedMsgLength {
				t.Fatalf("PQ body of %d bytes", len(b))
			}
			if len(b) > MaxEncodedMsgLength {
				t.Fatalf("body of %d bytes", len(b))
			}
			items, err := ParseBody(b)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				got = append(got, it.Raw)
			}
		}
		if len(got) != len(msgs) {
			t.Fatalf("%d messages back, want %d", len(got), len(msgs))
		}
		for i := range got {
			if !bytes.Equal(got[i], msgs[i]) {
				t.Fatalf("message %d changed", i)
			}
		}
	})
	if _, err := Pack(Connection{Version: 9}, make([]byte, MaxEncodedMsgLength+1)); !errors.Is(err, ErrLimit) {
		t.Fatalf("over-long message: %v", err)
	}
	if _, err := Pack(Connection{Version: 9, Info: true}, []byte("{}"), []byte("{}")); !errors.Is(err, ErrLimit) {
		t.Fatalf("two messages of connection info: %v", err)
	}
}

func TestIDs(t *testing.T) {
	id, err := NewID(nil)
	if err != nil || len(id) != IDLength {
		t.Fatal(id, err)
	}
	p, err := NewProbe(nil)
	if err != nil || len(p) != ProbeLength || len(ProbeHash(p)) != 32 {
		t.Fatal(p, err)
	}
	if _, err := NewID(bytes.NewReader([]byte{1, 2})); err == nil {
		t.Fatal("short reader accepted")
	}
}

package qr

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"path/filepath"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// A link of the size smp-chat prints, in the shape of an invitation.
const link = "simplex:/invitation#/?v=2-7&smp=smp%3A%2F%2FAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D%40127.0.0.1%3A41234%2FBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB%23%2F%3Fv%3D1-4%26dh%3DMCowBQYDK2VuAyEAzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz%253D&e2e=v%3D2-3%26x3dh%3DMEIwBQYDK2VvAzkA"

func TestPNGRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "link.png")
	if err := WritePNG(path, link); err != nil {
		t.Fatal(err)
	}
	got, err := DecodeFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != link {
		t.Fatalf("decoded %q, want %q", got, link)
	}
}

func TestPNGRoundTripRapid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.StringMatching(`[a-zA-Z0-9:/#?=&%.-]{1,200}`).Draw(t, "text")
		b, err := PNG(s, 4)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(bytes.NewReader(b))
		if err != nil || got != s {
			t.Fatalf("decoded %q, %v; want %q", got, err, s)
		}
	})
}

func TestTerminalSquare(t *testing.T) {
	lines, err := Terminal(link)
	if err != nil {
		t.Fatal(err)
	}
	w := len([]rune(lines[0]))
	if want := (w + 1) / 2; len(lines) != want {
		t.Fatalf("%d lines for width %d, want %d", len(lines), w, want)
	}
	for i, l := range lines {
		if len([]rune(l)) != w {
			t.Fatalf("line %d has width %d, want %d", i, len([]rune(l)), w)
		}
	}
	if !strings.HasPrefix(lines[0], "███") {
		t.Fatalf("no quiet zone: %q", lines[0])
	}
}

func TestDecodeNotACode(t *testing.T) {
	if _, err := Decode(strings.NewReader("not an image")); err == nil {
		t.Fatal("decoded garbage")
	}
	img := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(&buf); !errors.Is(err, ErrNoCode) {
		t.Fatalf("blank image: %v, want ErrNoCode", err)
	}
}

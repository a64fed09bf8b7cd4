// Package qr draws links as QR codes (in a terminal and as PNG images) and
// reads them back from images: how smp-chat shows an invitation to a phone
// camera and how it takes one from a photo or screenshot.
package qr

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // decoders for Decode
	_ "image/jpeg"
	"image/png"
	"io"
	"os"
	"strings"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
	"rsc.io/qr"
)

// quiet is the white border around a code, in modules (the QR standard asks
// for four; terminals are cramped, readers cope with two).
const quiet = 2

func encode(text string) (*qr.Code, error) {
	c, err := qr.Encode(text, qr.L)
	if err != nil {
		return nil, fmt.Errorf("qr: encode %d bytes: %w", len(text), err)
	}
	return c, nil
}

// Terminal draws text's QR code with Unicode half blocks, two modules per
// character cell, dark on a light background whatever the terminal's
// colours: every module is printed, light ones as a full block.
func Terminal(text string) ([]string, error) {
	c, err := encode(text)
	if err != nil {
		return nil, err
	}
	n := c.Size + 2*quiet
	dark := func(x, y int) bool {
		x, y = x-quiet, y-quiet
		return x >= 0 && y >= 0 && x < c.Size && y < c.Size && c.Black(x, y)
	}
	var lines []string
	for y := 0; y < n; y += 2 {
		var b strings.Builder
		for x := 0; x < n; x++ {
			top, bottom := dark(x, y), y+1 < n && dark(x, y+1)
			if y+1 >= n {
				bottom = false
			}
			switch {
			case !top && !bottom:
				b.WriteString("█")
			case top && !bottom:
				b.WriteString("▄")
			case !top && bottom:
				b.WriteString("▀")
			default:
				b.WriteString(" ")
			}
		}
		lines = append(lines, b.String())
	}
	return lines, nil
}

// PNG returns text's QR code as a PNG image, scale pixels per module.
func PNG(text string, scale int) ([]byte, error) {
	c, err := encode(text)
	if err != nil {
		return nil, err
	}
	if scale < 1 {
		scale = 1
	}
	const quiet = 4 // the standard's border: readers need it on small codes
	n := (c.Size + 2*quiet) * scale
	img := image.NewGray(image.Rect(0, 0, n, n))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := 0; y < c.Size; y++ {
		for x := 0; x < c.Size; x++ {
			if !c.Black(x, y) {
				continue
			}
			for dy := 0; dy < scale; dy++ {
				row := ((y+quiet)*scale + dy) * img.Stride
				for dx := 0; dx < scale; dx++ {
					img.Pix[row+(x+quiet)*scale+dx] = 0
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("qr: png: %w", err)
	}
	return buf.Bytes(), nil
}

// WritePNG saves text's QR code as a PNG file.
func WritePNG(path, text string) error {
	b, err := PNG(text, 6)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("qr: %w", err)
	}
	return nil
}

// ErrNoCode is returned when an image holds no readable QR code.
var ErrNoCode = errors.New("qr: no QR code found in the image")

// Decode reads the text of the QR code in an image (PNG, JPEG or GIF).
func Decode(r io.Reader) (text string, err error) {
	defer func() {
		// The decoder is third-party code fed with untrusted images.
		if p := recover(); p != nil {
			text, err = "", fmt.Errorf("qr: decoder failed: %v", p)
		}
	}()
	img, _, err := image.Decode(r)
	if err != nil {
		return "", fmt.Errorf("qr: image: %w", err)
	}
	// Clean images (ours, screenshots) read best as a pure code; photos
	// need the detector, with either binarizer.
	src := gozxing.NewLuminanceSourceFromImage(img)
	attempts := []struct {
		bin   func(gozxing.LuminanceSource) gozxing.Binarizer
		hints map[gozxing.DecodeHintType]any
	}{
		{gozxing.NewHybridBinarizer, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true}},
		{gozxing.NewHybridBinarizer, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}},
		{gozxing.NewGlobalHistgramBinarizer, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}},
	}
	var last error
	for _, a := range attempts {
		bmp, err := gozxing.NewBinaryBitmap(a.bin(src))
		if err != nil {
			last = err
			continue
		}
		res, err := zxqr.NewQRCodeReader().Decode(bmp, a.hints)
		if err == nil {
			return res.GetText(), nil
		}
		last = err
	}
	return "", fmt.Errorf("%w (%v)", ErrNoCode, last)
}

// DecodeFile reads the QR code in an image file.
func DecodeFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("qr: %w", err)
	}
	defer f.Close()
	return Decode(f)
}

package qr

import (
	"bytes"
	"errors"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// FuzzDecodeImage feeds image files (PNG, JPEG and GIF, cut and mutated)
// through the file path: sniffing, header bounds, pixel decoding, a first
// decoding attempt. It must never panic, and every error must wrap one of
// the package's sentinels. The bounds themselves are tested elsewhere; the
// retries are fuzzed on small rasters by FuzzScanPixels.
//
// Runs are kept cheap (one attempt, small bounds) and seeds small (the
// committed fixtures of at most 16 KB, plus tiny renders in each format):
// the fuzzing engine minimises every new interesting input by running it
// again thousands of times.
func FuzzDecodeImage(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil || !IsImage(b) || len(b) > 16<<10 {
			continue
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	tiny, err := Encode([]byte("HC1:FUZZ"), &EncodeOptions{ModuleSize: 2, Level: "L"})
	if err != nil {
		f.Fatal(err)
	}
	for _, enc := range []func(io.Writer, image.Image) error{
		png.Encode,
		func(w io.Writer, m image.Image) error { return jpeg.Encode(w, m, &jpeg.Options{Quality: 60}) },
		func(w io.Writer, m image.Image) error { return gif.Encode(w, m, nil) },
	} {
		var buf bytes.Buffer
		if err := enc(&buf, tiny); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add(pngHeader(100000, 100000))
	f.Add(pngHeader(64, 64))
	f.Add(gifHeader(65535, 65535))
	f.Add(jpegHeader(300, 300))
	// Small bounds and one attempt keep each run short: the fuzzing engine
	// minimises interesting inputs by running them again many times.
	opts := &Options{
		MaxFileSize: 1 << 20,
		MaxPixels:   512 * 512,
		MaxSide:     2048,
		MaxAttempts: 1,
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := ScanBytes(b, opts)
		if err != nil {
			for _, s := range []error{ErrNoQRCode, ErrTooLarge, ErrUnsupportedImage, ErrCorruptImage, ErrEmpty} {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error without a sentinel: %v", err)
		}
		if res == nil || res.Attempts < 1 || res.Strategy == "" {
			t.Fatalf("success without a result: %+v", res)
		}
	})
}

// FuzzScanPixels runs every decoding attempt (scales, quiet zone, turns,
// inversion, blur, both binarizers, pure mode) over arbitrary small grey
// rasters: gozxing must not bring the caller down whatever bitmap it sees.
// The first byte picks the width.
func FuzzScanPixels(f *testing.F) {
	tiny, err := Encode([]byte("HC1:FUZZ"), &EncodeOptions{ModuleSize: 2, Level: "L", QuietZone: 2})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(append([]byte{byte(tiny.Rect.Dx() - 1)}, tiny.Pix...)) // the first byte is the width less one
	f.Add(append([]byte{40}, bytes.Repeat([]byte{0, 255, 0, 0, 0, 255, 255}, 40*6)...))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 2 {
			return
		}
		w := 1 + int(b[0])%160
		pix := b[1:]
		h := min(len(pix)/w, 160)
		if h == 0 {
			return
		}
		img := &image.Gray{Pix: pix[:w*h], Stride: w, Rect: image.Rect(0, 0, w, h)}
		res, err := Scan(img, nil)
		if err != nil && !errors.Is(err, ErrNoQRCode) {
			t.Fatalf("error without ErrNoQRCode: %v", err)
		}
		if err == nil && res.Attempts < 1 {
			t.Fatalf("result without attempts: %+v", res)
		}
	})
}

// FuzzReadSegments runs the segment reader over arbitrary codewords for
// every version range: no panic, output bounded by the input.
func FuzzReadSegments(f *testing.F) {
	f.Add([]byte("\x40\x3f\xf0\x08\x00\xec\x11"), uint8(1))
	f.Add([]byte("\x71\xa4\x03\xff\x00\x80\x10\x10\x7b\x40\x20\x1a\x0b\x48\x00"), uint8(5))
	f.Add([]byte("\x30\x15\xa4\x00\x02\x6f\x6b\x00"), uint8(12))
	f.Add([]byte("\xd1\x00\x3f\xff\xff"), uint8(30))
	f.Add([]byte("\x80\x4f\xff\xff\xff\xff"), uint8(39))
	f.Fuzz(func(t *testing.T, codewords []byte, v uint8) {
		version, err := decoder.Version_GetVersionForNumber(int(v)%40 + 1)
		if err != nil {
			t.Fatal(err)
		}
		out, err := readSegments(codewords, version)
		if err == nil && len(out) > 3*len(codewords) {
			t.Fatalf("%d bytes out of %d codewords", len(out), len(codewords))
		}
	})
}

// FuzzEstimate runs the header readers behind the memory estimate (PNG
// chunks, JPEG markers up to the frame header) over arbitrary bytes and
// dimensions: no panic, no endless loop, and never less than the
// luminance copy and the decoded pixels at one byte each.
func FuzzEstimate(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil || !IsImage(b) {
			continue
		}
		f.Add(b[:min(len(b), 4096)], uint16(300), uint16(200))
	}
	f.Add(pngHeaderOf(12000, 3333, 16, 6), uint16(12000), uint16(3333))
	f.Add(pngHeaderOf(640, 480, 8, 3), uint16(640), uint16(480))
	f.Add(jpegHeader(300, 300), uint16(300), uint16(300))
	f.Add(gifHeader(64, 64), uint16(64), uint16(64))
	f.Add([]byte{0xff, 0xd8, 0xff, 0xff, 0xff, 0xc2, 0, 17, 8, 0, 1, 0, 1, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1}, uint16(1), uint16(1))
	f.Fuzz(func(t *testing.T, b []byte, w, h uint16) {
		width, height := 1+int(w)%12000, 1+int(h)%12000
		px := int64(width) * int64(height)
		for _, format := range []string{sniff(b), "png", "jpeg", "gif"} {
			c := estimate(format, b, image.Config{Width: width, Height: height})
			if c.decode < px || c.bytes(symQR) < 2*px || c.what == "" {
				t.Fatalf("%s: %+v for %dx%d", format, c, width, height)
			}
		}
	})
}

package qr

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/aztec"
)

// allocated returns the bytes f allocates: everything it allocates, garbage
// included, so at least the most it holds at once.
func allocated(f func()) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return int64(after.TotalAlloc - before.TotalAlloc)
}

// memoryCases are images of every kind the decoders tell apart: PNG colour
// types and depths, with and without transparency, interlaced; JPEG grey,
// every chroma subsampling, RGB, CMYK, progressive; GIF. They come from
// Go's own image test files where Go's encoders cannot make them.
func memoryCases(t *testing.T) map[string][]byte {
	t.Helper()
	cases := map[string][]byte{}
	base := image.NewNRGBA(image.Rect(0, 0, 320, 200))
	for i := range base.Pix {
		base.Pix[i] = byte(i * 7 / 3)
	}
	encodePNG := func(name string, img image.Image) {
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		cases[name] = buf.Bytes()
	}
	gray, gray16 := image.NewGray(base.Rect), image.NewGray16(base.Rect)
	rgba, rgba64, nrgba64 := image.NewRGBA(base.Rect), image.NewRGBA64(base.Rect), image.NewNRGBA64(base.Rect)
	pal := image.NewPaletted(base.Rect, color.Palette{color.Black, color.White, color.Gray{128}})
	for _, m := range []draw.Image{gray, gray16, rgba, rgba64, nrgba64, pal} {
		draw.Draw(m, m.Bounds(), base, image.Point{}, draw.Src)
	}
	encodePNG("PNG 8-bit grey", gray)
	encodePNG("PNG 16-bit grey", gray16)
	encodePNG("PNG 8-bit RGB", rgba)
	encodePNG("PNG 8-bit RGBA", base)
	encodePNG("PNG 16-bit RGB", rgba64)
	encodePNG("PNG 16-bit RGBA", nrgba64)
	encodePNG("PNG paletted", pal)
	for name, q := range map[string]int{"JPEG colour 4:2:0": 90} {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, base, &jpeg.Options{Quality: q}); err != nil {
			t.Fatal(err)
		}
		cases[name] = buf.Bytes()
	}
	var jpg, gf bytes.Buffer
	if err := jpeg.Encode(&jpg, gray, nil); err != nil {
		t.Fatal(err)
	}
	cases["JPEG grey"] = jpg.Bytes()
	if err := gif.Encode(&gf, pal, nil); err != nil {
		t.Fatal(err)
	}
	cases["GIF"] = gf.Bytes()

	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Logf("no Go tree for the image package's test files: %v", err)
		return cases
	}
	root := strings.TrimSpace(string(out))
	for _, name := range []string{
		"image/testdata/video-001.progressive.jpeg",
		"image/testdata/video-001.q50.444.jpeg",
		"image/testdata/video-001.q50.444.progressive.jpeg",
		"image/testdata/video-001.q50.410.progressive.jpeg",
		"image/testdata/video-001.q50.422.jpeg",
		"image/testdata/video-001.q50.440.progressive.jpeg",
		"image/testdata/video-001.cmyk.jpeg",
		"image/testdata/video-001.rgb.jpeg",
		"image/testdata/video-005.gray.q50.2x2.progressive.jpeg",
		"image/testdata/video-001.interlaced.gif",
		"image/png/testdata/benchRGB-interlace.png",
		"image/png/testdata/gray-gradient.interlaced.png",
		"image/png/testdata/pngsuite/basn0g16.png",
		"image/png/testdata/pngsuite/basn4a16.png",
		"image/png/testdata/pngsuite/basn3p08-trns.png",
		"image/png/testdata/pngsuite/ftbbn0g04.png",
		"image/png/testdata/pngsuite/ftbrn2c08.png",
		"image/png/testdata/pngsuite/ftbwn0g16.png",
		"image/png/testdata/pngsuite/basn3p04-31i.png",
	} {
		b, err := os.ReadFile(filepath.Join(root, "src", filepath.FromSlash(name)))
		if err != nil {
			t.Logf("skipping %s: %v", name, err)
			continue
		}
		cases[name] = b
	}
	return cases
}

// The memory estimated from the header bounds what decoding and the
// luminance copy really allocate, for every kind of image, and is not
// wildly more.
func TestMemoryEstimateBoundsDecoding(t *testing.T) {
	for name, b := range memoryCases(t) {
		codec, c, err := readHeader(b, nil)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		lum := int64(c.w) * int64(c.h)
		var derr error
		got := allocated(func() { _, derr = decodeLuminance(codec, b, c, nil) })
		if derr != nil {
			t.Errorf("%s: %v", name, derr)
			continue
		}
		want := c.decode + lum
		t.Logf("%-52s %-34s %5dx%-5d allocated %8d, estimated %8d (%.2f)", name, c.what, c.w, c.h, got, want, float64(want)/float64(got))
		if got > want {
			t.Errorf("%s (%s): decoding allocated %d bytes, more than the %d estimated", name, c.what, got, want)
		}
		if want > 3*got+decoderState {
			t.Errorf("%s (%s): estimated %d bytes for %d allocated", name, c.what, want, got)
		}
	}
}

// For images small (enlarged), middling, large (reduced) and long, the
// scanner's working copies stay within workingBytes, and the whole ladder
// within DefaultMaxWork: by default every attempt runs.
func TestLadderWithinBounds(t *testing.T) {
	for _, size := range [][2]int{{60, 60}, {100, 100}, {250, 190}, {399, 399}, {599, 599}, {1999, 1999}, {2001, 1500}, {5000, 300}, {300, 5000}, {12000, 3333}} {
		w, h := size[0], size[1]
		s := newScanner(raster{pix: make([]byte, w*h), w: w, h: h})
		largest, work := int64(w*h), int64(0)
		for _, a := range s.attempts() {
			if r, ok := a.src(); ok {
				largest = max(largest, int64(r.w*r.h))
				work += int64(r.w * r.h)
			}
		}
		// The blur's sums, and the decoder's bitmaps for the largest raster.
		padded := s.padded()
		need := s.built + 2*int64(len(padded.pix)) + largest/4
		if got := workingBytes(w, h); need > got {
			t.Errorf("%dx%d: variants and buffers take %d bytes, workingBytes says %d", w, h, need, got)
		}
		if work > DefaultMaxWork {
			t.Errorf("%dx%d: the ladder looks at %d pixels, more than DefaultMaxWork", w, h, work)
		}
	}
}

// newSixteenBitPNG renders payload as a QR code on a w×h 16-bit RGBA canvas
// (one pixel not quite opaque, so the encoder keeps the alpha channel) and
// encodes it with the standard PNG encoder.
func newSixteenBitPNG(t testing.TB, payload []byte, w, h int) []byte {
	t.Helper()
	code, err := Encode(payload, &EncodeOptions{ModuleSize: 6})
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewNRGBA64(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(img, code.Bounds().Add(image.Pt(w/3, h/4)), code, image.Point{}, draw.Src)
	img.SetNRGBA64(0, 0, color.NRGBA64{0xffff, 0xffff, 0xffff, 0xfff0})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A 16-bit RGBA PNG takes 8 bytes a pixel once decoded, whatever its size
// on disk: the memory bound refuses it from its header, or admits it and
// holds it to the estimate.
func TestMemoryBoundOnSixteenBitPNG(t *testing.T) {
	payload := []byte("HC1:SIXTEEN BIT RGBA")
	b := newSixteenBitPNG(t, payload, 1600, 450)
	_, c, err := readHeader(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.what != "16-bit RGBA PNG" || c.decode < 8*1600*450 {
		t.Fatalf("estimated %d bytes for a %s", c.decode, c.what)
	}
	need := c.bytes(symQR)
	t.Logf("%d bytes on disk, %s, %d bytes estimated", len(b), c.what, need)

	tight := &Options{MaxMemory: need - 1}
	var err1 error
	got := allocated(func() { _, err1 = DecodeBytes(b, tight) })
	if !errors.Is(err1, ErrTooLarge) || !strings.Contains(err1.Error(), "16-bit RGBA PNG of 1600x450 pixels") || !strings.Contains(err1.Error(), "qr.Options.MaxMemory") {
		t.Fatalf("one byte under the estimate: got %v, want ErrTooLarge naming the image and the bound", err1)
	}
	if got > 1<<20 {
		t.Errorf("refusing the image allocated %d bytes: its pixels were decoded", got)
	}

	exact := &Options{MaxMemory: need}
	var res *Result
	got = allocated(func() { res, err1 = ScanBytes(b, exact) })
	if err1 != nil || !bytes.Equal(res.Payload, payload) {
		t.Fatalf("within the bound: %v", err1)
	}
	if got > need {
		t.Errorf("decoding and scanning allocated %d bytes, more than the %d estimated", got, need)
	}
	t.Logf("decoded by %q, %d bytes allocated in all", res.Strategy, got)
}

// The image of the report: 12000×3333 pixels of 16-bit RGBA is 320 MB
// decoded, more than the default bound, and is refused from its header
// alone (the file below has no pixel data at all).
func TestLargeSixteenBitPNGRefusedFromHeader(t *testing.T) {
	b := pngHeaderOf(12000, 3333, 16, 6)
	var err error
	got := allocated(func() { _, err = DecodeBytes(b, nil) })
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "16-bit RGBA PNG of 12000x3333 pixels needs about") || !strings.Contains(err.Error(), "256 MiB") {
		t.Fatalf("got %v", err)
	}
	if got > 1<<20 {
		t.Errorf("refusal allocated %d bytes", got)
	}
	help := &Options{LimitHelp: func(field string) string { return "use --" + field }}
	if _, err := DecodeBytes(b, help); err == nil || !strings.HasSuffix(err.Error(), "(use --MaxMemory)") {
		t.Errorf("LimitHelp not used: %v", err)
	}
	// The same header as 8-bit grey needs 40 MB and gets as far as the
	// missing pixels.
	if _, err := DecodeBytes(pngHeaderOf(12000, 3333, 8, 0), nil); !errors.Is(err, ErrCorruptImage) {
		t.Errorf("8-bit grey 12000x3333: got %v, want ErrCorruptImage", err)
	}
}

// A pool shared by scans refuses an image larger than the whole pool at
// once (waiting would never end), and a scan waiting for memory stops with
// its context's error, not a verdict.
func TestMemoryPool(t *testing.T) {
	clean, err := os.ReadFile(filepath.Join("testdata", "clean.png"))
	if err != nil {
		t.Fatal(err)
	}
	_, c, err := readHeader(clean, nil)
	if err != nil {
		t.Fatal(err)
	}
	small := &Options{Pool: NewMemoryPool(c.bytes(symQR) - 1)}
	if _, err := DecodeBytes(clean, small); !errors.Is(err, ErrTooLarge) {
		t.Errorf("image over the pool's size: got %v, want ErrTooLarge", err)
	}

	opts := &Options{Pool: NewMemoryPool(c.bytes(symQR))}
	if _, err := DecodeBytes(clean, opts); err != nil {
		t.Fatalf("image of the pool's size: %v", err)
	}
	release, err := reserve(context.Background(), opts, 1) // another scan holds a byte
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := ScanBytesContext(ctx, clean, opts)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) || errors.Is(err, ErrNoQRCode) {
		t.Errorf("waiting scan cancelled: got %v, want context.Canceled", err)
	}
	release()
	if _, err := DecodeBytes(clean, opts); err != nil {
		t.Errorf("after the memory came back: %v", err)
	}
}

// The Aztec attempts take their memory from the same estimate and pool as
// the QR attempts: an image over the bound is refused from its header,
// and one within it is read within the estimate (allocations summed over
// every attempt, so more than what is held at once).
func TestAztecMemoryBound(t *testing.T) {
	const text = "HC1:AZTEC MEMORY BOUND 0123456789"
	code, err := aztec.Encode([]byte(text), 23, 0)
	if err != nil {
		t.Fatal(err)
	}
	scaled, err := barcode.Scale(code, 4*code.Bounds().Dx(), 4*code.Bounds().Dy())
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewNRGBA(image.Rect(0, 0, 800, 600))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	// The Aztec detector starts from the middle of the image.
	at := image.Pt((800-scaled.Bounds().Dx())/2, (600-scaled.Bounds().Dy())/2)
	draw.Draw(img, scaled.Bounds().Add(at), scaled, scaled.Bounds().Min, draw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	_, c, err := readHeader(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	need := c.bytes(symAztec)
	if both := c.bytes(symQR | symAztec); both < need || both < c.bytes(symQR) {
		t.Errorf("QR and Aztec together estimated %d, less than either alone", both)
	}

	var err1 error
	got := allocated(func() { _, err1 = DecodeAztecBytes(b, &Options{MaxMemory: need - 1}) })
	if !errors.Is(err1, ErrTooLarge) {
		t.Fatalf("one byte under the estimate: %v", err1)
	}
	if got > 1<<20 {
		t.Errorf("refusing the image allocated %d bytes: its pixels were decoded", got)
	}
	var payload []byte
	got = allocated(func() { payload, err1 = DecodeAztecBytes(b, &Options{MaxMemory: need}) })
	if err1 != nil || string(payload) != text {
		t.Fatalf("within the bound: %q, %v", payload, err1)
	}
	if got > need {
		t.Errorf("decoding and the Aztec attempts allocated %d bytes, more than the %d estimated", got, need)
	}
	t.Logf("%d bytes estimated, %d allocated", need, got)

	// Through a scan looking for both: the pool is used, and a pool
	// smaller than the estimate refuses the image at once.
	if _, err := ScanBytes(b, &Options{Aztec: true, Pool: NewMemoryPool(c.bytes(symQR|symAztec) - 1)}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("pool under the estimate: %v", err)
	}
	res, err := ScanBytes(b, &Options{Aztec: true, Pool: NewMemoryPool(c.bytes(symQR | symAztec))})
	if err != nil || string(res.Payload) != text || res.Symbology != SymbologyAztec {
		t.Fatalf("QR then Aztec: %+v, %v", res, err)
	}
	if _, err := ScanBytes(b, nil); !errors.Is(err, ErrNoQRCode) || errors.Is(err, ErrNoAztecCode) {
		t.Errorf("without Options.Aztec an Aztec code is not looked for: %v", err)
	}
}

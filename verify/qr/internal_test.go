package qr

import (
	"bytes"
	"image"
	"image/color"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// The fast conversions must agree with the generic per-pixel path, also on
// sub-images whose origin is not (0, 0).
func TestToRasterFastPathsMatchGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := image.Rect(3, 5, 40, 29)
	fill := func(set func(x, y int)) {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				set(x, y)
			}
		}
	}
	rgba := image.NewRGBA(r)
	nrgba := image.NewNRGBA(r)
	gray := image.NewGray(r)
	gray16 := image.NewGray16(r)
	rgba64, nrgba64, cmyk := image.NewRGBA64(r), image.NewNRGBA64(r), image.NewCMYK(r)
	pal := image.NewPaletted(r, color.Palette{color.White, color.Black, color.NRGBA{200, 10, 10, 128}, color.Transparent})
	ycc := image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
	fill(func(x, y int) {
		a := uint8(rng.IntN(256))
		rgba.Set(x, y, color.NRGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), a})
		nrgba.Set(x, y, color.NRGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), a})
		gray.Set(x, y, color.Gray{uint8(rng.IntN(256))})
		gray16.Set(x, y, color.Gray16{uint16(rng.IntN(65536))})
		a16 := uint16(rng.IntN(65536))
		rgba64.Set(x, y, color.NRGBA64{uint16(rng.IntN(65536)), uint16(rng.IntN(65536)), uint16(rng.IntN(65536)), a16})
		nrgba64.Set(x, y, color.NRGBA64{uint16(rng.IntN(65536)), uint16(rng.IntN(65536)), uint16(rng.IntN(65536)), a16})
		cmyk.Set(x, y, color.CMYK{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256))})
		pal.SetColorIndex(x, y, uint8(rng.IntN(4)))
		ycc.Y[ycc.YOffset(x, y)] = uint8(rng.IntN(256))
	})
	sub := func(m image.Image) image.Image {
		return m.(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(image.Rect(7, 9, 33, 20))
	}
	for name, img := range map[string]image.Image{
		"RGBA": rgba, "NRGBA": nrgba, "Gray": gray, "Gray16": gray16, "Paletted": pal, "YCbCr": ycc,
		"RGBA64": rgba64, "NRGBA64": nrgba64, "CMYK": cmyk,
		"RGBA sub-image": sub(rgba), "NRGBA sub-image": sub(nrgba), "Gray sub-image": sub(gray),
		"Paletted sub-image": sub(pal), "YCbCr sub-image": sub(ycc), "Gray16 sub-image": sub(gray16),
		"RGBA64 sub-image": sub(rgba64), "NRGBA64 sub-image": sub(nrgba64), "CMYK sub-image": sub(cmyk),
	} {
		got := toRaster(img)
		b := img.Bounds()
		if got.w != b.Dx() || got.h != b.Dy() {
			t.Fatalf("%s: %dx%d raster for %v", name, got.w, got.h, b)
		}
		i := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				want := int(lumaOf(img.At(x, y)))
				if _, isYCC := img.(*image.YCbCr); isYCC {
					want = int(img.(*image.YCbCr).Y[img.(*image.YCbCr).YOffset(x, y)])
				}
				if d := int(got.pix[i]) - want; d < -2 || d > 2 { // rounding differs
					t.Fatalf("%s at (%d,%d): %d, want %d", name, x, y, got.pix[i], want)
				}
				i++
			}
		}
	}
	// Transparent reads as white.
	if v := toRaster(image.NewNRGBA(image.Rect(0, 0, 1, 1))).pix[0]; v != 255 {
		t.Errorf("transparent pixel: %d, want 255", v)
	}
}

func TestRasterTransforms(t *testing.T) {
	r := raster{pix: []byte{0, 10, 20, 30, 40, 50}, w: 3, h: 2}
	if got := r.rotate90(); got.w != 2 || got.h != 3 || !bytes.Equal(got.pix, []byte{30, 0, 40, 10, 50, 20}) {
		t.Errorf("rotate90: %+v", got)
	}
	if got := r.invert(); got.pix[0] != 255 || got.pix[5] != 205 {
		t.Errorf("invert: %v", got.pix)
	}
	if got := r.pad(1, 255); got.w != 5 || got.h != 4 || got.pix[0] != 255 || got.pix[6] != 0 {
		t.Errorf("pad: %+v", got)
	}
	if got := r.downscale(2); got.w != 1 || got.h != 1 || got.pix[0] != (0+10+30+40)/4 {
		t.Errorf("downscale: %+v", got)
	}
	up := r.upscale(3)
	if up.w != 9 || up.h != 6 || up.pix[0] != 0 || up.pix[len(up.pix)-1] != 50 {
		t.Errorf("upscale: %dx%d corners %d %d", up.w, up.h, up.pix[0], up.pix[len(up.pix)-1])
	}
	flat := raster{pix: bytes.Repeat([]byte{77}, 25), w: 5, h: 5}
	for name, got := range map[string]raster{"blur": flat.blur(), "upscale": flat.upscale(2)} {
		for _, v := range got.pix {
			if v != 77 {
				t.Fatalf("%s of a flat raster changed a value to %d", name, v)
			}
		}
	}
	turned := flat.rotate45()
	if turned.w < 7 || turned.pix[turned.w/2*turned.w+turned.w/2] != 77 || turned.pix[0] != 255 {
		t.Errorf("rotate45: %dx%d, centre %d, corner %d", turned.w, turned.h, turned.pix[turned.w/2*turned.w+turned.w/2], turned.pix[0])
	}
}

// The version is recovered from the number of data codewords; that only
// works if the count grows strictly with the version at each level.
func TestDataCodewordsIdentifyVersion(t *testing.T) {
	for _, name := range []string{"L", "M", "Q", "H"} {
		ec, _ := decoder.ErrorCorrectionLevel_ValueOf(name)
		for v := 1; v <= 40; v++ {
			version, _ := decoder.Version_GetVersionForNumber(v)
			n := version.GetTotalCodewords() - version.GetECBlocksForLevel(ec).GetTotalECCodewords()
			if got := versionForDataCodewords(n, ec); got == nil || got.GetVersionNumber() != v {
				t.Fatalf("level %s: %d data codewords gave %v, want version %d", name, n, got, v)
			}
		}
		if versionForDataCodewords(1, ec) != nil {
			t.Errorf("level %s: 1 data codeword matched a version", name)
		}
	}
}

// bitWriter builds a QR data bit stream by hand.
type bitWriter struct{ a *gozxing.BitArray }

func (w bitWriter) put(v, n int) bitWriter { _ = w.a.AppendBits(v, n); return w }

func (w bitWriter) codewords(n int) []byte {
	for w.a.GetSize()%8 != 0 {
		w.a.AppendBit(false)
	}
	out := make([]byte, w.a.GetSizeInBytes())
	w.a.ToBytes(0, out, 0, len(out))
	for pad := byte(0xec); len(out) < n; pad ^= 0xec ^ 0x11 {
		out = append(out, pad)
	}
	return out
}

func TestReadSegments(t *testing.T) {
	v1, _ := decoder.Version_GetVersionForNumber(1)
	v10, _ := decoder.Version_GetVersionForNumber(10)
	w := bitWriter{gozxing.NewEmptyBitArray()}
	// ECI 26 (UTF-8) must not alter the bytes that follow.
	w.put(0x7, 4).put(26, 8)
	w.put(0x4, 4).put(3, 8).put(0xff, 8).put(0x00, 8).put(0x80, 8) // byte: ff 00 80
	w.put(0x1, 4).put(4, 10).put(123, 10).put(4, 4)                // numeric: "1234"
	w.put(0x2, 4).put(3, 9).put(10*45+11, 11).put(36, 6)           // alphanumeric: "AB "
	w.put(0x0, 4)
	got, err := readSegments(w.codewords(19), v1)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte("\xff\x00\x801234AB "); !bytes.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}

	// Structured append header skipped; 16-bit byte count from version 10.
	w = bitWriter{gozxing.NewEmptyBitArray()}
	w.put(0x3, 4).put(0x01, 8).put(0x5a, 8)
	w.put(0x4, 4).put(2, 16).put('o', 8).put('k', 8).put(0x0, 4)
	got, err = readSegments(w.codewords(100), v10)
	if err != nil || string(got) != "ok" {
		t.Errorf("structured append: %q, %v", got, err)
	}

	// A byte count running past the data is an error, not a short read.
	w = bitWriter{gozxing.NewEmptyBitArray()}
	w.put(0x4, 4).put(200, 8).put('x', 8)
	if _, err := readSegments(w.codewords(19), v1); err == nil || !strings.Contains(err.Error(), "overruns") {
		t.Errorf("overrun: %v", err)
	}
	// Unknown mode 0b1111.
	w = bitWriter{gozxing.NewEmptyBitArray()}
	w.put(0xf, 4)
	if _, err := readSegments(w.codewords(19), v1); err == nil {
		t.Error("unknown mode accepted")
	}
}

// A panic inside gozxing becomes an error. A raster whose pixel slice is
// shorter than its declared size makes the binarizer index out of range.
func TestDecoderPanicBecomesError(t *testing.T) {
	bad := raster{pix: make([]byte, 10), w: 100, h: 100}
	_, err := decodeRaster(bad, attempt{name: "plain"})
	if err == nil || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("got %v, want a recovered panic", err)
	}
}

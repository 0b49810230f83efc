package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/crlverify/crlverify/verify/qr"
	"github.com/crlverify/crlverify/verify/qr/qrtest"
)

// fixture is one committed image: its file name and how it is made.
type fixture struct {
	name string
	make func(payload []byte) ([]byte, error)
}

var fixtures = []fixture{
	// Clean renders, one per supported file format.
	{"clean.png", func(p []byte) ([]byte, error) { return encodePNG(mustEncode(p, nil)) }},
	{"clean.jpg", func(p []byte) ([]byte, error) { return qrtest.JPEG(mustEncode(p, nil), 75) }},
	{"clean.gif", func(p []byte) ([]byte, error) { return encodeGIF(mustEncode(p, nil)) }},
	// Sensor noise.
	{"noisy.png", func(p []byte) ([]byte, error) {
		img := mustEncode(p, &qr.EncodeOptions{ModuleSize: 3})
		return encodePNG(qrtest.Gray(qrtest.Noise(img, 45, 1)))
	}},
	// A phone held slightly askew, and clearly turned.
	{"rotated-7.png", func(p []byte) ([]byte, error) {
		return encodePNG(qrtest.Gray(qrtest.Rotate(mustEncode(p, nil), 7, color.White)))
	}},
	{"rotated-30.png", func(p []byte) ([]byte, error) {
		return encodePNG(qrtest.Gray(qrtest.Rotate(mustEncode(p, nil), 30, color.White)))
	}},
	// A thumbnail: one and a half pixels per module.
	{"small.png", func(p []byte) ([]byte, error) {
		img := mustEncode(p, &qr.EncodeOptions{ModuleSize: 2})
		return encodePNG(qrtest.Gray(qrtest.Scale(img, 0.75)))
	}},
	// A large photograph of a printed certificate: clutter, uneven
	// light, a slight turn, keystone, noise, JPEG.
	{"photo.jpg", func(p []byte) ([]byte, error) {
		img := mustEncode(p, &qr.EncodeOptions{ModuleSize: 6})
		img2 := qrtest.Rotate(qrtest.Keystone(img, 0.05, color.White), -4, color.White)
		scene := qrtest.Place(img2, 2200, 1650, 900, 480, 2)
		scene = qrtest.Noise(qrtest.Shade(scene, 1.0, 0.7), 2, 3)
		return qrtest.JPEG(scene, 50)
	}},
	// Light modules on a dark background.
	{"inverted.png", func(p []byte) ([]byte, error) {
		return encodePNG(qrtest.Gray(qrtest.Invert(mustEncode(p, nil))))
	}},
	// Cropped to the symbol's edge by a camera app.
	{"no-quiet-zone.png", func(p []byte) ([]byte, error) {
		return encodePNG(mustEncode(p, &qr.EncodeOptions{QuietZone: qr.NoQuietZone}))
	}},
	// An issuer's large code: version 40 (177 modules a side) drawn at
	// 3.05 pixels a module, crisp, dark blue on white, on a 562×568
	// canvas. Modules are 3 or 4 pixels wide as their edges fall, which
	// throws the detector's estimate of the symbol's size. It holds
	// payload-v40.bin.
	{"v40-fractional-pitch.png", func([]byte) ([]byte, error) {
		code := mustEncode(Payload(v40PayloadSize), &qr.EncodeOptions{Version: 40, ModuleSize: 1, QuietZone: qr.NoQuietZone})
		return encodePNG(atPitch(code, 3.05, 11.6, 14.6, 562, 568, color.RGBA{0x1f, 0x3c, 0x88, 0xff}))
	}},
	// A cluttered picture without any QR code.
	{"not-qr.png", func([]byte) ([]byte, error) {
		return encodePNG(qrtest.Gray(qrtest.Place(nil, 320, 240, 0, 0, 4)))
	}},
}

// v40PayloadSize is the size of the version-40 fixture's payload, about a
// DIVOC certificate ZIP's.
const v40PayloadSize = 2200

// atPitch draws code (one pixel a module, no quiet zone) at pitch pixels a
// module with its top-left corner at (ox, oy), on a white w×h canvas, in
// ink: each pixel takes the colour of the module under its centre, as a
// renderer drawing modules as rectangles at fractional coordinates without
// anti-aliasing does.
func atPitch(code *image.Gray, pitch, ox, oy float64, w, h int, ink color.RGBA) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	n := code.Rect.Dx()
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{0xff, 0xff, 0xff, 0xff}
			mx := int(math.Floor((float64(x) + 0.5 - ox) / pitch))
			my := int(math.Floor((float64(y) + 0.5 - oy) / pitch))
			if mx >= 0 && my >= 0 && mx < n && my < n && code.GrayAt(mx, my).Y < 128 {
				c = ink
			}
			out.SetRGBA(x, y, c)
		}
	}
	return out
}

// Payload returns the fixture payload: the 256 byte values in a shuffled
// order followed by random bytes, n in all (n >= 256).
func Payload(n int) []byte {
	rng := rand.New(rand.NewPCG(20240601, 1))
	p := make([]byte, n)
	for i, v := range rng.Perm(256) {
		p[i] = byte(v)
	}
	for i := 256; i < n; i++ {
		p[i] = byte(rng.UintN(256))
	}
	rng.Shuffle(n, func(i, j int) { p[i], p[j] = p[j], p[i] })
	return p
}

func main() {
	out := flag.String("out", "testdata", "directory to write the images to")
	flag.Parse()
	log.SetFlags(0)
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	payload := Payload(480)
	write(*out, "payload.bin", payload)
	write(*out, "payload-v40.bin", Payload(v40PayloadSize))
	for _, f := range fixtures {
		b, err := f.make(payload)
		if err != nil {
			log.Fatalf("%s: %v", f.name, err)
		}
		write(*out, f.name, b)
	}
}

func write(dir, name string, b []byte) {
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%-20s %7d bytes\n", name, len(b))
}

func mustEncode(p []byte, opts *qr.EncodeOptions) *image.Gray {
	img, err := qr.Encode(p, opts)
	if err != nil {
		log.Fatal(err)
	}
	return img
}

func encodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func encodeGIF(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := gif.Encode(&buf, qrtest.Paletted(img), nil); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

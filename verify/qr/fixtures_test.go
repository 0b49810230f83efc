package qr

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"os"
	"path/filepath"
	"testing"

	"github.com/crlverify/crlverify/verify/qr/qrtest"
)

// fixtureFiles are the committed images (made by internal/genimages) and
// whether each holds testdata/payload.bin.
var fixtureFiles = []struct {
	name   string
	hasQR  bool
	reason string
}{
	{"clean.png", true, "clean render"},
	{"clean.jpg", true, "JPEG artefacts"},
	{"clean.gif", true, "GIF, paletted"},
	{"noisy.png", true, "heavy sensor noise"},
	{"rotated-7.png", true, "turned 7°"},
	{"rotated-30.png", true, "turned 30°"},
	{"small.png", true, "1.5 pixels per module"},
	{"photo.jpg", true, "large cluttered photo, keystone, shade"},
	{"inverted.png", true, "light on dark"},
	{"no-quiet-zone.png", true, "cropped to the symbol"},
	{"not-qr.png", false, "clutter only"},
}

func fixturePayload(t testing.TB) []byte {
	t.Helper()
	p, err := os.ReadFile(filepath.Join("testdata", "payload.bin"))
	if err != nil {
		t.Fatalf("payload (run go generate): %v", err)
	}
	return p
}

func TestFixtures(t *testing.T) {
	want := fixturePayload(t)
	for _, f := range fixtureFiles {
		t.Run(f.name, func(t *testing.T) {
			res, err := ScanFile(filepath.Join("testdata", f.name), nil)
			if !f.hasQR {
				if !errors.Is(err, ErrNoQRCode) {
					t.Fatalf("got %v, want ErrNoQRCode", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", f.reason, err)
			}
			if !bytes.Equal(res.Payload, want) {
				t.Fatalf("payload differs: got %d bytes %x..., want %d bytes %x...", len(res.Payload), head(res.Payload), len(want), head(want))
			}
			t.Logf("%s: decoded by %q after %d attempt(s)", f.reason, res.Strategy, res.Attempts)
		})
	}
}

func TestCleanFixturesDecodeOnFirstAttempt(t *testing.T) {
	for _, name := range []string{"clean.png", "clean.jpg", "clean.gif", "no-quiet-zone.png", "photo.jpg"} {
		res, err := ScanFile(filepath.Join("testdata", name), &Options{MaxAttempts: 1})
		if err != nil {
			t.Errorf("%s without retries: %v", name, err)
			continue
		}
		if res.Strategy != "plain" || res.Attempts != 1 {
			t.Errorf("%s: strategy %q after %d attempts, want plain after 1", name, res.Strategy, res.Attempts)
		}
	}
}

func TestNoRetriesWithOneAttempt(t *testing.T) {
	// noisy.png needs an enlarged copy.
	_, err := DecodeFile(filepath.Join("testdata", "noisy.png"), &Options{MaxAttempts: 1})
	if !errors.Is(err, ErrNoQRCode) {
		t.Fatalf("got %v, want ErrNoQRCode when retries are off", err)
	}
	if _, err := DecodeFile(filepath.Join("testdata", "noisy.png"), nil); err != nil {
		t.Fatalf("with retries: %v", err)
	}
}

func TestDecodeEntryPointsAgree(t *testing.T) {
	want := fixturePayload(t)
	path := filepath.Join("testdata", "clean.jpg")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fromReader, err := DecodeReader(f, nil)
	if err != nil {
		t.Fatalf("DecodeReader: %v", err)
	}
	fromBytes, err := DecodeBytes(b, nil)
	if err != nil {
		t.Fatalf("DecodeBytes: %v", err)
	}
	fromFile, err := DecodeFile(path, nil)
	if err != nil {
		t.Fatalf("DecodeFile: %v", err)
	}
	for name, got := range map[string][]byte{"DecodeReader": fromReader, "DecodeBytes": fromBytes, "DecodeFile": fromFile} {
		if !bytes.Equal(got, want) {
			t.Errorf("%s: payload differs", name)
		}
	}
}

// TestDegradations runs each qrtest helper on a rendered code and checks the
// result still scans: what a fixture generator can rely on.
func TestDegradations(t *testing.T) {
	payload := fixturePayload(t)
	enc := func(ms int) *image.Gray {
		img, err := Encode(payload, &EncodeOptions{ModuleSize: ms})
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	recompressed, err := qrtest.Recompress(enc(3), 30)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		img  image.Image
	}{
		{"noise sigma 30", qrtest.Noise(enc(3), 30, 1)},
		{"salt and pepper 5%", qrtest.SaltAndPepper(enc(4), 0.05, 1)},
		{"rotate 15°", qrtest.Rotate(enc(4), 15, color.White)},
		{"rotate 45°", qrtest.Rotate(enc(4), 45, color.White)},
		{"rotate 90°", qrtest.Rotate(enc(4), 90, color.White)},
		{"rotate 180°", qrtest.Rotate(enc(4), 180, color.White)},
		{"scale 0.75 of 2 px modules", qrtest.Scale(enc(2), 0.75)},
		{"scale 2.5", qrtest.Scale(enc(2), 2.5)},
		{"blur radius 1", qrtest.Blur(enc(4), 1)},
		{"blur radius 2", qrtest.Blur(enc(4), 2)},
		{"JPEG quality 30", recompressed},
		{"shear 0.15", qrtest.Shear(enc(4), 0.15, 0, color.White)},
		{"shear both ways", qrtest.Shear(enc(4), -0.1, 0.08, color.White)},
		{"keystone 10%", qrtest.Keystone(enc(4), 0.1, color.White)},
		{"perspective warp", qrtest.Warp(enc(4), [4][2]float64{{30, 10}, {420, 40}, {400, 430}, {5, 400}}, 440, 450, color.White)},
		{"shade 1.0 to 0.5", qrtest.Shade(enc(4), 1.0, 0.5)},
		{"on cluttered background", qrtest.Place(enc(4), 900, 700, 250, 150, 5)},
		{"cropped to the symbol", qrtest.Crop(enc(4), enc(4).Bounds().Inset(4*4))},
		{"light on dark, on a white page", onWhite(qrtest.Invert(enc(4)), 60)},
	}
	for _, c := range cases {
		res, err := Scan(c.img, nil)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !bytes.Equal(res.Payload, payload) {
			t.Errorf("%s: payload differs", c.name)
			continue
		}
		t.Logf("%-32s %-20s %2d attempt(s)", c.name, res.Strategy, res.Attempts)
	}
}

// onWhite draws img on a white canvas with a margin of n pixels.
func onWhite(img image.Image, n int) image.Image {
	out := image.NewGray(img.Bounds().Inset(-n))
	for i := range out.Pix {
		out.Pix[i] = 255
	}
	draw.Draw(out, img.Bounds(), img, img.Bounds().Min, draw.Src)
	return out
}

func head(b []byte) []byte { return b[:min(len(b), 8)] }

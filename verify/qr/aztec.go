package qr

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/aztec"
)

// ErrNoAztecCode: the image was read but no Aztec code could be decoded in
// it. EU Digital COVID Certificates from Ireland are Aztec codes; a caller
// that finds no QR code ([ErrNoQRCode]) may try [DecodeAztec].
var ErrNoAztecCode = errors.New("qr: no Aztec code found")

// aztecAttempts names the ways DecodeAztec looks at an image, in order:
// the hybrid binarizer (local thresholds, good for photos), the global
// histogram binarizer (clean synthetic images), inverted colours, and a
// white quiet zone added around codes cropped tight. Their number is fixed,
// so the work is bounded by the image's size alone.
var aztecAttempts = []struct {
	name     string
	inverted bool
	global   bool
	padded   bool
}{
	{name: "aztec"},
	{name: "aztec-global", global: true},
	{name: "aztec-quiet-zone", padded: true},
	{name: "aztec-inverted", inverted: true},
}

// DecodeAztec finds an Aztec code in img and returns its text as bytes. It
// checks img against Options.MaxSide and Options.MaxPixels like [Scan],
// makes a fixed number of attempts (no time budget), and recovers a panic
// of the decoder into an error. The error wraps [ErrNoAztecCode] when
// nothing was found.
//
// The payload is the decoder's text: exact for text such as an "HC1:"
// certificate, which Aztec stores in its character modes. Binary content
// (Aztec byte mode) comes back as the decoder renders it, not byte for byte.
//
// The detector (gozxing's port of ZXing's) reads upright or quarter-turned
// codes through noise, JPEG artefacts, shading and scaling, but not codes
// turned by a few degrees, blurred or seen in perspective: such photos need
// retaking square to the code.
func DecodeAztec(img image.Image, opts *Options) ([]byte, error) {
	res, err := ScanAztec(img, opts)
	if err != nil {
		return nil, err
	}
	return res.Payload, nil
}

// ScanAztec is [DecodeAztec] that also reports which attempt succeeded.
func ScanAztec(img image.Image, opts *Options) (*Result, error) {
	if img == nil {
		return nil, fmt.Errorf("%w: nil image", ErrNoAztecCode)
	}
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, fmt.Errorf("%w: empty image", ErrNoAztecCode)
	}
	if b.Dx() > opts.maxSide() || b.Dy() > opts.maxSide() || b.Dx()*b.Dy() > opts.maxPixels() {
		return nil, fmt.Errorf("%w: %dx%d pixels", ErrTooLarge, b.Dx(), b.Dy())
	}
	var padded image.Image
	for i, a := range aztecAttempts {
		src := img
		if a.padded {
			if padded == nil {
				padded = quietZone(img)
			}
			src = padded
		}
		if text, err := decodeAztecOnce(src, a.inverted, a.global); err == nil {
			return &Result{Payload: []byte(text), Strategy: a.name, Attempts: i + 1}, nil
		}
	}
	return nil, fmt.Errorf("%w (%d attempts)", ErrNoAztecCode, len(aztecAttempts))
}

func decodeAztecOnce(img image.Image, inverted, global bool) (text string, err error) {
	defer func() {
		if r := recover(); r != nil {
			text, err = "", fmt.Errorf("aztec decoder panic: %v", r)
		}
	}()
	src := gozxing.NewLuminanceSourceFromImage(img)
	if inverted {
		src = gozxing.NewInvertedLuminanceSource(src)
	}
	var bin gozxing.Binarizer
	if global {
		bin = gozxing.NewGlobalHistgramBinarizer(src)
	} else {
		bin = gozxing.NewHybridBinarizer(src)
	}
	bmp, err := gozxing.NewBinaryBitmap(bin)
	if err != nil {
		return "", err
	}
	res, err := aztec.NewAztecReader().Decode(bmp, nil)
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

// quietZone returns img on a white margin of a tenth of its longer side.
func quietZone(img image.Image) image.Image {
	b := img.Bounds()
	m := max(b.Dx(), b.Dy())/10 + 4
	out := image.NewGray(image.Rect(0, 0, b.Dx()+2*m, b.Dy()+2*m))
	draw.Draw(out, out.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(out, image.Rect(m, m, m+b.Dx(), m+b.Dy()), img, b.Min, draw.Src)
	return out
}

// DecodeAztecBytes decodes the Aztec code in an image file held in memory
// (PNG, JPEG or GIF), with the bounds and errors of [DecodeBytes].
func DecodeAztecBytes(b []byte, opts *Options) ([]byte, error) {
	img, err := decodeImage(b, opts)
	if err != nil {
		return nil, err
	}
	return DecodeAztec(img, opts)
}

package qr

import (
	"context"
	"errors"
	"fmt"
	"image"

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
// checks img against Options.MaxSide, Options.MaxPixels and
// Options.MaxMemory and takes its estimated memory from Options.Pool, like
// [Scan]; makes a fixed number of attempts (no time budget); and recovers
// a panic of the decoder into an error. The error wraps [ErrNoAztecCode]
// when nothing was found.
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
	return ScanAztecContext(context.Background(), img, opts)
}

// ScanAztecContext is [ScanAztec] that gives up when ctx is done, as
// [ScanContext] does.
func ScanAztecContext(ctx context.Context, img image.Image, opts *Options) (*Result, error) {
	w, h, err := checkImage(img, opts, ErrNoAztecCode)
	if err != nil {
		return nil, err
	}
	need := int64(w)*int64(h) + aztecWorkingBytes(w, h)
	if need > opts.maxMemory() {
		return nil, opts.tooLarge("MaxMemory", "%dx%d pixels need about %s to scan, more than the limit of %s",
			w, h, mib(need), mib(opts.maxMemory()))
	}
	release, err := reserve(ctx, opts, need)
	if err != nil {
		return nil, fmt.Errorf("qr: scan not started: %w", err)
	}
	defer release()
	return scanAztecRaster(ctx, toRaster(img))
}

// aztecWorkingBytes bounds the memory the Aztec attempts take beyond the
// w×h luminance copy they start from: the copy with a quiet zone, kept
// for the attempts that use it, and what one attempt holds at most on a
// raster that size: an inverted copy, the binarizer's bit matrix and block
// thresholds (a quarter of a byte a pixel); plus a mebibyte of small
// buffers.
func aztecWorkingBytes(w, h int) int64 {
	m := int64(aztecQuietZone(w, h))
	padded := (int64(w) + 2*m) * (int64(h) + 2*m)
	return 2*padded + padded/4 + 1<<20
}

// aztecQuietZone is the white margin the quiet-zone attempt adds: a tenth
// of the longer side.
func aztecQuietZone(w, h int) int { return max(w, h)/10 + 4 }

// scanAztecRaster makes the Aztec attempts on r.
func scanAztecRaster(ctx context.Context, r raster) (*Result, error) {
	var padded raster
	var work int64
	for i, a := range aztecAttempts {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("qr: Aztec scan stopped after %s: %w", attempts(i), err)
		}
		src := r
		if a.padded {
			if padded.pix == nil {
				padded = r.pad(aztecQuietZone(r.w, r.h), 255)
			}
			src = padded
		}
		work += int64(src.w) * int64(src.h)
		if text, err := decodeAztecOnce(src, a.inverted, a.global); err == nil {
			return &Result{Payload: []byte(text), Symbology: SymbologyAztec, Strategy: a.name, Attempts: i + 1, Work: work}, nil
		}
	}
	return nil, fmt.Errorf("%w (%d attempts)", ErrNoAztecCode, len(aztecAttempts))
}

func decodeAztecOnce(r raster, inverted, global bool) (text string, err error) {
	defer func() {
		if p := recover(); p != nil {
			text, err = "", fmt.Errorf("aztec decoder panic: %v", p)
		}
	}()
	if r.w == 0 || r.h == 0 {
		return "", errors.New("empty image")
	}
	var src gozxing.LuminanceSource
	src, err = gozxing.NewPlanarYUVLuminanceSource(r.pix, r.w, r.h, 0, 0, r.w, r.h, false)
	if err != nil {
		return "", err
	}
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

// DecodeAztecBytes decodes the Aztec code in an image file held in memory
// (PNG, JPEG or GIF), with the bounds and errors of [DecodeBytes]: the
// memory decoding and scanning take is estimated from the header and taken
// from Options.Pool before any pixel is decoded.
func DecodeAztecBytes(b []byte, opts *Options) ([]byte, error) {
	res, err := scanBytes(context.Background(), b, opts, symAztec)
	if err != nil {
		return nil, err
	}
	return res.Payload, nil
}

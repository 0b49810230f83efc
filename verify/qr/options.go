package qr

import (
	"errors"
	"time"
)

// Default bounds, used where an [Options] field is zero.
const (
	// DefaultBudget is the time allowed for retries after the first attempt.
	DefaultBudget = 2 * time.Second
	// DefaultMaxFileSize bounds an image file (20 MiB).
	DefaultMaxFileSize = 20 << 20
	// DefaultMaxPixels bounds width×height of an image (40 megapixels).
	DefaultMaxPixels = 40_000_000
	// DefaultMaxSide bounds the width and the height of an image.
	DefaultMaxSide = 12000
)

// Sentinel errors. Errors about an image wrap one of them, so callers
// branch with [errors.Is]; errors opening or reading a file are returned as
// the file system gave them (errors.Is(err, fs.ErrNotExist) and so on).
var (
	// ErrNoQRCode: the image was read but no QR code could be decoded in it
	// (none is there, or it is too damaged, or the retry budget ran out).
	ErrNoQRCode = errors.New("qr: no QR code found")
	// ErrTooLarge: the file, or the image dimensions its header declares,
	// exceed the configured bounds. Nothing was decoded.
	ErrTooLarge = errors.New("qr: image too large")
	// ErrUnsupportedImage: the bytes are not a PNG, JPEG or GIF image.
	ErrUnsupportedImage = errors.New("qr: unsupported image format")
	// ErrCorruptImage: the bytes start like a supported image but cannot be
	// decoded (truncated file, bad header, bad compressed data).
	ErrCorruptImage = errors.New("qr: corrupt or truncated image")
)

// Options tunes decoding. A nil *Options means defaults; a zero field means
// the default for that field.
type Options struct {
	// Budget bounds the wall-clock time spent retrying after a first
	// attempt fails.
	// It is checked before each retry, so the first attempt always runs and
	// the last one may end a little after the budget. Zero means
	// DefaultBudget; a negative value means no retries at all.
	Budget time.Duration
	// MaxFileSize bounds the size of an image file in bytes
	// (DecodeFile, DecodeReader, DecodeBytes). Zero means DefaultMaxFileSize.
	MaxFileSize int64
	// MaxPixels bounds width×height, checked from the image header before
	// any pixel is decoded. Zero means DefaultMaxPixels.
	MaxPixels int
	// MaxSide bounds the width and the height, checked with MaxPixels.
	// Zero means DefaultMaxSide.
	MaxSide int
}

func (o *Options) budget() time.Duration {
	if o == nil || o.Budget == 0 {
		return DefaultBudget
	}
	return o.Budget
}

func (o *Options) maxFileSize() int64 {
	if o == nil || o.MaxFileSize <= 0 {
		return DefaultMaxFileSize
	}
	return o.MaxFileSize
}

func (o *Options) maxPixels() int {
	if o == nil || o.MaxPixels <= 0 {
		return DefaultMaxPixels
	}
	return o.MaxPixels
}

func (o *Options) maxSide() int {
	if o == nil || o.MaxSide <= 0 {
		return DefaultMaxSide
	}
	return o.MaxSide
}

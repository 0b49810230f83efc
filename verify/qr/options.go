package qr

import (
	"errors"
	"fmt"
)

// Default bounds, used where an [Options] field is zero.
const (
	// DefaultMaxWork bounds the pixels the decoding attempts of one image
	// look at in all (100 million): more than the whole ladder of attempts
	// needs on any image the other bounds admit (70 million at most), so
	// by default every attempt runs.
	DefaultMaxWork = 100_000_000
	// DefaultMaxFileSize bounds an image file (20 MiB).
	DefaultMaxFileSize = 20 << 20
	// DefaultMaxPixels bounds width×height of an image (40 megapixels).
	DefaultMaxPixels = 40_000_000
	// DefaultMaxSide bounds the width and the height of an image.
	DefaultMaxSide = 12000
	// DefaultMaxMemory bounds the memory one image may need to be decoded
	// and scanned (256 MiB), as estimated from its header.
	DefaultMaxMemory = 256 << 20
)

// Sentinel errors. Errors about an image wrap one of them, so callers
// branch with [errors.Is]; errors opening or reading a file are returned as
// the file system gave them (errors.Is(err, fs.ErrNotExist) and so on), and
// a scan stopped by its context returns an error wrapping the context's
// error (errors.Is(err, context.Canceled)), never one of these.
var (
	// ErrNoQRCode: the image was read but no QR code could be decoded in it
	// (none is there, or it is too damaged for every attempt allowed).
	ErrNoQRCode = errors.New("qr: no QR code found")
	// ErrTooLarge: the file, the image dimensions its header declares, or
	// the memory decoding it would take exceed the configured bounds.
	// Nothing was decoded.
	ErrTooLarge = errors.New("qr: image too large")
	// ErrUnsupportedImage: the bytes are not a PNG, JPEG or GIF image.
	ErrUnsupportedImage = errors.New("qr: unsupported image format")
	// ErrCorruptImage: the bytes start like a supported image but cannot be
	// decoded (truncated file, bad header, bad compressed data).
	ErrCorruptImage = errors.New("qr: corrupt or truncated image")
	// ErrEmpty: the file or stream holds no bytes at all.
	ErrEmpty = errors.New("qr: empty file")
)

// Options tunes decoding. A nil *Options means defaults; a zero field means
// the default for that field.
//
// Every bound counts work or bytes, never time, so the same image gives the
// same result on a fast machine, a busy one and a slow phone. A caller that
// needs a deadline passes a context to [ScanContext] and the other
// ...Context functions.
type Options struct {
	// MaxAttempts bounds the decoding attempts (see [Scan]); 1 means the
	// plain attempt only, no retries. Zero means every attempt.
	MaxAttempts int
	// MaxWork bounds the pixels looked at by all the attempts on one image
	// together: an attempt that would take the total over it is skipped.
	// The first attempt always runs. Zero means DefaultMaxWork.
	MaxWork int64
	// MaxFileSize bounds the size of an image file in bytes
	// (DecodeFile, DecodeReader, DecodeBytes). Zero means DefaultMaxFileSize.
	MaxFileSize int64
	// MaxPixels bounds width×height, checked from the image header before
	// any pixel is decoded. Zero means DefaultMaxPixels.
	MaxPixels int
	// MaxSide bounds the width and the height, checked with MaxPixels.
	// Zero means DefaultMaxSide.
	MaxSide int
	// MaxMemory bounds the bytes an image may need while it is decoded and
	// scanned, estimated from its header before any pixel is decoded (see
	// the package documentation). Zero means DefaultMaxMemory.
	MaxMemory int64
	// Pool, when set, is a memory budget shared by every scan using these
	// options: a scan takes its estimated bytes from the pool before
	// decoding, waiting while other scans hold them, and gives them back
	// when it is done. An image needing more than the whole pool is refused
	// with ErrTooLarge.
	Pool *MemoryPool
	// Aztec, when set, makes a scan that finds no QR code look for an
	// Aztec code in the same image (EU Digital COVID Certificates from
	// Ireland are Aztec codes), within the same bounds: the memory
	// estimate and the reservation from Pool then cover the Aztec
	// attempts too, and they are a fixed number (see [DecodeAztec]). The
	// error when neither is found wraps ErrNoQRCode and ErrNoAztecCode.
	Aztec bool
	// LimitHelp, when set, writes the end of every ErrTooLarge message: how
	// the user changes the bound that refused the image (a program's
	// command-line flag, say). It receives the name of the Options field:
	// "MaxFileSize", "MaxPixels", "MaxSide" or "MaxMemory" (also for the
	// pool's size). Nil names the Options field.
	LimitHelp func(field string) string
}

func (o *Options) maxAttempts() int {
	if o == nil || o.MaxAttempts <= 0 {
		return int(^uint(0) >> 1)
	}
	return o.MaxAttempts
}

func (o *Options) maxWork() int64 {
	if o == nil || o.MaxWork <= 0 {
		return DefaultMaxWork
	}
	return o.MaxWork
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

// maxMemory is the most one image may need: MaxMemory, or the pool's size
// when that is smaller.
func (o *Options) maxMemory() int64 {
	limit := int64(DefaultMaxMemory)
	if o != nil && o.MaxMemory > 0 {
		limit = o.MaxMemory
	}
	if o != nil && o.Pool != nil && o.Pool.size < limit {
		limit = o.Pool.size
	}
	return limit
}

// tooLarge is an ErrTooLarge error naming the bound that refused the input,
// with the caller's advice on changing it.
func (o *Options) tooLarge(field, format string, args ...any) error {
	err := fmt.Errorf("%w: "+format, append([]any{ErrTooLarge}, args...)...)
	help := "the bound is qr.Options." + field
	if o != nil && o.LimitHelp != nil {
		help = o.LimitHelp(field)
	}
	if help == "" {
		return err
	}
	return fmt.Errorf("%w (%s)", err, help)
}

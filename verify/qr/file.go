package qr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
)

// DecodeFile reads the PNG, JPEG or GIF image at path and decodes the QR
// code in it (see [Decode] and [DecodeBytes] for the bounds and errors).
func DecodeFile(path string, opts *Options) ([]byte, error) {
	res, err := ScanFileContext(context.Background(), path, opts)
	if err != nil {
		return nil, err
	}
	return res.Payload, nil
}

// ScanFile is [DecodeFile] that also reports which attempt succeeded.
func ScanFile(path string, opts *Options) (*Result, error) {
	return ScanFileContext(context.Background(), path, opts)
}

// ScanFileContext is [ScanFile] that gives up when ctx is done (see
// [ScanContext]).
func ScanFileContext(ctx context.Context, path string, opts *Options) (*Result, error) {
	f, err := openBounded(path, opts)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res, err := ScanReaderContext(ctx, f, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return res, nil
}

// DecodeReader reads an image from r, at most Options.MaxFileSize bytes,
// and decodes the QR code in it.
func DecodeReader(r io.Reader, opts *Options) ([]byte, error) {
	res, err := ScanReaderContext(context.Background(), r, opts)
	if err != nil {
		return nil, err
	}
	return res.Payload, nil
}

// ScanReader is [DecodeReader] that also reports which attempt succeeded.
func ScanReader(r io.Reader, opts *Options) (*Result, error) {
	return ScanReaderContext(context.Background(), r, opts)
}

// ScanReaderContext is [ScanReader] that gives up when ctx is done (see
// [ScanContext]).
func ScanReaderContext(ctx context.Context, r io.Reader, opts *Options) (*Result, error) {
	limit := opts.maxFileSize()
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("qr: reading image: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, opts.tooLarge("MaxFileSize", "more than %d bytes", limit)
	}
	return ScanBytesContext(ctx, b, opts)
}

// DecodeBytes decodes the QR code in an image file held in memory.
//
// Bounds are checked before any pixel is decoded: the file size against
// Options.MaxFileSize, the dimensions declared in the image header
// against Options.MaxSide and Options.MaxPixels, then the memory decoding
// and scanning will take, estimated from the header, against
// Options.MaxMemory and Options.Pool; each fails with [ErrTooLarge]. No
// bytes at all fail with [ErrEmpty]. Bytes that are not PNG, JPEG or GIF
// fail with [ErrUnsupportedImage] (WebP, HEIC, TIFF and BMP are recognised
// so the message can name them); a truncated or damaged file fails with
// [ErrCorruptImage]; an image without a readable code fails with
// [ErrNoQRCode]. A GIF's first frame is used.
func DecodeBytes(b []byte, opts *Options) ([]byte, error) {
	res, err := ScanBytesContext(context.Background(), b, opts)
	if err != nil {
		return nil, err
	}
	return res.Payload, nil
}

// ScanBytes is [DecodeBytes] that also reports which attempt succeeded.
func ScanBytes(b []byte, opts *Options) (*Result, error) {
	return ScanBytesContext(context.Background(), b, opts)
}

// ScanBytesContext is [ScanBytes] that gives up when ctx is done (see
// [ScanContext]).
func ScanBytesContext(ctx context.Context, b []byte, opts *Options) (*Result, error) {
	return scanBytes(ctx, b, opts, opts.symbols())
}

// scanBytes decodes the image file b and looks for the codes syms names
// in it, within the bounds of opts.
func scanBytes(ctx context.Context, b []byte, opts *Options, syms symbols) (*Result, error) {
	codec, c, err := readHeader(b, opts)
	if err != nil {
		return nil, err
	}
	need := c.bytes(syms)
	if limit := opts.maxMemory(); need > limit {
		return nil, opts.tooLarge("MaxMemory", "%s of %dx%d pixels needs about %s to decode and scan, more than the limit of %s",
			c.what, c.w, c.h, mib(need), mib(limit))
	}
	release, err := reserve(ctx, opts, need)
	if err != nil {
		return nil, fmt.Errorf("qr: scan not started: %w", err)
	}
	defer release()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("qr: scan not started: %w", err)
	}
	lum, err := decodeLuminance(codec, b, c, opts)
	if err != nil {
		return nil, err
	}
	// The decoded image is unreachable from here: the scan holds only its
	// luminance copy, as the memory estimate counts.
	return scanSymbols(ctx, lum, opts, syms)
}

type imageCodec struct {
	decodeConfig func(io.Reader) (image.Config, error)
	decode       func(io.Reader) (image.Image, error)
}

// codecs are called directly rather than through image.Decode, so the
// accepted formats do not depend on which decoders other packages register.
var codecs = map[string]imageCodec{
	"png":  {png.DecodeConfig, png.Decode},
	"jpeg": {jpeg.DecodeConfig, jpeg.Decode},
	"gif":  {gif.DecodeConfig, gif.Decode},
}

// readHeader checks b against the bounds that need no decoding (size,
// format, the dimensions its header declares) and estimates what decoding
// it will cost.
func readHeader(b []byte, opts *Options) (imageCodec, cost, error) {
	if len(b) == 0 {
		return imageCodec{}, cost{}, ErrEmpty
	}
	if int64(len(b)) > opts.maxFileSize() {
		return imageCodec{}, cost{}, opts.tooLarge("MaxFileSize", "%d bytes, more than %d", len(b), opts.maxFileSize())
	}
	format := sniff(b)
	codec, ok := codecs[format]
	if !ok {
		if format == "" {
			return imageCodec{}, cost{}, fmt.Errorf("%w: not a PNG, JPEG or GIF image", ErrUnsupportedImage)
		}
		return imageCodec{}, cost{}, fmt.Errorf("%w: %s (use PNG, JPEG or GIF)", ErrUnsupportedImage, format)
	}
	cfg, err := codec.decodeConfig(bytes.NewReader(b))
	if err != nil {
		return imageCodec{}, cost{}, fmt.Errorf("%w: header: %v", ErrCorruptImage, explainEOF(err))
	}
	if err := checkDimensions(cfg.Width, cfg.Height, opts); err != nil {
		return imageCodec{}, cost{}, err
	}
	return codec, estimate(format, b, cfg), nil
}

// decodePixels decodes b, whose header readHeader accepted.
func decodePixels(codec imageCodec, b []byte, c cost, opts *Options) (image.Image, error) {
	img, err := codec.decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptImage, explainEOF(err))
	}
	// A decoder could in principle return more than its header declared.
	if bb := img.Bounds(); bb.Dx() != c.w || bb.Dy() != c.h {
		if err := checkDimensions(bb.Dx(), bb.Dy(), opts); err != nil {
			return nil, err
		}
	}
	return img, nil
}

// decodeLuminance decodes b and returns its luminance copy; the decoded
// image does not outlive the call.
func decodeLuminance(codec imageCodec, b []byte, c cost, opts *Options) (raster, error) {
	img, err := decodePixels(codec, b, c, opts)
	if err != nil {
		return raster{}, err
	}
	return toRaster(img), nil
}

// decodeImage decodes the image file b within the bounds of opts.
func decodeImage(b []byte, opts *Options) (image.Image, error) {
	codec, c, err := readHeader(b, opts)
	if err != nil {
		return nil, err
	}
	return decodePixels(codec, b, c, opts)
}

// checkImage returns the size of img, an error wrapping none when img is
// nil or empty, or the error of [checkDimensions].
func checkImage(img image.Image, opts *Options, none error) (w, h int, err error) {
	if img == nil {
		return 0, 0, fmt.Errorf("%w: nil image", none)
	}
	b := img.Bounds()
	w, h = b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return 0, 0, fmt.Errorf("%w: empty image", none)
	}
	return w, h, checkDimensions(w, h, opts)
}

func checkDimensions(w, h int, opts *Options) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("%w: %dx%d image", ErrCorruptImage, w, h)
	}
	if w > opts.maxSide() || h > opts.maxSide() {
		return opts.tooLarge("MaxSide", "%dx%d pixels, a side over %d", w, h, opts.maxSide())
	}
	if int64(w)*int64(h) > int64(opts.maxPixels()) {
		return opts.tooLarge("MaxPixels", "%dx%d pixels, more than %d", w, h, opts.maxPixels())
	}
	return nil
}

func explainEOF(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("file ends early (%v)", err)
	}
	return err
}

// IsImage reports whether b starts like an image file (PNG, JPEG, GIF, and
// also WebP, HEIC/AVIF, TIFF, BMP which [DecodeBytes] rejects by name). A
// caller that accepts either a QR image or the payload itself (a file of
// DIVOC ZIP or JSON, an "HC1:" or "shc:/" string on standard input) uses it
// to tell them apart; the first 16 bytes are enough. None of these
// signatures can begin a ZIP ("PK"), JSON, or a text payload.
func IsImage(b []byte) bool {
	return sniff(b) != ""
}

// sniff names the image format by its signature, or returns "".
func sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff}):
		return "jpeg"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "gif"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "webp"
	case len(b) >= 12 && string(b[4:8]) == "ftyp" && isHEIFBrand(string(b[8:12])):
		return "heif"
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return "tiff"
	case len(b) >= 14 && string(b[:2]) == "BM" && string(b[6:10]) == "\x00\x00\x00\x00":
		return "bmp"
	}
	return ""
}

func isHEIFBrand(brand string) bool {
	switch brand {
	case "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1", "avif", "avis":
		return true
	}
	return false
}

// ReadPayload reads one scan input from r, at most Options.MaxFileSize
// bytes: if it is an image (see [IsImage]), the QR code in it is decoded;
// otherwise the bytes are the payload itself, returned unchanged (a DIVOC
// ZIP or JSON file, an "HC1:" or "shc:/" string piped on standard input).
// fromImage tells which. No bytes at all fail with [ErrEmpty]. Trimming a
// trailing newline from a typed text payload is left to the caller, which
// knows the payload format.
func ReadPayload(r io.Reader, opts *Options) (payload []byte, fromImage bool, err error) {
	return ReadPayloadContext(context.Background(), r, opts)
}

// ReadPayloadContext is [ReadPayload] that gives up when ctx is done (see
// [ScanContext]).
func ReadPayloadContext(ctx context.Context, r io.Reader, opts *Options) (payload []byte, fromImage bool, err error) {
	limit := opts.maxFileSize()
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, false, fmt.Errorf("qr: reading input: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, false, opts.tooLarge("MaxFileSize", "input of more than %d bytes", limit)
	}
	if len(b) == 0 {
		return nil, false, ErrEmpty
	}
	if !IsImage(b) {
		return b, false, nil
	}
	res, err := ScanBytesContext(ctx, b, opts)
	if err != nil {
		return nil, true, err
	}
	return res.Payload, true, nil
}

// ReadPayloadFile is [ReadPayload] on the file at path.
func ReadPayloadFile(path string, opts *Options) (payload []byte, fromImage bool, err error) {
	return ReadPayloadFileContext(context.Background(), path, opts)
}

// ReadPayloadFileContext is [ReadPayloadFile] that gives up when ctx is
// done (see [ScanContext]).
func ReadPayloadFileContext(ctx context.Context, path string, opts *Options) (payload []byte, fromImage bool, err error) {
	f, err := openBounded(path, opts)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	payload, fromImage, err = ReadPayloadContext(ctx, f, opts)
	if err != nil {
		return nil, fromImage, fmt.Errorf("%s: %w", path, err)
	}
	return payload, fromImage, nil
}

// openBounded opens path, refusing at once a regular file larger than
// Options.MaxFileSize (readers still stop at the bound for pipes and
// devices).
func openBounded(path string, opts *Options) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > opts.maxFileSize() {
		f.Close()
		return nil, opts.tooLarge("MaxFileSize", "%s is %d bytes, more than %d", path, fi.Size(), opts.maxFileSize())
	}
	return f, nil
}

// Package qr reads the QR code of a health certificate from a photo or an
// image file, offline, and returns its payload as raw bytes.
//
// Field officers photograph certificates; issuers hand out PNGs. The
// package decodes PNG, JPEG and GIF ([DecodeFile], [DecodeReader],
// [DecodeBytes]) or an image already in memory ([Decode]) with
// github.com/makiuchi-d/gozxing, and returns what the symbol holds byte
// for byte:
//
//   - DIVOC: a ZIP holding certificate.json, stored as binary, or
//     UTF-8-expanded by DIVOC 2.x's Node service. Both come back exactly;
//     undoing the expansion belongs to the payload decoder.
//   - EU Digital COVID Certificate: "HC1:" and base45 text (alphanumeric mode).
//   - SMART Health Cards: "shc:/" (byte mode) followed by digits (numeric
//     mode), returned as one string.
//
// The decoder's text result is not used: it decodes byte segments with a
// guessed character set, which mangles binary. The segments are read
// again from the corrected codewords instead, in order, byte segments
// verbatim (see [Decode]).
//
// # Robustness
//
// A plain attempt decodes clean images in a millisecond or two. When it
// fails, [Scan] retries with transformations that rescue real photos:
// exhaustive search, an added quiet zone, inverted colours, pure-barcode
// mode, other scales, blur, quarter and eighth turns, until one works or
// Options.Budget (default 2 s) is spent. [Result] tells which one worked.
// Gozxing panics on some odd input; a panic is recovered into an error.
//
// # Bounds
//
// Image files are bounded before any pixel is decoded: the file size
// (Options.MaxFileSize, default 20 MiB), then the dimensions the header
// declares (Options.MaxSide 12000, Options.MaxPixels 40 megapixels).
// Decoding allocates about width×height×(bytes per pixel + 2): some 240 MB
// for a 40 megapixel RGBA PNG, more for a progressive JPEG, so devices
// short of memory should lower MaxPixels. Failures wrap the sentinels
// [ErrTooLarge], [ErrUnsupportedImage], [ErrCorruptImage] and
// [ErrNoQRCode].
//
// # Payload instead of image
//
// A scan input may be the payload itself (a file of DIVOC JSON or ZIP, an
// "HC1:" string on standard input). [IsImage] tells images apart by their
// signature; [ReadPayload] and [ReadPayloadFile] do the whole choice.
//
// # Fixtures
//
// [Encode] renders a payload as a QR image that decodes to exactly those
// bytes; package qrtest degrades images the way cameras do (noise,
// rotation, blur, JPEG, perspective, clutter). The committed images under
// testdata are made by:
//
//	go generate ./verify/qr
package qr

//go:generate go run ./internal/genimages -out testdata

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
// fails, [Scan] retries along a fixed ladder of transformations that rescue
// real photos and issuer images: every trio of finder patterns with the
// symbol's size counted on its timing pattern (large versions at a
// fractional module pitch, finder-like patterns in the data), exhaustive
// search, an added quiet zone, pure-barcode mode, other scales, inverted
// colours, blur, quarter and eighth turns, until one works. [Result] tells
// which one worked, after how many attempts and how many pixels.
//
// The ladder is bounded by work, never by time: Options.MaxAttempts bounds
// the attempts and Options.MaxWork the pixels they look at together
// (100 million by default, more than the whole ladder takes on the largest
// image admitted). The same image therefore gives the same result on a
// fast machine, a busy one and a slow phone. A caller that needs a deadline
// passes a context to [ScanContext], [ScanFileContext], [ReadPayloadContext]
// and the like: it is checked between attempts, and a scan it stops returns
// an error wrapping ctx.Err(), never [ErrNoQRCode].
//
// Gozxing panics on some odd input; a panic is recovered into an error.
//
// # Aztec codes
//
// EU Digital COVID Certificates from Ireland are Aztec codes. [DecodeAztec]
// and [DecodeAztecBytes] read one; with Options.Aztec, every scan that
// finds no QR code makes the Aztec attempts on the same luminance copy
// ([Result.Symbology] says which was read). The Aztec attempts are a fixed
// four (hybrid and global binarizers, an added quiet zone, inverted
// colours) and go through the same bounds as the QR attempts: their copies
// (the image with a quiet zone of a tenth of its side, one attempt's
// inverted copy and bit matrices) are part of the memory estimate and of
// what is taken from Options.Pool.
//
// # Bounds
//
// Image files are bounded before any pixel is decoded, in this order:
//
//  1. the file size (Options.MaxFileSize, default 20 MiB);
//  2. the dimensions the header declares (Options.MaxSide 12000,
//     Options.MaxPixels 40 megapixels);
//  3. the memory decoding and scanning will take (Options.MaxMemory,
//     default 256 MiB), estimated from the header.
//
// The estimate follows what Go's decoders allocate for each kind of image:
// bytes a pixel of the decoded image (PNG: 1 for 8-bit grey or paletted,
// 2 for 16-bit grey, 4 for 8-bit RGB, RGBA or anything with transparency,
// 8 for 16-bit colour; twice that when interlaced. JPEG: each component
// plane at its sampling, 1.5 bytes a pixel for common 4:2:0 colour, plus 4
// bytes a sample of coefficients when progressive, plus 4 bytes a pixel for
// RGB and CMYK. GIF: 2), plus 128 KiB of decoder state; then the 8-bit
// luminance copy the scanner works on (1 byte a pixel), to which the
// decoded image is converted and dropped; then the scanner's working
// copies, which depend on the reduced size of large images and stay under
// about 60 MiB. A 12000×3333 16-bit RGBA PNG, some 300 KB on disk, is
// estimated at 343 MiB and refused by default; the same pixels as 8-bit
// RGBA take 191 MiB, as 8-bit grey 76 MiB. An image already in memory
// ([Scan]) is bounded by its luminance copy and working copies.
//
// Scans running side by side share a budget through Options.Pool (a
// [MemoryPool]): each takes its estimate from the pool before decoding and
// waits while others hold it, so the memory of a batch stays within the
// pool whatever the number of workers, and an image needing more than the
// whole pool is refused at once. Go's collector lets a heap grow to about
// twice what is live unless a soft memory limit is set (GOMEMLIMIT,
// [runtime/debug.SetMemoryLimit]); crlverify scan sets one from its
// budget.
//
// Failures wrap the sentinels [ErrTooLarge] (naming the Options field that
// refused the image, or what Options.LimitHelp says), [ErrEmpty],
// [ErrUnsupportedImage], [ErrCorruptImage], [ErrNoQRCode] and
// [ErrNoAztecCode].
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

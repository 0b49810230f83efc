package qr

import (
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"math"

	"golang.org/x/sync/semaphore"
)

// MemoryPool is a memory budget shared by concurrent scans (see
// [Options.Pool]): a weighted semaphore over the bytes each scan is
// estimated to need. A directory scanned by several workers then holds at
// most the pool's size in images at once, whatever their number.
type MemoryPool struct {
	size int64
	sem  *semaphore.Weighted
}

// NewMemoryPool returns a pool of the given number of bytes; zero or less
// means DefaultMaxMemory.
func NewMemoryPool(bytes int64) *MemoryPool {
	if bytes <= 0 {
		bytes = DefaultMaxMemory
	}
	return &MemoryPool{size: bytes, sem: semaphore.NewWeighted(bytes)}
}

// Size is the pool's budget in bytes.
func (p *MemoryPool) Size() int64 { return p.size }

// reserve takes n bytes from the pool of opts, waiting for other scans to
// give theirs back, and returns the function that gives them back. The
// caller has checked n against the pool's size: a request for more would
// wait forever.
func reserve(ctx context.Context, opts *Options, n int64) (release func(), err error) {
	if opts == nil || opts.Pool == nil || n <= 0 {
		return func() {}, ctx.Err()
	}
	n = min(n, opts.Pool.size)
	if err := opts.Pool.sem.Acquire(ctx, n); err != nil {
		return nil, err
	}
	return func() { opts.Pool.sem.Release(n) }, nil
}

// cost is what reading one image takes, estimated from its header before
// any pixel is decoded.
type cost struct {
	w, h int
	// decode is the most the image decoder holds at once, the decoded
	// image included.
	decode int64
	// what describes the image for messages ("16-bit RGBA PNG").
	what string
}

// bytes is the memory the image needs from the start of decoding to the end
// of the scan: the decoder's peak with the 8-bit luminance copy made from
// the decoded image, or, once the decoded image is dropped, that copy with
// the scanner's working copies, whichever is larger.
// With syms holding an Aztec code, the Aztec attempts' copies are counted
// too; they run after the QR attempts, whose copies are then unreachable.
func (c cost) bytes(syms symbols) int64 {
	lum := int64(c.w) * int64(c.h)
	n := c.decode + lum
	if syms&symQR != 0 {
		n = max(n, lum+workingBytes(c.w, c.h))
	}
	if syms&symAztec != 0 {
		n = max(n, lum+aztecWorkingBytes(c.w, c.h))
	}
	return n
}

// estimate reads what decoding b will cost from the header; cfg is what
// the format's DecodeConfig returned. A header this cannot read gets the
// format's worst case, so the estimate never falls short of what the
// decoder would do with it.
func estimate(format string, b []byte, cfg image.Config) cost {
	c := cost{w: cfg.Width, h: cfg.Height}
	px := int64(cfg.Width) * int64(cfg.Height)
	switch format {
	case "png":
		c.decode, c.what = pngCost(b, cfg.Width, cfg.Height)
	case "jpeg":
		c.decode, c.what = jpegCost(b, cfg.Width, cfg.Height)
	case "gif":
		// The first frame, at most the logical screen, one byte a pixel;
		// an interlaced frame is copied once to put its rows in order.
		c.decode, c.what = 2*px, "GIF"
	default:
		c.decode, c.what = 8*px, "image"
	}
	c.decode += decoderState
	return c
}

// decoderState is what an image decoder allocates whatever the image's
// size: Huffman and quantisation tables, read buffers, the inflater's
// window.
const decoderState = 128 << 10

// pngCost follows image/png: the IHDR chunk gives bit depth, colour type
// and interlacing, a tRNS chunk before the image data turns grey and RGB
// images into NRGBA ones. An Adam7 image is decoded pass by pass into
// separate images merged into the full one; counted here as twice the
// image.
func pngCost(b []byte, w, h int) (int64, string) {
	px := int64(w) * int64(h)
	worst := 16*px + 1<<20
	// Signature (8), IHDR length (4) and type (4), then the 13 IHDR bytes.
	if len(b) < 8+8+13 || string(b[12:16]) != "IHDR" {
		return worst, "PNG"
	}
	depth, colour, interlaced := b[24], b[25], b[28] != 0
	trns := false
	for off := 8; off+8 <= len(b); {
		n := int64(binary.BigEndian.Uint32(b[off:]))
		typ := string(b[off+4 : off+8])
		if typ == "IDAT" || typ == "IEND" {
			break
		}
		if typ == "tRNS" {
			trns = true
		}
		next := int64(off) + 12 + n
		if next > int64(len(b)) {
			break
		}
		off = int(next)
	}
	var perPixel int64
	var what string
	switch colour {
	case 0: // grey
		perPixel, what = 1, "grey"
		if trns {
			perPixel, what = 4, "grey with transparency"
		}
		if depth == 16 {
			perPixel *= 2
		}
	case 2: // RGB
		perPixel, what = 4, "RGB"
		if depth == 16 {
			perPixel = 8
		}
	case 3: // palette
		perPixel, what = 1, "paletted"
	case 4: // grey and alpha
		perPixel, what = 4, "grey and alpha"
		if depth == 16 {
			perPixel = 8
		}
	case 6: // RGBA
		perPixel, what = 4, "RGBA"
		if depth == 16 {
			perPixel = 8
		}
	default:
		return worst, "PNG"
	}
	what = fmt.Sprintf("%d-bit %s PNG", depth, what)
	n := perPixel * px
	if interlaced {
		n *= 2
		what = "interlaced " + what
	}
	// Two rows of raw samples (the current one and the one above).
	rows := 2 * (int64(w)*8 + 1)
	return n + rows, what
}

// jpegCost follows image/jpeg: the decoded image holds each component
// plane at its sampling (padded to whole blocks); a progressive JPEG also
// keeps every plane's DCT coefficients (4 bytes a sample) until the end;
// an RGB or CMYK JPEG is converted into a new image of 4 bytes a pixel.
// The header is walked up to its start-of-frame marker, noting the JFIF and
// Adobe markers that decide RGB against YCbCr as the decoder does.
func jpegCost(b []byte, w, h int) (int64, string) {
	px := int64(w) * int64(h)
	worst := 24*px + 1<<20 // four full planes, their coefficients, a CMYK copy
	jfif, adobe, adobeTransform := false, false, byte(0)
	off := 2 // after SOI
	for {
		// Markers may be preceded by any number of 0xff fill bytes.
		for off < len(b) && b[off] == 0xff {
			off++
		}
		if off >= len(b) || off < 3 || b[off-1] != 0xff {
			return worst, "JPEG"
		}
		marker := b[off]
		off++
		if marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8) {
			continue // no length
		}
		if off+2 > len(b) {
			return worst, "JPEG"
		}
		n := int(binary.BigEndian.Uint16(b[off:]))
		if n < 2 || off+n > len(b) {
			return worst, "JPEG"
		}
		seg := b[off+2 : off+n]
		off += n
		switch {
		case marker == 0xe0 && len(seg) >= 5 && string(seg[:5]) == "JFIF\x00":
			jfif = true
		case marker == 0xee && len(seg) >= 12 && string(seg[:5]) == "Adobe":
			adobe, adobeTransform = true, seg[11]
		case marker == 0xc0 || marker == 0xc1 || marker == 0xc2:
			return frameCost(seg, marker == 0xc2, jfif, adobe, adobeTransform, w, h, worst)
		case marker == 0xda || marker == 0xd9:
			return worst, "JPEG" // image data before any frame header
		}
	}
}

// frameCost reads a start-of-frame segment (precision, height, width,
// components with their sampling factors).
func frameCost(seg []byte, progressive, jfif, adobe bool, adobeTransform byte, w, h int, worst int64) (int64, string) {
	if len(seg) < 6 {
		return worst, "JPEG"
	}
	nComp := int(seg[5])
	if nComp != 1 && nComp != 3 && nComp != 4 || len(seg) < 6+3*nComp {
		return worst, "JPEG"
	}
	type comp struct {
		id   byte
		h, v int
	}
	comps := make([]comp, nComp)
	for i := range comps {
		hv := seg[7+3*i]
		comps[i] = comp{seg[6+3*i], int(hv >> 4), int(hv & 0x0f)}
		if comps[i].h < 1 || comps[i].h > 4 || comps[i].v < 1 || comps[i].v > 4 {
			return worst, "JPEG"
		}
	}
	if nComp == 1 {
		comps[0].h, comps[0].v = 1, 1
	}
	// Blocks are 8×8 samples; the luma plane covers whole MCUs.
	h0, v0 := comps[0].h, comps[0].v
	mxx := (int64(w) + 8*int64(h0) - 1) / (8 * int64(h0))
	myy := (int64(h) + 8*int64(v0) - 1) / (8 * int64(v0))
	// Every plane (Y, Cb, Cr, and K or the fourth) at its own sampling.
	var planes int64
	for _, c := range comps {
		planes += 8 * int64(c.h) * mxx * 8 * int64(c.v) * myy
	}
	n := planes
	what := "JPEG"
	switch nComp {
	case 1:
		what = "grey JPEG"
	case 3:
		what = "colour JPEG"
		rgb := !jfif && ((adobe && adobeTransform == 0) || (comps[0].id == 'R' && comps[1].id == 'G' && comps[2].id == 'B'))
		if rgb {
			n += 4 * int64(w) * int64(h)
			what = "RGB JPEG"
		}
	case 4:
		n += 4 * int64(w) * int64(h)
		what = "CMYK JPEG"
	}
	if progressive {
		n += 4 * planes
		what = "progressive " + what
	}
	if n < 0 || n > math.MaxInt64/4 {
		return worst, "JPEG"
	}
	return n, what
}

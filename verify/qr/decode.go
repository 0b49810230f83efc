package qr

import (
	"context"
	"errors"
	"fmt"
	"image"
	"slices"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// Result is a decoded QR code with how it was found.
type Result struct {
	// Payload is the raw content of the symbol (see [Decode]).
	Payload []byte
	// Symbology is the kind of code read: [SymbologyQR], or
	// [SymbologyAztec] (see Options.Aztec).
	Symbology string
	// Strategy names the attempt that decoded it: "plain" for a clean image,
	// otherwise the transformation that was needed, e.g. "quiet-zone",
	// "inverted", "half-size".
	Strategy string
	// Attempts counts the decoding attempts made, including the successful one.
	Attempts int
	// Work counts the pixels those attempts looked at (see Options.MaxWork).
	Work int64
}

// Decode finds a QR code in img and returns its raw payload: byte-mode
// segments exactly as stored (binary survives unchanged), numeric and
// alphanumeric segments as ASCII, segments in symbol order. A SMART Health
// Card ("shc:/" then digits) and an EU certificate ("HC1:" in alphanumeric
// mode) come back as their text; a DIVOC ZIP comes back byte for byte.
//
// When a plain attempt fails, Decode retries with transformations that
// rescue real photographs and issuer images (see [Scan]), within the
// bounds of opts. The error wraps [ErrNoQRCode] when nothing was found.
func Decode(img image.Image, opts *Options) ([]byte, error) {
	res, err := ScanContext(context.Background(), img, opts)
	if err != nil {
		return nil, err
	}
	return res.Payload, nil
}

// Scan is [Decode] that also reports which attempt succeeded.
//
// The attempts, cheapest and most likely first: the image as it is; every
// trio of finder patterns with the symbol's size counted on its timing
// pattern ("finder-grid": rescues large versions drawn at a fractional
// module pitch, whose size the detector misjudges, and codes with a
// finder-like pattern in their data, which the detector may take for a
// corner); the detector's exhaustive search (TRY_HARDER); an added white
// quiet zone for codes cropped tight; pure-barcode sampling for synthetic
// images; an enlarged copy (bilinear) for small images, which also rescues
// noisy ones; a half-size box-filtered copy, which averages noise; inverted
// colours (tried first when the image's border is dark); the
// global-histogram binarizer; the full resolution when a large photo was
// first reduced; three times larger and a third of the size; a quarter
// turn (helps sheared codes); a blur against speckle; an eighth turn (codes
// near 45°, where the detector is weakest); inverted with a quiet zone and
// in pure mode; a quarter of the size. Large photos (longest side over 2000
// pixels) are first reduced to about 1400 pixels, which keeps the plain
// attempt fast. Clean images decode on the first attempt.
//
// The attempts stop at the first success, after Options.MaxAttempts, and
// skip what would take the pixels looked at over Options.MaxWork: the
// result depends on the image and the options only, never on the speed or
// the load of the machine.
//
// Scan is safe for concurrent use. It checks img against Options.MaxSide,
// Options.MaxPixels and Options.MaxMemory (the working copies it makes;
// img itself is already in memory) like [DecodeBytes] does.
func Scan(img image.Image, opts *Options) (*Result, error) {
	return ScanContext(context.Background(), img, opts)
}

// ScanContext is [Scan] that gives up when ctx is done: it checks ctx
// before each attempt (and while it waits for Options.Pool) and then
// returns an error wrapping ctx.Err(), never ErrNoQRCode. A scan that ran
// every attempt it was allowed returns its result even if ctx ended
// meanwhile.
func ScanContext(ctx context.Context, img image.Image, opts *Options) (*Result, error) {
	w, h, err := checkImage(img, opts, ErrNoQRCode)
	if err != nil {
		return nil, err
	}
	syms := opts.symbols()
	need := int64(w)*int64(h) + workingBytes(w, h)
	if syms&symAztec != 0 {
		need = max(need, int64(w)*int64(h)+aztecWorkingBytes(w, h))
	}
	if need > opts.maxMemory() {
		return nil, opts.tooLarge("MaxMemory", "%dx%d pixels need about %s to scan, more than the limit of %s",
			w, h, mib(need), mib(opts.maxMemory()))
	}
	release, err := reserve(ctx, opts, need)
	if err != nil {
		return nil, fmt.Errorf("qr: scan not started: %w", err)
	}
	defer release()
	return scanSymbols(ctx, toRaster(img), opts, syms)
}

// The kinds of code [Result.Symbology] names.
const (
	SymbologyQR    = "qr"
	SymbologyAztec = "aztec"
)

// symbols is a set of kinds of code to look for.
type symbols int

const (
	symQR symbols = 1 << iota
	symAztec
)

// symbols is what a scan with o looks for: a QR code, and an Aztec code
// with Options.Aztec.
func (o *Options) symbols() symbols {
	if o != nil && o.Aztec {
		return symQR | symAztec
	}
	return symQR
}

// scanSymbols looks for the codes syms names in r: the QR attempts first,
// then, when they found no QR code, the Aztec attempts. When neither is
// found the error wraps ErrNoQRCode and ErrNoAztecCode.
func scanSymbols(ctx context.Context, r raster, opts *Options, syms symbols) (*Result, error) {
	var qerr error
	if syms&symQR != 0 {
		res, err := scanRaster(ctx, r, opts)
		if err == nil || !errors.Is(err, ErrNoQRCode) || syms&symAztec == 0 {
			return res, err
		}
		qerr = err
	}
	res, err := scanAztecRaster(ctx, r)
	if err != nil && qerr != nil {
		if errors.Is(err, ErrNoAztecCode) {
			return nil, fmt.Errorf("%w; %w", qerr, err)
		}
		return nil, err
	}
	return res, err
}

// scanRaster runs the ladder of attempts on r within the bounds of opts.
func scanRaster(ctx context.Context, r raster, opts *Options) (*Result, error) {
	s := newScanner(r)
	maxAttempts, maxWork := opts.maxAttempts(), opts.maxWork()
	skipped, capped := 0, false
	for _, a := range s.attempts() {
		if s.tried >= maxAttempts {
			capped = true
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("qr: scan stopped after %s: %w", attempts(s.tried), err)
		}
		src, ok := a.src()
		if !ok {
			continue
		}
		px := int64(src.w) * int64(src.h)
		if s.tried > 0 && s.work+px > maxWork {
			skipped++
			continue
		}
		s.tried++
		s.work += px
		// Why an attempt failed (no finder pattern, too many errors to
		// correct) is not kept: the next attempt looks at another image.
		if payload, err := decodeRaster(src, a); err == nil {
			return &Result{Payload: payload, Symbology: SymbologyQR, Strategy: a.name, Attempts: s.tried, Work: s.work}, nil
		}
	}
	switch {
	case capped && maxAttempts == 1:
		return nil, fmt.Errorf("%w (retries off)", ErrNoQRCode)
	case capped:
		return nil, fmt.Errorf("%w (%s, the most allowed)", ErrNoQRCode, attempts(s.tried))
	case skipped > 0:
		return nil, fmt.Errorf("%w (%s; %d more skipped to keep within %d pixels of work)", ErrNoQRCode, attempts(s.tried), skipped, maxWork)
	}
	return nil, fmt.Errorf("%w (%s)", ErrNoQRCode, attempts(s.tried))
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

// mib formats a byte count for messages.
func mib(n int64) string {
	if n < 10<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d MiB", (n+1<<19)>>20)
}

// attempt is one way of looking at the image.
type attempt struct {
	name      string
	src       func() (raster, bool) // false: not applicable to this image
	global    bool                  // GlobalHistogramBinarizer instead of HybridBinarizer
	tryHarder bool
	pure      bool
	grid      bool // every trio of finder patterns, size from the timing pattern (finder.go)
}

// scanner builds the variants of one image lazily and keeps them for the
// attempts that share them.
type scanner struct {
	full   raster
	shrink int // factor from full to base; 1 when the image is not large
	cache  map[string]raster
	built  int64 // bytes of the variants in cache, for the memory estimate's tests
	tried  int
	work   int64 // pixels looked at by the attempts so far
}

// Sizes steering the scale attempts, in pixels of the longest side.
const (
	largeSide   = 2000 // above this, the plain attempt runs on a reduced copy
	workingSide = 1400 // about the size of that copy
	smallSide   = 600  // below this, enlarged copies are tried
	minSide     = 60   // below this, a reduced copy is not worth trying
)

func newScanner(full raster) *scanner {
	return &scanner{full: full, shrink: shrinkFor(full.w, full.h), cache: map[string]raster{}}
}

// shrinkFor is the factor by which an image is reduced for the first
// attempts: 1, or enough to bring a large image near workingSide.
func shrinkFor(w, h int) int {
	if side := max(w, h); side > largeSide {
		return (side + workingSide - 1) / workingSide
	}
	return 1
}

// quietZoneFor is the border added around a raster whose longest side is
// side.
func quietZoneFor(side int) int { return max(16, side/8) }

// enlarges reports whether a base of longest side side is enlarged k times.
func enlarges(side, k int) bool { return side < smallSide && side*k <= 2*smallSide }

// reduces reports whether a base of longest side side is reduced k times.
func reduces(side, k int) bool { return side/k >= minSide }

// workingBytes bounds the memory the scanner takes beyond the w×h
// luminance copy it starts from: every variant the ladder may build and
// keep (sizes as the attempts build them), the blur's sums, and the
// decoder's bitmaps for the largest raster one attempt looks at (a bit
// matrix and block thresholds, a quarter of a byte a pixel), plus a
// mebibyte of small buffers.
func workingBytes(w, h int) int64 {
	k := shrinkFor(w, h)
	bw, bh := w/k, h/k
	side := max(bw, bh)
	q := quietZoneFor(side)
	pw, ph := int64(bw+2*q), int64(bh+2*q)
	base, padded := int64(bw)*int64(bh), pw*ph
	turned45 := int64(rotate45Side(bw, bh))
	turned45 *= turned45
	n := 2*base + // base (when reduced), inverted
		2*padded + // padded, inverted and padded
		2*padded + // quarter turn, blur
		2*padded + // the blur's sums
		turned45
	largest := max(int64(w)*int64(h), padded, turned45)
	for _, f := range []int{2, 3, 4} {
		if reduces(side, f) {
			n += int64(bw/f) * int64(bh/f)
		}
	}
	for _, f := range []int64{2, 3} {
		if enlarges(side, int(f)) {
			n += padded * f * f
			largest = max(largest, padded*f*f)
		}
	}
	return n + largest/4 + 1<<20
}

func (s *scanner) variant(name string, build func() raster) raster {
	if r, ok := s.cache[name]; ok {
		return r
	}
	r := build()
	s.cache[name] = r
	s.built += int64(len(r.pix))
	return r
}

func (s *scanner) base() raster {
	if s.shrink == 1 {
		return s.full
	}
	return s.variant("base", func() raster { return s.full.downscale(s.shrink) })
}

func (s *scanner) padded() raster {
	return s.variant("padded", func() raster {
		b := s.base()
		return b.pad(quietZoneFor(b.maxSide()), 255)
	})
}

func (s *scanner) inverted() raster {
	return s.variant("inverted", func() raster { return s.base().invert() })
}

func (s *scanner) attempts() []attempt {
	always := func(f func() raster) func() (raster, bool) {
		return func() (raster, bool) { return f(), true }
	}
	smaller := func(k int) func() (raster, bool) {
		return func() (raster, bool) {
			b := s.base()
			if !reduces(b.maxSide(), k) {
				return raster{}, false
			}
			return s.variant(fmt.Sprint("down", k), func() raster { return b.downscale(k) }), true
		}
	}
	larger := func(k int) func() (raster, bool) {
		return func() (raster, bool) {
			b := s.base()
			if !enlarges(b.maxSide(), k) {
				return raster{}, false
			}
			return s.variant(fmt.Sprint("up", k), func() raster { return s.padded().upscale(k) }), true
		}
	}
	ladder := []attempt{
		{name: "plain", src: always(s.base)},
		{name: "finder-grid", src: always(s.base), grid: true},
		{name: "try-harder", src: always(s.base), tryHarder: true},
		{name: "quiet-zone", src: always(s.padded), tryHarder: true},
		{name: "pure", src: always(s.base), pure: true},
		{name: "double-size", src: larger(2), tryHarder: true},
		{name: "half-size", src: smaller(2), tryHarder: true},
		{name: "inverted", src: always(s.inverted), tryHarder: true},
		{name: "global-histogram", src: always(s.base), global: true, tryHarder: true},
		{name: "full-size", tryHarder: true, src: func() (raster, bool) { return s.full, s.shrink > 1 }},
		{name: "triple-size", src: larger(3), tryHarder: true},
		{name: "third-size", src: smaller(3), tryHarder: true},
		{name: "quarter-turn", tryHarder: true, src: always(func() raster {
			return s.variant("turned", func() raster { return s.padded().rotate90() })
		})},
		{name: "blur", tryHarder: true, src: always(func() raster {
			return s.variant("blur", func() raster { return s.padded().blur() })
		})},
		{name: "eighth-turn", tryHarder: true, src: always(func() raster {
			return s.variant("turned45", func() raster { return s.base().rotate45() })
		})},
		{name: "inverted-quiet-zone", tryHarder: true, src: always(func() raster {
			return s.variant("inverted-padded", func() raster {
				b := s.inverted()
				return b.pad(quietZoneFor(b.maxSide()), 255)
			})
		})},
		{name: "inverted-pure", src: always(s.inverted), pure: true},
		{name: "quiet-zone-global-histogram", src: always(s.padded), global: true, tryHarder: true},
		{name: "quarter-size", src: smaller(4), tryHarder: true},
	}
	if s.base().darkFrame() {
		// Light modules on a dark background (a dark-mode screen, an
		// inverted print): start with the inverted image.
		i := slices.IndexFunc(ladder, func(a attempt) bool { return a.name == "inverted" })
		inv := ladder[i]
		ladder = append(ladder[:i], ladder[i+1:]...)
		ladder = slices.Insert(ladder, 0, inv)
	}
	return ladder
}

// decodeRaster runs gozxing once. The library is a port that can panic on
// unusual input (index out of range deep in the detector); a panic becomes
// an error so that a hostile image cannot crash the caller.
func decodeRaster(r raster, a attempt) (payload []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			payload, err = nil, fmt.Errorf("decoder panic: %v", p)
		}
	}()
	if r.w == 0 || r.h == 0 {
		return nil, errors.New("empty image")
	}
	if a.grid {
		return decodeGrid(r)
	}
	src, err := gozxing.NewPlanarYUVLuminanceSource(r.pix, r.w, r.h, 0, 0, r.w, r.h, false)
	if err != nil {
		return nil, err
	}
	var bin gozxing.Binarizer
	if a.global {
		bin = gozxing.NewGlobalHistgramBinarizer(src)
	} else {
		bin = gozxing.NewHybridBinarizer(src)
	}
	bmp, err := gozxing.NewBinaryBitmap(bin)
	if err != nil {
		return nil, err
	}
	hints := map[gozxing.DecodeHintType]any{}
	if a.tryHarder {
		hints[gozxing.DecodeHintType_TRY_HARDER] = true
	}
	if a.pure {
		hints[gozxing.DecodeHintType_PURE_BARCODE] = true
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		return nil, err
	}
	return payloadOf(res)
}

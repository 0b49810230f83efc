package qr

import (
	"errors"
	"fmt"
	"image"
	"slices"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// Result is a decoded QR code with how it was found.
type Result struct {
	// Payload is the raw content of the symbol (see [Decode]).
	Payload []byte
	// Strategy names the attempt that decoded it: "plain" for a clean image,
	// otherwise the transformation that was needed, e.g. "quiet-zone",
	// "inverted", "half-size".
	Strategy string
	// Attempts counts the decoding attempts made, including the successful one.
	Attempts int
}

// Decode finds a QR code in img and returns its raw payload: byte-mode
// segments exactly as stored (binary survives unchanged), numeric and
// alphanumeric segments as ASCII, segments in symbol order. A SMART Health
// Card ("shc:/" then digits) and an EU certificate ("HC1:" in alphanumeric
// mode) come back as their text; a DIVOC ZIP comes back byte for byte.
//
// When a plain attempt fails, Decode retries with transformations that
// rescue real photographs and issuer images (see [Scan]) until one works or
// the time budget runs out. The error wraps [ErrNoQRCode] when nothing was
// found.
func Decode(img image.Image, opts *Options) ([]byte, error) {
	res, err := Scan(img, opts)
	if err != nil {
		return nil, err
	}
	return res.Payload, nil
}

// Scan is [Decode] that also reports which attempt succeeded.
//
// The attempts, cheapest and most likely first: the image as it is; the
// detector's exhaustive search (TRY_HARDER); an added white quiet zone for
// codes cropped tight; pure-barcode sampling for synthetic images; an
// enlarged copy (bilinear) for small images, which also rescues noisy ones;
// a half-size box-filtered copy, which averages noise; inverted colours
// (tried first when the image's border is dark); the global-histogram
// binarizer; the full resolution when a large photo was first reduced;
// three times larger and a third of the size; a quarter turn (helps sheared
// codes); a blur against speckle; an eighth turn (codes near 45°, where the
// detector is weakest); inverted with a quiet zone and in pure mode; a
// quarter of the size. Large photos (longest side over 2000 pixels) are
// first reduced to about 1400 pixels, which keeps the plain attempt fast.
// Clean images decode on the first attempt.
//
// Scan is safe for concurrent use. It checks img against Options.MaxSide
// and Options.MaxPixels like [DecodeBytes] does.
func Scan(img image.Image, opts *Options) (*Result, error) {
	if img == nil {
		return nil, fmt.Errorf("%w: nil image", ErrNoQRCode)
	}
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, fmt.Errorf("%w: empty image", ErrNoQRCode)
	}
	if b.Dx() > opts.maxSide() || b.Dy() > opts.maxSide() || b.Dx()*b.Dy() > opts.maxPixels() {
		return nil, fmt.Errorf("%w: %dx%d pixels", ErrTooLarge, b.Dx(), b.Dy())
	}
	s := newScanner(toRaster(img))
	budget := opts.budget()
	start := time.Now()
	for _, a := range s.attempts() {
		if s.tried > 0 && budget < 0 {
			return nil, fmt.Errorf("%w (retries off)", ErrNoQRCode)
		}
		if s.tried > 0 && time.Since(start) > budget {
			return nil, fmt.Errorf("%w (retry budget of %v spent after %d attempts)", ErrNoQRCode, budget, s.tried)
		}
		src, ok := a.src()
		if !ok {
			continue
		}
		s.tried++
		// Why an attempt failed (no finder pattern, too many errors to
		// correct) is not kept: the next attempt looks at another image.
		if payload, err := decodeRaster(src, a); err == nil {
			return &Result{Payload: payload, Strategy: a.name, Attempts: s.tried}, nil
		}
	}
	return nil, fmt.Errorf("%w (%d attempts)", ErrNoQRCode, s.tried)
}

// attempt is one way of looking at the image.
type attempt struct {
	name      string
	src       func() (raster, bool) // false: not applicable to this image
	global    bool                  // GlobalHistogramBinarizer instead of HybridBinarizer
	tryHarder bool
	pure      bool
}

// scanner builds the variants of one image lazily and keeps them for the
// attempts that share them.
type scanner struct {
	full   raster
	shrink int // factor from full to base; 1 when the image is not large
	cache  map[string]raster
	tried  int
}

// Sizes steering the scale attempts, in pixels of the longest side.
const (
	largeSide   = 2000 // above this, the plain attempt runs on a reduced copy
	workingSide = 1400 // about the size of that copy
	smallSide   = 600  // below this, enlarged copies are tried
	minSide     = 60   // below this, a reduced copy is not worth trying
)

func newScanner(full raster) *scanner {
	s := &scanner{full: full, shrink: 1, cache: map[string]raster{}}
	if side := full.maxSide(); side > largeSide {
		s.shrink = (side + workingSide - 1) / workingSide
	}
	return s
}

func (s *scanner) variant(name string, build func() raster) raster {
	if r, ok := s.cache[name]; ok {
		return r
	}
	r := build()
	s.cache[name] = r
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
		return b.pad(max(16, b.maxSide()/8), 255)
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
			if b.maxSide()/k < minSide {
				return raster{}, false
			}
			return s.variant(fmt.Sprint("down", k), func() raster { return b.downscale(k) }), true
		}
	}
	larger := func(k int) func() (raster, bool) {
		return func() (raster, bool) {
			b := s.base()
			if b.maxSide()*k > 2*smallSide || b.maxSide() >= smallSide {
				return raster{}, false
			}
			return s.variant(fmt.Sprint("up", k), func() raster { return s.padded().upscale(k) }), true
		}
	}
	ladder := []attempt{
		{name: "plain", src: always(s.base)},
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
				return b.pad(max(16, b.maxSide()/8), 255)
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

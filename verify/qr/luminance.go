package qr

import (
	"image"
	"image/color"
	"math"
)

// raster is an 8-bit luminance image, row-major with no padding between
// rows: 0 is black, 255 white. Variants are always new rasters; a raster is
// never written once built.
type raster struct {
	pix  []byte
	w, h int
}

func (r raster) maxSide() int { return max(r.w, r.h) }

// toRaster converts img to luminance, compositing transparent pixels on
// white (a QR code drawn on a transparent background reads as black on
// white). Every type the PNG, JPEG and GIF decoders return is converted
// without going through color.Color for each pixel, which would allocate
// once a pixel: the luminance copy is then the only allocation, whatever
// the image's size.
func toRaster(img image.Image) raster {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := raster{pix: make([]byte, w*h), w: w, h: h}
	if w == 0 || h == 0 {
		return out
	}
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			i := m.PixOffset(b.Min.X, b.Min.Y+y)
			copy(out.pix[y*w:(y+1)*w], m.Pix[i:i+w])
		}
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			i := m.YOffset(b.Min.X, b.Min.Y+y)
			copy(out.pix[y*w:(y+1)*w], m.Y[i:i+w])
		}
	case *image.RGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			dst := out.pix[y*w : (y+1)*w]
			for x := range dst {
				p := row[4*x : 4*x+4 : 4*x+4]
				// Premultiplied: add the white showing through.
				dst[x] = byte((uint(p[0])+2*uint(p[1])+uint(p[2]))/4 + 255 - uint(p[3]))
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			dst := out.pix[y*w : (y+1)*w]
			for x := range dst {
				p := row[4*x : 4*x+4 : 4*x+4]
				lum := (uint(p[0]) + 2*uint(p[1]) + uint(p[2])) / 4
				a := uint(p[3])
				dst[x] = byte((lum*a + 255*(255-a)) / 255)
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			dst := out.pix[y*w : (y+1)*w]
			for x := range dst {
				dst[x] = row[2*x] // high byte
			}
		}
	case *image.RGBA64:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			dst := out.pix[y*w : (y+1)*w]
			for x := range dst {
				p := row[8*x : 8*x+8 : 8*x+8]
				r, g, bl, a := be16(p[0:]), be16(p[2:]), be16(p[4:]), be16(p[6:])
				dst[x] = byte(((r+2*g+bl)/4 + 0xffff - a) >> 8)
			}
		}
	case *image.NRGBA64:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			dst := out.pix[y*w : (y+1)*w]
			for x := range dst {
				p := row[8*x : 8*x+8 : 8*x+8]
				r, g, bl, a := be16(p[0:]), be16(p[2:]), be16(p[4:]), be16(p[6:])
				lum := (r + 2*g + bl) / 4
				dst[x] = byte((lum*a/0xffff + 0xffff - a) >> 8)
			}
		}
	case *image.CMYK:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			dst := out.pix[y*w : (y+1)*w]
			for x := range dst {
				p := row[4*x : 4*x+4 : 4*x+4]
				k := 255 - uint(p[3])
				r := (255 - uint(p[0])) * k / 255
				g := (255 - uint(p[1])) * k / 255
				bl := (255 - uint(p[2])) * k / 255
				dst[x] = byte((r + 2*g + bl) / 4)
			}
		}
	case *image.Paletted:
		var table [256]byte
		for i, c := range m.Palette {
			table[i] = lumaOf(c)
		}
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			dst := out.pix[y*w : (y+1)*w]
			for x := range dst {
				dst[x] = table[row[x]]
			}
		}
	default:
		i := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				out.pix[i] = lumaOf(img.At(x, y))
				i++
			}
		}
	}
	return out
}

func be16(b []byte) uint { return uint(b[0])<<8 | uint(b[1]) }

// lumaOf is the luminance of c composited on white, on the same
// green-weighted scale as the fast paths of toRaster.
func lumaOf(c color.Color) byte {
	r, g, b, a := c.RGBA() // premultiplied, 16 bits
	lum := (r + 2*g + b) / 4
	return byte((lum + 0xffff - a) >> 8)
}

// downscale averages k×k blocks (a box filter, which also smooths sensor
// noise). Partial blocks at the right and bottom edges are dropped.
func (r raster) downscale(k int) raster {
	w, h := r.w/k, r.h/k
	out := raster{pix: make([]byte, w*h), w: w, h: h}
	if w == 0 || h == 0 {
		return out
	}
	sums := make([]uint32, w)
	area := uint32(k * k)
	for y := 0; y < h; y++ {
		clear(sums)
		for dy := 0; dy < k; dy++ {
			row := r.pix[(y*k+dy)*r.w:]
			for x := 0; x < w; x++ {
				s := uint32(0)
				for _, v := range row[x*k : x*k+k] {
					s += uint32(v)
				}
				sums[x] += s
			}
		}
		dst := out.pix[y*w : (y+1)*w]
		for x := range dst {
			dst[x] = byte(sums[x] / area)
		}
	}
	return out
}

// upscale enlarges the raster k times with bilinear interpolation, so that
// a code of one or two pixels per module gets edges the binarizer can place
// between pixels.
func (r raster) upscale(k int) raster {
	w, h := r.w*k, r.h*k
	out := raster{pix: make([]byte, w*h), w: w, h: h}
	// Source coordinate of output pixel i along an axis: (i+0.5)/k - 0.5,
	// split into an integer cell and a weight in 1/(2k) steps.
	den := 2 * k
	for y := 0; y < h; y++ {
		ny := 2*y + 1 - k // numerator of the source y, over den
		y0 := floorDiv(ny, den)
		wy := ny - y0*den
		y1 := min(max(y0+1, 0), r.h-1)
		y0 = min(max(y0, 0), r.h-1)
		row0, row1 := r.pix[y0*r.w:(y0+1)*r.w], r.pix[y1*r.w:(y1+1)*r.w]
		dst := out.pix[y*w : (y+1)*w]
		for x := range dst {
			nx := 2*x + 1 - k
			x0 := floorDiv(nx, den)
			wx := nx - x0*den
			x1 := min(max(x0+1, 0), r.w-1)
			x0 = min(max(x0, 0), r.w-1)
			top := int(row0[x0])*(den-wx) + int(row0[x1])*wx
			bot := int(row1[x0])*(den-wx) + int(row1[x1])*wx
			dst[x] = byte((top*(den-wy) + bot*wy + den*den/2) / (den * den))
		}
	}
	return out
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// pad surrounds the raster with n pixels of value v on every side: a quiet
// zone for codes cropped tight by a camera app.
func (r raster) pad(n int, v byte) raster {
	w, h := r.w+2*n, r.h+2*n
	out := raster{pix: make([]byte, w*h), w: w, h: h}
	for i := range out.pix {
		out.pix[i] = v
	}
	for y := 0; y < r.h; y++ {
		copy(out.pix[(y+n)*w+n:], r.pix[y*r.w:(y+1)*r.w])
	}
	return out
}

// invert swaps dark and light (light modules on a dark background).
func (r raster) invert() raster {
	out := raster{pix: make([]byte, len(r.pix)), w: r.w, h: r.h}
	for i, v := range r.pix {
		out.pix[i] = 255 - v
	}
	return out
}

// blur applies a 3×3 box filter, which removes salt-and-pepper noise that
// breaks the finder pattern's run lengths.
func (r raster) blur() raster {
	out := raster{pix: make([]byte, len(r.pix)), w: r.w, h: r.h}
	if r.w < 3 || r.h < 3 {
		copy(out.pix, r.pix)
		return out
	}
	// Horizontal pass into tmp (sums of 3), vertical pass into out.
	tmp := make([]uint16, len(r.pix))
	for y := 0; y < r.h; y++ {
		row := r.pix[y*r.w : (y+1)*r.w]
		t := tmp[y*r.w : (y+1)*r.w]
		t[0] = 3 * uint16(row[0])
		for x := 1; x < r.w-1; x++ {
			t[x] = uint16(row[x-1]) + uint16(row[x]) + uint16(row[x+1])
		}
		t[r.w-1] = 3 * uint16(row[r.w-1])
	}
	for y := 0; y < r.h; y++ {
		up, down := max(y-1, 0), min(y+1, r.h-1)
		a, b, c := tmp[up*r.w:], tmp[y*r.w:], tmp[down*r.w:]
		dst := out.pix[y*r.w : (y+1)*r.w]
		for x := range dst {
			dst[x] = byte((uint32(a[x]) + uint32(b[x]) + uint32(c[x])) / 9)
		}
	}
	return out
}

// rotate90 turns the raster a quarter turn clockwise.
func (r raster) rotate90() raster {
	out := raster{pix: make([]byte, len(r.pix)), w: r.h, h: r.w}
	for y := 0; y < r.h; y++ {
		for x := 0; x < r.w; x++ {
			out.pix[x*out.w+(r.h-1-y)] = r.pix[y*r.w+x]
		}
	}
	return out
}

// rotate45 turns the raster an eighth of a turn with bilinear
// interpolation, on a white canvas large enough to hold it. The detector
// is weakest for codes near 45°; turned, they become upright.
func (r raster) rotate45() raster {
	const c = math.Sqrt2 / 2 // cos 45° = sin 45°
	side := rotate45Side(r.w, r.h)
	out := raster{pix: make([]byte, side*side), w: side, h: side}
	cx, cy := float64(r.w)/2, float64(r.h)/2
	half := float64(side) / 2
	for y := 0; y < side; y++ {
		dy := float64(y) + 0.5 - half
		for x := 0; x < side; x++ {
			dx := float64(x) + 0.5 - half
			// Source point, in pixel-centre coordinates.
			sx := cx + (dx+dy)*c - 0.5
			sy := cy + (dy-dx)*c - 0.5
			out.pix[y*side+x] = r.bilinear(sx, sy)
		}
	}
	return out
}

// rotate45Side is the side of the square canvas that holds a w×h raster
// turned 45°.
func rotate45Side(w, h int) int {
	return int(math.Ceil(float64(w+h) * math.Sqrt2 / 2))
}

// bilinear samples at (x, y), pixel centres at integers; white off the
// raster.
func (r raster) bilinear(x, y float64) byte {
	x0, y0 := math.Floor(x), math.Floor(y)
	tx, ty := x-x0, y-y0
	ix, iy := int(x0), int(y0)
	at := func(i, j int) float64 {
		if i < 0 || j < 0 || i >= r.w || j >= r.h {
			return 255
		}
		return float64(r.pix[j*r.w+i])
	}
	top := at(ix, iy)*(1-tx) + at(ix+1, iy)*tx
	bot := at(ix, iy+1)*(1-tx) + at(ix+1, iy+1)*tx
	return byte(top*(1-ty) + bot*ty + 0.5)
}

// darkFrame reports whether the outer frame of the raster (1 % of the
// side, at least one pixel) is mostly dark, as around a code shown light on
// dark.
func (r raster) darkFrame() bool {
	if r.w == 0 || r.h == 0 {
		return false
	}
	n := max(1, min(r.w, r.h)/100)
	sum, count := 0, 0
	for y := 0; y < r.h; y++ {
		row := r.pix[y*r.w : (y+1)*r.w]
		if y < n || y >= r.h-n {
			for _, v := range row {
				sum += int(v)
			}
			count += r.w
			continue
		}
		for x := 0; x < n && x < r.w; x++ {
			sum += int(row[x]) + int(row[r.w-1-x])
			count += 2
		}
	}
	return sum < 100*count
}

package qrtest

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// RGBA returns a copy of img as *image.RGBA with its origin at (0, 0).
func RGBA(img image.Image) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Src)
	return out
}

// Gray returns a copy of img as *image.Gray with its origin at (0, 0).
// Grey PNGs are a third the size of colour ones, which keeps committed
// fixtures small.
func Gray(img image.Image) *image.Gray {
	b := img.Bounds()
	out := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Src)
	return out
}

// Paletted returns img reduced to black and white as an *image.Paletted,
// ready for gif.Encode.
func Paletted(img image.Image) *image.Paletted {
	g := Gray(img)
	out := image.NewPaletted(g.Bounds(), color.Palette{color.Black, color.White})
	for i, v := range g.Pix {
		if v >= 128 {
			out.Pix[i] = 1
		}
	}
	return out
}

// Noise adds Gaussian noise of standard deviation sigma (in 0-255 levels)
// to every pixel, mostly as luminance with a little colour, like a phone
// camera's sensor noise in dim light.
func Noise(img image.Image, sigma float64, seed uint64) *image.RGBA {
	out := RGBA(img)
	rng := rand.New(rand.NewPCG(seed, 0x6e6f697365))
	for i := 0; i < len(out.Pix); i += 4 {
		l := rng.NormFloat64() * sigma
		for c := 0; c < 3; c++ {
			v := float64(out.Pix[i+c]) + l + rng.NormFloat64()*sigma/4
			out.Pix[i+c] = clamp(v)
		}
	}
	return out
}

// SaltAndPepper sets a fraction of the pixels (0 to 1) to pure black or
// white: dust, print defects, dead pixels.
func SaltAndPepper(img image.Image, fraction float64, seed uint64) *image.RGBA {
	out := RGBA(img)
	rng := rand.New(rand.NewPCG(seed, 0x73616c74))
	for i := 0; i < len(out.Pix); i += 4 {
		if rng.Float64() >= fraction {
			continue
		}
		v := byte(0)
		if rng.IntN(2) == 1 {
			v = 255
		}
		out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = v, v, v, 255
	}
	return out
}

// Rotate turns img by degrees (counter-clockwise) about its centre with
// bilinear interpolation. The canvas grows to hold the turned image;
// uncovered corners are filled with bg.
func Rotate(img image.Image, degrees float64, bg color.Color) *image.RGBA {
	src := RGBA(img)
	w, h := float64(src.Rect.Dx()), float64(src.Rect.Dy())
	rad := degrees * math.Pi / 180
	sin, cos := math.Sin(rad), math.Cos(rad)
	nw := int(math.Ceil(math.Abs(w*cos) + math.Abs(h*sin)))
	nh := int(math.Ceil(math.Abs(w*sin) + math.Abs(h*cos)))
	cx, cy := w/2, h/2
	ncx, ncy := float64(nw)/2, float64(nh)/2
	return mapPixels(src, nw, nh, bg, func(x, y float64) (float64, float64) {
		// Inverse rotation of the output point about the centres. Image y
		// grows downwards, so a counter-clockwise turn on screen uses -rad.
		dx, dy := x-ncx, y-ncy
		return cx + dx*cos - dy*sin, cy + dx*sin + dy*cos
	})
}

// Scale resizes img by factor (0.5 halves each side). Enlarging uses
// bilinear interpolation; reducing averages the covered source pixels, as a
// camera or a messaging app's resampler does.
func Scale(img image.Image, factor float64) *image.RGBA {
	src := RGBA(img)
	nw := max(1, int(math.Round(float64(src.Rect.Dx())*factor)))
	nh := max(1, int(math.Round(float64(src.Rect.Dy())*factor)))
	fx := float64(src.Rect.Dx()) / float64(nw)
	fy := float64(src.Rect.Dy()) / float64(nh)
	if factor >= 1 {
		return mapPixels(src, nw, nh, color.White, func(x, y float64) (float64, float64) {
			return x * fx, y * fy
		})
	}
	// Supersample n×n points per output pixel.
	n := int(math.Ceil(1 / factor))
	out := image.NewRGBA(image.Rect(0, 0, nw, nh))
	for y := 0; y < nh; y++ {
		for x := 0; x < nw; x++ {
			var acc [4]float64
			for j := 0; j < n; j++ {
				for i := 0; i < n; i++ {
					sx := (float64(x) + (float64(i)+0.5)/float64(n)) * fx
					sy := (float64(y) + (float64(j)+0.5)/float64(n)) * fy
					p := bilinear(src, sx, sy, color.RGBA{255, 255, 255, 255})
					for c := range acc {
						acc[c] += p[c]
					}
				}
			}
			o := out.PixOffset(x, y)
			for c := range acc {
				out.Pix[o+c] = clamp(acc[c] / float64(n*n))
			}
		}
	}
	return out
}

// Blur applies a box blur of the given radius in pixels (out of focus, or
// motion smear when small).
func Blur(img image.Image, radius int) *image.RGBA {
	src := RGBA(img)
	if radius <= 0 {
		return src
	}
	w, h := src.Rect.Dx(), src.Rect.Dy()
	tmp := image.NewRGBA(src.Rect)
	boxPass(src.Pix, tmp.Pix, w, h, radius, 4, src.Stride)
	out := image.NewRGBA(src.Rect)
	boxPass(tmp.Pix, out.Pix, h, w, radius, src.Stride, 4)
	return out
}

// boxPass averages along one axis: n lines of length l, step apart within a
// line and stride apart between lines, clamping at the ends.
func boxPass(in, out []byte, l, n, radius, step, stride int) {
	for line := 0; line < n; line++ {
		base := line * stride
		for i := 0; i < l; i++ {
			var acc [4]int
			for k := i - radius; k <= i+radius; k++ {
				p := base + min(max(k, 0), l-1)*step
				for c := range acc {
					acc[c] += int(in[p+c])
				}
			}
			p := base + i*step
			for c := range acc {
				out[p+c] = byte(acc[c] / (2*radius + 1))
			}
		}
	}
}

// JPEG encodes img as a JPEG at quality 1-100.
func JPEG(img image.Image, quality int) ([]byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Recompress passes img through JPEG at quality 1-100 and decodes it back,
// with the block artefacts and ringing a messaging app leaves.
func Recompress(img image.Image, quality int) (image.Image, error) {
	b, err := JPEG(img, quality)
	if err != nil {
		return nil, err
	}
	return jpeg.Decode(bytes.NewReader(b))
}

// Shear slants img: each row moves right by kx times its distance from the
// top, each column down by ky times its distance from the left (a page
// photographed a little from the side). The canvas grows; the rest is bg.
func Shear(img image.Image, kx, ky float64, bg color.Color) *image.RGBA {
	src := RGBA(img)
	w, h := float64(src.Rect.Dx()), float64(src.Rect.Dy())
	// Forward map: x' = x + kx*y + ox, y' = y + ky*x + oy.
	ox, oy := math.Max(0, -kx*h), math.Max(0, -ky*w)
	nw := int(math.Ceil(w + math.Abs(kx)*h))
	nh := int(math.Ceil(h + math.Abs(ky)*w))
	det := 1 - kx*ky
	return mapPixels(src, nw, nh, bg, func(x, y float64) (float64, float64) {
		u, v := x-ox, y-oy
		return (u - kx*v) / det, (v - ky*u) / det
	})
}

// Keystone narrows the top edge of img by amount (0 to 0.9) of its width
// with a true perspective projection, as when a phone is tilted back over a
// printed code. The rest of the canvas is bg.
func Keystone(img image.Image, amount float64, bg color.Color) *image.RGBA {
	w, h := float64(img.Bounds().Dx()), float64(img.Bounds().Dy())
	inset := amount * w / 2
	return Warp(img, [4][2]float64{{inset, 0}, {w - inset, 0}, {w, h}, {0, h}}, int(w), int(h), bg)
}

// Warp maps img onto the quadrilateral quad (top-left, top-right,
// bottom-right, bottom-left corners, in output pixels) of a w×h canvas with
// a perspective projection, as a camera sees a flat page at an angle. The
// rest of the canvas is bg.
func Warp(img image.Image, quad [4][2]float64, w, h int, bg color.Color) *image.RGBA {
	src := RGBA(img)
	sw, sh := float64(src.Rect.Dx()), float64(src.Rect.Dy())
	m := squareToQuad(quad)
	inv := m.inverse()
	return mapPixels(src, w, h, bg, func(x, y float64) (float64, float64) {
		u, v := inv.apply(x, y)
		return u * sw, v * sh
	})
}

// homography is a 3×3 projective transform, row-major, m[8] == 1.
type homography [9]float64

// squareToQuad maps the unit square (0,0) (1,0) (1,1) (0,1) onto q
// (Heckbert, "Fundamentals of Texture Mapping", 1989).
func squareToQuad(q [4][2]float64) homography {
	x0, y0, x1, y1 := q[0][0], q[0][1], q[1][0], q[1][1]
	x2, y2, x3, y3 := q[2][0], q[2][1], q[3][0], q[3][1]
	dx3, dy3 := x0-x1+x2-x3, y0-y1+y2-y3
	if dx3 == 0 && dy3 == 0 {
		return homography{x1 - x0, x2 - x1, x0, y1 - y0, y2 - y1, y0, 0, 0, 1}
	}
	dx1, dx2, dy1, dy2 := x1-x2, x3-x2, y1-y2, y3-y2
	det := dx1*dy2 - dx2*dy1
	g := (dx3*dy2 - dx2*dy3) / det
	hh := (dx1*dy3 - dx3*dy1) / det
	return homography{
		x1 - x0 + g*x1, x3 - x0 + hh*x3, x0,
		y1 - y0 + g*y1, y3 - y0 + hh*y3, y0,
		g, hh, 1,
	}
}

func (m homography) apply(x, y float64) (float64, float64) {
	d := m[6]*x + m[7]*y + m[8]
	return (m[0]*x + m[1]*y + m[2]) / d, (m[3]*x + m[4]*y + m[5]) / d
}

// inverse is the adjugate: a projective transform is defined up to scale.
func (m homography) inverse() homography {
	return homography{
		m[4]*m[8] - m[5]*m[7], m[2]*m[7] - m[1]*m[8], m[1]*m[5] - m[2]*m[4],
		m[5]*m[6] - m[3]*m[8], m[0]*m[8] - m[2]*m[6], m[2]*m[3] - m[0]*m[5],
		m[3]*m[7] - m[4]*m[6], m[1]*m[6] - m[0]*m[7], m[0]*m[4] - m[1]*m[3],
	}
}

// Shade multiplies brightness by a factor going linearly from top (top) to
// bottom (bottom) — uneven light, a shadow across the code.
func Shade(img image.Image, top, bottom float64) *image.RGBA {
	out := RGBA(img)
	h := out.Rect.Dy()
	for y := 0; y < h; y++ {
		f := top + (bottom-top)*float64(y)/float64(max(h-1, 1))
		row := out.Pix[y*out.Stride : y*out.Stride+4*out.Rect.Dx()]
		for i := 0; i < len(row); i += 4 {
			for c := 0; c < 3; c++ {
				row[i+c] = clamp(float64(row[i+c]) * f)
			}
		}
	}
	return out
}

// Invert swaps dark and light (light modules on a dark background, as some
// apps and dark-mode screens show codes).
func Invert(img image.Image) *image.RGBA {
	out := RGBA(img)
	for i := 0; i < len(out.Pix); i += 4 {
		out.Pix[i], out.Pix[i+1], out.Pix[i+2] = 255-out.Pix[i], 255-out.Pix[i+1], 255-out.Pix[i+2]
	}
	return out
}

// Crop cuts r out of img (r in img's coordinates, clipped to its bounds).
func Crop(img image.Image, r image.Rectangle) *image.RGBA {
	r = r.Intersect(img.Bounds())
	out := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(out, out.Bounds(), img, r.Min, draw.Src)
	return out
}

// Place draws img at (x, y) on a w×h cluttered background: a lit gradient,
// coloured shapes, lines and rows of dark dashes like printed text, as on a
// photographed certificate. With img nil, only the background is drawn.
func Place(img image.Image, w, h, x, y int, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 0x706c616365))
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	c0 := [3]float64{200 + rng.Float64()*50, 190 + rng.Float64()*50, 170 + rng.Float64()*60}
	c1 := [3]float64{120 + rng.Float64()*80, 120 + rng.Float64()*80, 110 + rng.Float64()*80}
	for py := 0; py < h; py++ {
		for px := 0; px < w; px++ {
			t := (float64(px)/float64(w) + float64(py)/float64(h)) / 2
			o := out.PixOffset(px, py)
			for c := 0; c < 3; c++ {
				out.Pix[o+c] = clamp(c0[c]*(1-t) + c1[c]*t)
			}
			out.Pix[o+3] = 255
		}
	}
	randColor := func(alpha uint8) color.Color {
		return color.NRGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), alpha}
	}
	unit := max(1, min(w, h)/40)
	for range 12 {
		r := image.Rect(rng.IntN(w), rng.IntN(h), 0, 0)
		r.Max = r.Min.Add(image.Pt(unit*(2+rng.IntN(20)), unit*(2+rng.IntN(12))))
		draw.Draw(out, r, image.NewUniform(randColor(uint8(80+rng.IntN(176)))), image.Point{}, draw.Over)
	}
	for range 8 { // thin lines: table rules, folds
		ink := image.NewUniform(randColor(255))
		if rng.IntN(2) == 0 {
			yy := rng.IntN(h)
			draw.Draw(out, image.Rect(0, yy, w, yy+max(1, unit/4)), ink, image.Point{}, draw.Over)
		} else {
			xx := rng.IntN(w)
			draw.Draw(out, image.Rect(xx, 0, xx+max(1, unit/4), h), ink, image.Point{}, draw.Over)
		}
	}
	ink := image.NewUniform(color.NRGBA{30, 30, 40, 255})
	for range 10 { // text-like lines of dashes
		tx, ty := rng.IntN(w), rng.IntN(h)
		for range 5 + rng.IntN(20) {
			dw := unit/2 + rng.IntN(unit+1)
			draw.Draw(out, image.Rect(tx, ty, tx+dw, ty+max(1, unit*2/3)), ink, image.Point{}, draw.Over)
			tx += dw + max(1, unit/4)
		}
	}
	if img != nil {
		b := img.Bounds()
		draw.Draw(out, image.Rect(x, y, x+b.Dx(), y+b.Dy()), img, b.Min, draw.Over)
	}
	return out
}

// mapPixels builds a w×h image whose pixel (x, y) samples src bilinearly at
// inverse(x+0.5, y+0.5), with bg outside src.
func mapPixels(src *image.RGBA, w, h int, bg color.Color, inverse func(x, y float64) (float64, float64)) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	bgc := color.RGBAModel.Convert(bg).(color.RGBA)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sx, sy := inverse(float64(x)+0.5, float64(y)+0.5)
			p := bilinear(src, sx, sy, bgc)
			o := out.PixOffset(x, y)
			for c := range p {
				out.Pix[o+c] = clamp(p[c])
			}
		}
	}
	return out
}

// bilinear samples src at the continuous point (x, y), where pixel (i, j)
// covers [i, i+1)×[j, j+1) and its value sits at its centre. Points off the
// image blend towards bg.
func bilinear(src *image.RGBA, x, y float64, bg color.RGBA) [4]float64 {
	x, y = x-0.5, y-0.5
	x0, y0 := math.Floor(x), math.Floor(y)
	tx, ty := x-x0, y-y0
	ix, iy := int(x0), int(y0)
	at := func(i, j int) [4]float64 {
		if !(image.Point{i, j}.In(src.Rect)) {
			return [4]float64{float64(bg.R), float64(bg.G), float64(bg.B), float64(bg.A)}
		}
		o := src.PixOffset(i, j)
		p := src.Pix[o : o+4 : o+4]
		return [4]float64{float64(p[0]), float64(p[1]), float64(p[2]), float64(p[3])}
	}
	a, b, c, d := at(ix, iy), at(ix+1, iy), at(ix, iy+1), at(ix+1, iy+1)
	var out [4]float64
	for k := range out {
		top := a[k]*(1-tx) + b[k]*tx
		bot := c[k]*(1-tx) + d[k]*tx
		out[k] = top*(1-ty) + bot*ty
	}
	return out
}

func clamp(v float64) byte {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return byte(v + 0.5)
}

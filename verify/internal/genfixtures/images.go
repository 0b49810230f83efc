package main

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/png"

	"github.com/crlverify/crlverify/verify/qr"
	"github.com/crlverify/crlverify/verify/qr/qrtest"
)

// render makes one image file of a QR code holding payload.
type render struct {
	suffix string // appended to the case name: "-photo.jpg"
	what   string
	make   func(payload []byte, seed uint64) ([]byte, error)
}

// qrLevel is the error correction level of every fixture QR code: "M", the
// default of the qrcode library DIVOC uses.
const qrLevel = "M"

var (
	clean = render{".png", "clean PNG, 4 pixels per module", func(p []byte, _ uint64) ([]byte, error) {
		img, err := encodeQR(p, 4)
		if err != nil {
			return nil, err
		}
		return encodePNG(img)
	}}
	// photo is a camera photo of a printed certificate: clutter around
	// the code, a slight turn and keystone, uneven light, sensor noise and
	// JPEG compression.
	photo = render{"-photo.jpg", "camera photo: clutter, keystone, 4° turn, shade, noise, JPEG q60", func(p []byte, seed uint64) ([]byte, error) {
		img, err := encodeQR(p, 5)
		if err != nil {
			return nil, err
		}
		turned := qrtest.Rotate(qrtest.Keystone(img, 0.05, color.White), -4, color.White)
		b := turned.Bounds()
		scene := qrtest.Place(turned, b.Dx()+560, b.Dy()+360, 300, 170, seed)
		scene = qrtest.Noise(qrtest.Shade(scene, 1.0, 0.75), 3, seed+1)
		return qrtest.JPEG(scene, 60)
	}}
	validExtras = []render{
		{".jpg", "clean JPEG q75, 2 pixels per module", func(p []byte, _ uint64) ([]byte, error) {
			img, err := encodeQR(p, 2)
			if err != nil {
				return nil, err
			}
			return qrtest.JPEG(img, 75)
		}},
		{".gif", "clean GIF", func(p []byte, _ uint64) ([]byte, error) {
			img, err := encodeQR(p, 3)
			if err != nil {
				return nil, err
			}
			var buf bytes.Buffer
			err = gif.Encode(&buf, qrtest.Paletted(img), nil)
			return buf.Bytes(), err
		}},
		{"-noisy.jpg", "heavy sensor noise (sigma 40), JPEG q85", func(p []byte, seed uint64) ([]byte, error) {
			img, err := encodeQR(p, 3)
			if err != nil {
				return nil, err
			}
			return qrtest.JPEG(qrtest.Gray(qrtest.Noise(img, 40, seed)), 85)
		}},
		{"-rotated-7.png", "turned 7°", func(p []byte, _ uint64) ([]byte, error) {
			img, err := encodeQR(p, 3)
			if err != nil {
				return nil, err
			}
			return encodePNG(qrtest.Gray(qrtest.Rotate(img, 7, color.White)))
		}},
		{"-rotated-30.png", "turned 30°", func(p []byte, _ uint64) ([]byte, error) {
			img, err := encodeQR(p, 3)
			if err != nil {
				return nil, err
			}
			return encodePNG(qrtest.Gray(qrtest.Rotate(img, 30, color.White)))
		}},
		{"-small-blurry.png", "out of focus, then reduced to 2 pixels per module", func(p []byte, _ uint64) ([]byte, error) {
			img, err := encodeQR(p, 4)
			if err != nil {
				return nil, err
			}
			return encodePNG(qrtest.Gray(qrtest.Scale(qrtest.Blur(img, 1), 0.5)))
		}},
		photo,
	}
)

// rendersFor returns the images made of a case's QR code.
func rendersFor(c *certCase) []render {
	rs := []render{clean}
	switch {
	case c.name == "valid":
		rs = append(rs, validExtras...)
	case c.photo:
		rs = append(rs, photo)
	}
	return rs
}

func encodeQR(payload []byte, moduleSize int) (*image.Gray, error) {
	return qr.Encode(payload, &qr.EncodeOptions{Level: qrLevel, ModuleSize: moduleSize})
}

func encodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

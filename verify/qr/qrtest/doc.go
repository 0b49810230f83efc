// Package qrtest degrades QR code images the way cameras, printers and
// messaging apps do, for test fixtures: noise, rotation by any angle,
// scaling, blur, JPEG recompression, shear, keystone and perspective warp
// (a page seen at an angle), uneven lighting, inversion, cropping, and
// placement on a cluttered background.
//
// Every helper is deterministic: randomness comes from an explicit seed, so
// a fixture generator produces the same files on every run. Images come
// back as *image.RGBA ([Gray] and [Paletted] convert, for small PNG and
// GIF files); inputs can be any image.Image, typically one from qr.Encode.
//
//	img, _ := qr.Encode(payload, nil)
//	photo := qrtest.Noise(qrtest.Rotate(img, 7, color.White), 12, 1)
//	jpg, _ := qrtest.JPEG(photo, 80)
package qrtest

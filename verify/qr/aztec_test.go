package qr_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"testing"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/aztec"

	"github.com/crlverify/crlverify/verify/qr"
	"github.com/crlverify/crlverify/verify/qr/qrtest"
)

// aztecImage renders text as an Aztec code, scale pixels a module, with a
// white margin of margin pixels.
func aztecImage(t *testing.T, text string, scale, margin int) *image.Gray {
	t.Helper()
	code, err := aztec.Encode([]byte(text), 23, 0)
	if err != nil {
		t.Fatal(err)
	}
	side := code.Bounds().Dx() * scale
	scaled, err := barcode.Scale(code, side, side)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, side+2*margin, side+2*margin))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(margin, margin, margin+side, margin+side), scaled, scaled.Bounds().Min, draw.Src)
	return img
}

func TestDecodeAztec(t *testing.T) {
	const text = "HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH-R6IOO6+IUKRG*I.I5BROCWAAT4V22F/8X*G3M9JUPY0BX/KR96R/S09T./0LWTKD33236J3TA3M*4VV2 73-E3GG396B-43O058YIB73A*G3W19UEBY5:PI0EGSP4*2DN43U*0CEBQ/GXQFY73CIBC:G 7376BXBJBAJ UNFMJCRN0H3PQN*E33H3OA70M3FMJIJN523.K5QZ4A+2XEN QT QTHC31M3+E32R44$28A9H0D3ZCL4JMYAZ+S-A5$XKX6T2YC 35H/ITX8GL2-LH/CJTK96L6SR9MU9RFGJA6Q3QR$P2OIC0JVLA8J3ET3:H3A+2+33U SAAUOT3TPTO4UBZIC0JKQTL*QDKBO.AI9BVYTOCFOPS4IJCOT0$89NT2V457U8+9W2KQ-7LF9-DF07U$B97JJ1D7WKP/HLIJLRKF1MFHJP7NVDEBU1J*Z222E.GJF67Z JA6B.38O4BH*HB0EGLE2%V -3O9O-RW0JBU2O"
	for _, tc := range []struct {
		name          string
		scale, margin int
		invert        bool
	}{
		{"clean", 3, 12, false},
		{"no quiet zone", 3, 0, false},
		{"inverted", 3, 12, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := aztecImage(t, text, tc.scale, tc.margin)
			if tc.invert {
				for i := range img.Pix {
					img.Pix[i] = 0xff - img.Pix[i]
				}
			}
			res, err := qr.ScanAztec(img, nil)
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Payload) != text {
				t.Errorf("payload %.40q…", res.Payload)
			}
			t.Logf("%s: attempt %d (%s)", tc.name, res.Attempts, res.Strategy)
		})
	}
	// What a phone or a messaging app does to an image; turned or blurred
	// codes are beyond the Aztec detector (see DecodeAztec).
	clean := aztecImage(t, text, 4, 16)
	recompressed, err := qrtest.Recompress(clean, 40)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		img  image.Image
	}{
		{"noise sigma 40", qrtest.Noise(clean, 40, 1)},
		{"JPEG quality 40", recompressed},
		{"half size", qrtest.Scale(clean, 0.5)},
		{"three times the size", qrtest.Scale(clean, 3)},
		{"shaded", qrtest.Shade(clean, 0.6, 1)},
		{"quarter turn", qrtest.Rotate(clean, 90, color.White)},
	} {
		if payload, err := qr.DecodeAztec(tc.img, nil); err != nil || string(payload) != text {
			t.Errorf("%s: %.20q, %v", tc.name, payload, err)
		}
	}

	var buf bytes.Buffer
	if err := png.Encode(&buf, aztecImage(t, text, 2, 8)); err != nil {
		t.Fatal(err)
	}
	if payload, err := qr.DecodeAztecBytes(buf.Bytes(), nil); err != nil || string(payload) != text {
		t.Errorf("from PNG bytes: %.20q, %v", payload, err)
	}
	if _, err := qr.DecodeAztecBytes([]byte("not an image"), nil); !errors.Is(err, qr.ErrUnsupportedImage) {
		t.Errorf("not an image: %v", err)
	}

	blank := image.NewGray(image.Rect(0, 0, 120, 120))
	if _, err := qr.DecodeAztec(blank, nil); !errors.Is(err, qr.ErrNoAztecCode) {
		t.Errorf("blank: %v", err)
	}
	if _, err := qr.DecodeAztec(nil, nil); !errors.Is(err, qr.ErrNoAztecCode) {
		t.Errorf("nil: %v", err)
	}
	if _, err := qr.DecodeAztec(blank, &qr.Options{MaxSide: 100}); !errors.Is(err, qr.ErrTooLarge) {
		t.Errorf("over the bound: %v", err)
	}
	// A QR code is not an Aztec code.
	qrImg, err := qr.Encode([]byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := qr.DecodeAztec(qrImg, nil); !errors.Is(err, qr.ErrNoAztecCode) {
		t.Errorf("QR code read as Aztec: %v", err)
	}
}

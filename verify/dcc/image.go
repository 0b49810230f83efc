package dcc

import (
	"image"

	"github.com/crlverify/crlverify/verify/qr"
)

// Symbology names the kind of 2D code a payload was read from.
type Symbology string

const (
	SymbologyQR    Symbology = "qr"
	SymbologyAztec Symbology = "aztec"
)

// ScanImage reads the 2D code of a certificate from an image: a QR code
// ([qr.Scan], with its retries), or, when there is none, an Aztec code
// (Ireland issues its certificates as Aztec codes; see [qr.DecodeAztec]).
// opts bounds and tunes both (nil: defaults), with one memory estimate
// and one reservation from its Pool for the two ([qr.Options.Aztec]). When
// neither is found the error wraps both [qr.ErrNoQRCode] and
// [qr.ErrNoAztecCode]; an image over the bounds fails with [qr.ErrTooLarge]
// at once. An Aztec code is read only after the QR reader has made all its
// attempts: tens of milliseconds for a clean image, against one or two for
// a QR code.
func ScanImage(img image.Image, opts *qr.Options) ([]byte, Symbology, error) {
	var o qr.Options
	if opts != nil {
		o = *opts
	}
	o.Aztec = true
	res, err := qr.Scan(img, &o)
	if err != nil {
		return nil, "", err
	}
	if res.Symbology == qr.SymbologyAztec {
		return res.Payload, SymbologyAztec, nil
	}
	return res.Payload, SymbologyQR, nil
}

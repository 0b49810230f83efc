package dcc

import (
	"errors"
	"fmt"
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
// ([qr.DecodeAztec]; Ireland issues its certificates as Aztec codes). opts
// bounds and tunes both (nil: defaults). When neither is found the error
// wraps both [qr.ErrNoQRCode] and [qr.ErrNoAztecCode]; an image over the
// bounds fails with [qr.ErrTooLarge] at once. An Aztec code is read only
// after the QR reader has made all its attempts: tens of milliseconds for a
// clean image, against one or two for a QR code.
func ScanImage(img image.Image, opts *qr.Options) ([]byte, Symbology, error) {
	res, err := qr.Scan(img, opts)
	if err == nil {
		return res.Payload, SymbologyQR, nil
	}
	if !errors.Is(err, qr.ErrNoQRCode) {
		return nil, "", err
	}
	payload, aerr := qr.DecodeAztec(img, opts)
	if aerr != nil {
		return nil, "", fmt.Errorf("%w; %w", err, aerr)
	}
	return payload, SymbologyAztec, nil
}

package qr

import (
	"errors"
	"fmt"
	"image"
	"strings"
	"unicode/utf8"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/encoder"
)

// NoQuietZone, as [EncodeOptions.QuietZone], renders the symbol without a
// white border.
const NoQuietZone = -1

// EncodeOptions tunes [Encode]. A nil *EncodeOptions means defaults; a zero
// field means the default for that field.
type EncodeOptions struct {
	// Level is the error correction level: "L", "M", "Q" or "H"
	// (7, 15, 25, 30 % of codewords recoverable). Empty means "M".
	Level string
	// ModuleSize is the side of one module in pixels. Zero means 4.
	ModuleSize int
	// QuietZone is the white border in modules. Zero means the standard 4;
	// NoQuietZone means none.
	QuietZone int
	// Version forces a symbol version, 1 to 40. Zero means the smallest
	// that holds the payload.
	Version int
}

// Encode renders payload as a QR code, black on white, so that [Decode]
// returns exactly payload. It is meant for test fixtures and samples.
//
// Binary data goes in byte mode unchanged. A payload that is valid UTF-8 is
// stored as is, with no character set designator, as issuers' QR libraries
// do (DIVOC's UTF-8-expanded ZIP, JSON). Any other payload is stored under
// an ISO-8859-1 ECI designator, the one character set that maps every byte
// 0-255 to itself, which is how the encoder can be made to write arbitrary
// bytes. A payload made only of digits, or only of the QR alphanumeric set
// (digits, upper case, space and $%*+-./:), is stored in numeric or
// alphanumeric mode like any QR writer would; decoding gives the same bytes.
func Encode(payload []byte, opts *EncodeOptions) (*image.Gray, error) {
	if len(payload) == 0 {
		return nil, errors.New("qr: empty payload")
	}
	var o EncodeOptions
	if opts != nil {
		o = *opts
	}
	if o.Level == "" {
		o.Level = "M"
	}
	if o.ModuleSize == 0 {
		o.ModuleSize = 4
	}
	switch {
	case o.QuietZone == 0:
		o.QuietZone = 4
	case o.QuietZone == NoQuietZone:
		o.QuietZone = 0
	case o.QuietZone < 0:
		return nil, fmt.Errorf("qr: quiet zone %d", o.QuietZone)
	}
	if o.ModuleSize < 0 || o.ModuleSize > 100 {
		return nil, fmt.Errorf("qr: module size %d out of 1..100", o.ModuleSize)
	}
	ecLevel, err := decoder.ErrorCorrectionLevel_ValueOf(strings.ToUpper(o.Level))
	if err != nil {
		return nil, fmt.Errorf("qr: error correction level %q: want L, M, Q or H", o.Level)
	}
	hints := map[gozxing.EncodeHintType]any{}
	if o.Version != 0 {
		if o.Version < 1 || o.Version > 40 {
			return nil, fmt.Errorf("qr: version %d out of 1..40", o.Version)
		}
		hints[gozxing.EncodeHintType_QR_VERSION] = o.Version
	}
	content := string(payload)
	if !utf8.Valid(payload) {
		// The encoder takes a string and converts it to the hinted character
		// set; with ISO-8859-1 each code point below 256 becomes one byte.
		runes := make([]rune, len(payload))
		for i, b := range payload {
			runes[i] = rune(b)
		}
		content = string(runes)
		hints[gozxing.EncodeHintType_CHARACTER_SET] = "ISO-8859-1"
	}
	code, err := encodeSafely(content, ecLevel, hints)
	if err != nil {
		return nil, fmt.Errorf("qr: encoding %d bytes: %v", len(payload), err)
	}
	m := code.GetMatrix()
	n, q, ms := m.GetWidth(), o.QuietZone, o.ModuleSize
	side := (n + 2*q) * ms
	img := image.NewGray(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if m.Get(x, y) != 1 {
				continue
			}
			for dy := 0; dy < ms; dy++ {
				row := img.Pix[((q+y)*ms+dy)*img.Stride:]
				clear(row[(q+x)*ms : (q+x+1)*ms])
			}
		}
	}
	return img, nil
}

func encodeSafely(content string, ecLevel decoder.ErrorCorrectionLevel, hints map[gozxing.EncodeHintType]any) (code *encoder.QRCode, err error) {
	defer func() {
		if p := recover(); p != nil {
			code, err = nil, fmt.Errorf("encoder panic: %v", p)
		}
	}()
	code, werr := encoder.Encoder_encode(content, ecLevel, hints)
	if werr != nil {
		return nil, werr
	}
	return code, nil
}

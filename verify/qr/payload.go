package qr

import (
	"fmt"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/common"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// payloadOf returns the bytes a QR symbol carries, segment after segment:
// byte-mode segments exactly as stored (no character set guessing, ECI
// designators do not change them), numeric and alphanumeric segments as
// their ASCII characters, Kanji and Hanzi segments as UTF-8 text.
//
// The decoder's text result cannot be used for this: it decodes byte
// segments with a guessed character set, which mangles binary data. Its
// BYTE_SEGMENTS metadata alone is not enough either: a symbol that mixes
// modes (a SMART Health Card is "shc:/" in byte mode followed by a numeric
// segment) would lose its other segments. So the corrected data codewords
// are read again here, keeping every segment in order.
func payloadOf(res *gozxing.Result) ([]byte, error) {
	ecName, _ := res.GetResultMetadata()[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL].(string)
	return payloadFrom(res.GetRawBytes(), ecName)
}

func payloadFrom(codewords []byte, ecName string) ([]byte, error) {
	ecLevel, err := decoder.ErrorCorrectionLevel_ValueOf(ecName)
	if err != nil {
		return nil, fmt.Errorf("qr: error correction level %q: %v", ecName, err)
	}
	version := versionForDataCodewords(len(codewords), ecLevel)
	if version == nil {
		return nil, fmt.Errorf("qr: no QR version has %d data codewords at level %v", len(codewords), ecLevel)
	}
	return readSegments(codewords, version)
}

// versionForDataCodewords finds the symbol version from the number of data
// codewords, which grows strictly with the version at a given error
// correction level.
func versionForDataCodewords(n int, ecLevel decoder.ErrorCorrectionLevel) *decoder.Version {
	for v := 1; v <= 40; v++ {
		version, err := decoder.Version_GetVersionForNumber(v)
		if err != nil {
			return nil
		}
		data := version.GetTotalCodewords() - version.GetECBlocksForLevel(ecLevel).GetTotalECCodewords()
		if data == n {
			return version
		}
		if data > n {
			return nil
		}
	}
	return nil
}

// readSegments walks the bit stream of the data codewords (ISO/IEC 18004
// section 7.4) and concatenates the segments' contents.
func readSegments(codewords []byte, version *decoder.Version) ([]byte, error) {
	bits := common.NewBitSource(codewords)
	out := make([]byte, 0, len(codewords))
	fnc1 := false
	for bits.Available() >= 4 {
		modeBits, _ := bits.ReadBits(4)
		mode, err := decoder.ModeForBits(modeBits)
		if err != nil {
			return nil, fmt.Errorf("qr: segment mode %#x: %v", modeBits, err)
		}
		switch mode {
		case decoder.Mode_TERMINATOR:
			return out, nil
		case decoder.Mode_FNC1_FIRST_POSITION, decoder.Mode_FNC1_SECOND_POSITION:
			fnc1 = true
			continue
		case decoder.Mode_STRUCTURED_APPEND:
			// Sequence number and parity: one symbol is read at a time.
			if _, err := bits.ReadBits(16); err != nil {
				return nil, fmt.Errorf("qr: structured append header: %v", err)
			}
			continue
		case decoder.Mode_ECI:
			// A character set designator: it tells how to show byte
			// segments as text, which is not done here.
			if _, err := decoder.DecodedBitStreamParser_parseECIValue(bits); err != nil {
				return nil, fmt.Errorf("qr: ECI designator: %v", err)
			}
			continue
		case decoder.Mode_HANZI:
			subset, err := bits.ReadBits(4)
			if err != nil {
				return nil, fmt.Errorf("qr: Hanzi subset: %v", err)
			}
			count, err := bits.ReadBits(mode.GetCharacterCountBits(version))
			if err != nil {
				return nil, fmt.Errorf("qr: Hanzi count: %v", err)
			}
			if subset == decoder.GB2312_SUBSET {
				if out, err = decoder.DecodedBitStreamParser_decodeHanziSegment(bits, out, count); err != nil {
					return nil, fmt.Errorf("qr: Hanzi segment: %v", err)
				}
			}
			continue
		}
		count, err := bits.ReadBits(mode.GetCharacterCountBits(version))
		if err != nil {
			return nil, fmt.Errorf("qr: %v segment count: %v", mode, err)
		}
		switch mode {
		case decoder.Mode_NUMERIC:
			out, err = decoder.DecodedBitStreamParser_decodeNumericSegment(bits, out, count)
		case decoder.Mode_ALPHANUMERIC:
			out, err = decoder.DecodedBitStreamParser_decodeAlphanumericSegment(bits, out, count, fnc1)
		case decoder.Mode_BYTE:
			if 8*count > bits.Available() {
				return nil, fmt.Errorf("qr: byte segment of %d bytes overruns the symbol", count)
			}
			for range count {
				b, _ := bits.ReadBits(8)
				out = append(out, byte(b))
			}
		case decoder.Mode_KANJI:
			out, err = decoder.DecodedBitStreamParser_decodeKanjiSegment(bits, out, count)
		default:
			err = fmt.Errorf("unknown mode")
		}
		if err != nil {
			return nil, fmt.Errorf("qr: %v segment: %v", mode, err)
		}
	}
	return out, nil
}

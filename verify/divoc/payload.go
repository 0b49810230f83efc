package divoc

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// MaxPayloadSize bounds a payload given to [DecodePayload]. A QR code holds
// under 3 KiB; a UTF-8-expanded ZIP can be twice its ZIP.
const MaxPayloadSize = 64 << 10

// entryName is the one entry of a DIVOC payload ZIP.
const entryName = "certificate.json"

// Form says how a payload carried its credential.
type Form int

// Payload forms, in the order [DecodePayload] tries them.
const (
	// FormZIP: a ZIP holding certificate.json.
	FormZIP Form = iota + 1
	// FormUTF8ZIP: the same ZIP written as a string of code points, one
	// per byte, and encoded as UTF-8 (DIVOC 2.x's Node service does this),
	// so each byte >= 0x80 became two.
	FormUTF8ZIP
	// FormJSON: the credential JSON itself.
	FormJSON
)

// String returns "raw-zip", "utf8-zip" or "json".
func (f Form) String() string {
	switch f {
	case FormZIP:
		return "raw-zip"
	case FormUTF8ZIP:
		return "utf8-zip"
	case FormJSON:
		return "json"
	}
	return "unknown"
}

var zipMagic = []byte("PK\x03\x04")

// DecodePayload returns the credential JSON a payload (the bytes of a QR
// code, or of a file) carries, and the form it was in. It tries a ZIP, then a
// UTF-8-expanded ZIP, then bare JSON. The ZIP must hold exactly one entry,
// certificate.json, inflating to at most [MaxCredentialSize]. Errors wrap
// [ErrTooLarge] or [ErrMalformed] (with [ErrNotDIVOC] when the payload is
// neither a ZIP nor JSON).
func DecodePayload(b []byte) ([]byte, Form, error) {
	if len(b) > MaxPayloadSize {
		return nil, 0, fmt.Errorf("%w: payload is %d bytes, the limit is %d", ErrTooLarge, len(b), MaxPayloadSize)
	}
	if bytes.HasPrefix(b, zipMagic) {
		j, err := unzip(b)
		if err == nil {
			return j, FormZIP, nil
		}
		if errors.Is(err, ErrTooLarge) {
			return nil, 0, err
		}
		if raw, ok := collapseUTF8(b); ok {
			j, err2 := unzip(raw)
			if err2 == nil {
				return j, FormUTF8ZIP, nil
			}
			if !bytes.Equal(raw, b) {
				err = fmt.Errorf("as UTF-8-expanded ZIP: %w", err2)
			}
		}
		return nil, 0, err
	}
	j := bytes.TrimLeft(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(j) > 0 && j[0] == '{' {
		return j, FormJSON, nil
	}
	return nil, 0, fmt.Errorf("%w: %w", ErrMalformed, ErrNotDIVOC)
}

// ParsePayload decodes a payload and parses its credential.
func ParsePayload(b []byte) (*Credential, Form, error) {
	j, form, err := DecodePayload(b)
	if err != nil {
		return nil, 0, err
	}
	c, err := Parse(j)
	if err != nil {
		return nil, form, err
	}
	return c, form, nil
}

// collapseUTF8 undoes the UTF-8 expansion: it decodes b as UTF-8 and maps
// each code point, which must be below 256, back to one byte.
func collapseUTF8(b []byte) ([]byte, bool) {
	if !utf8.Valid(b) {
		return nil, false
	}
	out := make([]byte, 0, len(b))
	for _, r := range string(b) {
		if r > 0xff {
			return nil, false
		}
		out = append(out, byte(r))
	}
	return out, true
}

// unzip returns the single certificate.json in z, bounded.
func unzip(z []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		return nil, fmt.Errorf("%w: ZIP: %v", ErrMalformed, err)
	}
	if len(zr.File) != 1 {
		return nil, fmt.Errorf("%w: ZIP has %d entries, want only %s", ErrMalformed, len(zr.File), entryName)
	}
	f := zr.File[0]
	if f.Name != entryName {
		return nil, fmt.Errorf("%w: ZIP entry is %q, want %s", ErrMalformed, f.Name, entryName)
	}
	if f.UncompressedSize64 > MaxCredentialSize {
		return nil, fmt.Errorf("%w: %s inflates to %d bytes, the limit is %d", ErrTooLarge, entryName, f.UncompressedSize64, MaxCredentialSize)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: ZIP entry: %v", ErrMalformed, err)
	}
	defer rc.Close()
	// The declared size is not trusted: read at most one byte past the limit.
	out, err := io.ReadAll(io.LimitReader(rc, MaxCredentialSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: ZIP entry: %v", ErrMalformed, err)
	}
	if len(out) > MaxCredentialSize {
		return nil, fmt.Errorf("%w: %s inflates past %d bytes", ErrTooLarge, entryName, MaxCredentialSize)
	}
	return out, nil
}

package shc

import (
	"bytes"
	"fmt"
)

// Bounds on .smart-health-card files.
const (
	// MaxFileSize is the most bytes a .smart-health-card file may have.
	MaxFileSize = 4 << 20
	// MaxFileCards is the most cards one file may hold.
	MaxFileCards = 100
	// MaxFileInflatedSize is the most bytes the payloads of a file's cards
	// may inflate to together ([ReadFile]). Each card may inflate to
	// MaxInflatedSize alone; without a bound shared by the file, 100 cards
	// of 2 kB that each inflate to 1 MiB would make a 200 kB file cost
	// 100 MiB and seconds of parsing before any signature is checked.
	MaxFileInflatedSize = 4 << 20
)

// Form is how a card reached the verifier.
type Form int

// The forms [Sniff] tells apart.
const (
	FormUnknown Form = iota
	// FormNumeric: one QR code's payload, "shc:/" and digits.
	FormNumeric
	// FormChunk: one QR code of a card split over several, "shc:/i/n/"
	// and digits (deprecated by the specification, still read).
	FormChunk
	// FormJWS: the compact JWS itself, as text.
	FormJWS
	// FormFile: a .smart-health-card file, JSON with a
	// verifiableCredential array of compact JWS.
	FormFile
)

func (f Form) String() string {
	switch f {
	case FormNumeric:
		return "numeric"
	case FormChunk:
		return "numeric-chunk"
	case FormJWS:
		return "jws"
	case FormFile:
		return "file"
	}
	return "unknown"
}

// Sniff tells which form b has, by its first bytes, without parsing it:
// "shc:/" (then "shc:/i/n/" for a chunk), "eyJ" (the base64url of a JSON
// object's `{"`), or a JSON object naming "verifiableCredential". Anything
// else is FormUnknown: probably another certificate format. Leading
// whitespace is skipped only before a JSON object.
func Sniff(b []byte) Form {
	if HasPrefix(b) {
		rest := b[len(Prefix):]
		i := digitsFrom(rest, 0)
		if i > 0 && i < len(rest) && rest[i] == '/' {
			return FormChunk
		}
		return FormNumeric
	}
	if bytes.HasPrefix(b, []byte("eyJ")) {
		return FormJWS
	}
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) > 0 && t[0] == '{' && bytes.Contains(t[:min(len(t), 4096)], []byte(`"verifiableCredential"`)) {
		return FormFile
	}
	return FormUnknown
}

// TrimNewline removes one trailing line end ("\n" or "\r\n") from b, as a
// text file or a terminal adds to a typed payload. Nothing else is
// trimmed: a QR code's payload is used as it is.
func TrimNewline(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// ParsePayload parses a card from one QR code's payload ("shc:/" and
// digits; a chunk of several fails with [ErrIncomplete], see [Joiner]) or
// from its compact JWS as text, and reports which form it had. A
// .smart-health-card file may hold several cards: read it with
// [ParseFile].
func ParsePayload(b []byte) (*Card, Form, error) {
	switch f := Sniff(b); f {
	case FormNumeric, FormChunk:
		jws, err := DecodeNumeric(b)
		if err != nil {
			return nil, f, err
		}
		c, err := Parse(jws)
		return c, f, err
	case FormJWS:
		c, err := Parse(string(b))
		return c, f, err
	case FormFile:
		return nil, f, malformed("a .smart-health-card file, which may hold several cards (read it with ParseFile)")
	}
	return nil, FormUnknown, malformed("not a SMART Health Card (no %s prefix, not a JWS)", Prefix)
}

// ParseFile reads a .smart-health-card file (at most [MaxFileSize] bytes):
// a JSON object whose "verifiableCredential" is an array of 1 to
// [MaxFileCards] compact JWS strings, returned in order for [Parse]. Other
// members are ignored. [ReadFile] parses the cards too, within one bound
// for the whole file.
func ParseFile(b []byte) ([]string, error) {
	if len(b) > MaxFileSize {
		return nil, tooLarge(".smart-health-card file of %d bytes, more than %d", len(b), MaxFileSize)
	}
	top, err := decodeObject(b)
	if err != nil {
		return nil, malformed(".smart-health-card file: %v", err)
	}
	raw, ok := top["verifiableCredential"]
	if !ok {
		return nil, malformed(".smart-health-card file: no \"verifiableCredential\"")
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, malformed(".smart-health-card file: \"verifiableCredential\" is not an array")
	}
	if len(list) == 0 {
		return nil, malformed(".smart-health-card file: no card in \"verifiableCredential\"")
	}
	if len(list) > MaxFileCards {
		return nil, tooLarge(".smart-health-card file of %d cards, more than %d", len(list), MaxFileCards)
	}
	out := make([]string, len(list))
	for i, v := range list {
		s, ok := v.(string)
		if !ok {
			return nil, malformed(".smart-health-card file: verifiableCredential[%d] is not a string", i)
		}
		if len(s) > MaxJWSSize {
			return nil, tooLarge(".smart-health-card file: verifiableCredential[%d] of %d characters, more than %d", i, len(s), MaxJWSSize)
		}
		out[i] = s
	}
	return out, nil
}

// FileCard is one card of a .smart-health-card file: parsed, or why it
// could not be.
type FileCard struct {
	Card *Card
	Err  error
}

// ReadFile reads a .smart-health-card file ([ParseFile]) and parses each
// of its cards ([Parse]), in order. The cards share one bound on what
// their payloads inflate to: together at most [MaxFileInflatedSize] bytes,
// each at most [MaxInflatedSize]. What a card inflates counts whether it
// turns out to be a card or not (the work is done either way), so a card
// whose payload would take the file past the bound fails with
// [ErrTooLarge] (its Err), and so do the cards after it. The error is not
// nil only when the file itself cannot be read.
func ReadFile(b []byte) ([]FileCard, error) {
	list, err := ParseFile(b)
	if err != nil {
		return nil, err
	}
	out := make([]FileCard, len(list))
	left := MaxFileInflatedSize
	for i, jws := range list {
		limit := min(left, MaxInflatedSize)
		why := ""
		if limit < MaxInflatedSize {
			why = fmt.Sprintf("the cards of a .smart-health-card file inflate to at most %d bytes together, and the cards before it took %d", MaxFileInflatedSize, MaxFileInflatedSize-left)
		}
		c, inflated, err := parse(jws, limit, why)
		// What a card inflated counts whether it was read or not: a
		// payload that is not a card costs as much to find out.
		left -= min(inflated, left)
		out[i] = FileCard{Card: c, Err: err}
	}
	return out, nil
}

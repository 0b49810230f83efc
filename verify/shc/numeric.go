package shc

import (
	"fmt"
	"strconv"
	"strings"
)

// Prefix starts every SMART Health Card QR payload. It is matched without
// regard to case (URI schemes are case-insensitive).
const Prefix = "shc:/"

// Bounds on numeric payloads.
const (
	// MaxChunks is the most QR codes one card may be split over
	// (the deprecated chunked form "shc:/i/n/…"; the specification's own
	// largest example uses 3).
	MaxChunks = 16

	// maxChunkDigits is the most decimal digits a chunk index or count
	// may have (MaxChunks has 2).
	maxChunkDigits = 2

	// maxNumericPayload bounds one numeric payload before it is scanned:
	// the prefix, a chunk header and two digits per JWS character.
	maxNumericPayload = len(Prefix) + 2*maxChunkDigits + 2 + 2*MaxJWSSize
)

// Chunk is what one numeric QR code holds: the whole compact JWS of a card
// (Index 1, Total 1) or one part of it in the deprecated chunked form
// "shc:/Index/Total/…".
type Chunk struct {
	Index, Total int
	// JWS holds this chunk's characters of the compact JWS.
	JWS string
}

// HasPrefix reports whether b starts with "shc:/" (in any case).
func HasPrefix(b []byte) bool {
	return len(b) >= len(Prefix) && strings.EqualFold(string(b[:len(Prefix)]), Prefix)
}

// DecodeNumeric decodes a numeric QR payload holding a whole card,
// "shc:/" followed by two decimal digits per JWS character, and returns the
// compact JWS. A chunk of a multi-chunk card fails with [ErrIncomplete]; use
// a [Joiner] or [JoinChunks]. Nothing may follow the digits, not even a
// newline (see [TrimNewline] for typed text).
func DecodeNumeric(payload []byte) (string, error) {
	c, err := DecodeChunk(payload)
	if err != nil {
		return "", err
	}
	if c.Total != 1 {
		return "", fmt.Errorf("%w: %w: this QR code is chunk %d of %d", ErrMalformed, ErrIncomplete, c.Index, c.Total)
	}
	return c.JWS, nil
}

// DecodeChunk decodes one numeric QR payload, whole ("shc:/" + digits) or
// chunked ("shc:/i/n/" + digits, 1 <= i <= n <= [MaxChunks], no leading
// zeros). Each pair of digits is one character of the JWS, its code minus
// 45; a pair must encode a character a compact JWS may hold
// ([A-Za-z0-9_.-]). Errors are [*NumericError]s with the offset of the
// first bad byte, or [ErrTooLarge].
func DecodeChunk(payload []byte) (Chunk, error) {
	if !HasPrefix(payload) {
		return Chunk{}, &NumericError{Offset: 0, Reason: "no " + Prefix + " prefix"}
	}
	if len(payload) > maxNumericPayload {
		return Chunk{}, tooLarge("numeric payload of %d bytes, more than %d", len(payload), maxNumericPayload)
	}
	c := Chunk{Index: 1, Total: 1}
	pos := len(Prefix)
	end := digitsFrom(payload, pos)
	if end < len(payload) && payload[end] == '/' {
		idx, err := chunkNumber(payload, pos, end, "chunk index")
		if err != nil {
			return Chunk{}, err
		}
		pos = end + 1
		end = digitsFrom(payload, pos)
		if end >= len(payload) || payload[end] != '/' {
			return Chunk{}, &NumericError{Offset: end, Reason: "chunk header: \"/\" expected after the chunk count"}
		}
		total, err := chunkNumber(payload, pos, end, "chunk count")
		if err != nil {
			return Chunk{}, err
		}
		if total > MaxChunks {
			return Chunk{}, tooLarge("a card in %d chunks, more than %d", total, MaxChunks)
		}
		if idx > total {
			return Chunk{}, &NumericError{Offset: len(Prefix), Reason: fmt.Sprintf("chunk %d of %d", idx, total)}
		}
		c.Index, c.Total = idx, total
		pos = end + 1
	}
	jws, err := decodeDigits(payload, pos)
	if err != nil {
		return Chunk{}, err
	}
	c.JWS = jws
	return c, nil
}

// digitsFrom returns the offset of the first non-digit of b at or after i.
func digitsFrom(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// chunkNumber parses b[start:end] as a chunk index or count: 1 to
// maxChunkDigits digits, no leading zero, at least 1.
func chunkNumber(b []byte, start, end int, what string) (int, error) {
	switch {
	case start == end:
		return 0, &NumericError{Offset: start, Reason: "chunk header: no " + what}
	case b[start] == '0':
		return 0, &NumericError{Offset: start, Reason: "chunk header: " + what + " starts with 0"}
	case end-start > maxChunkDigits:
		return 0, tooLarge("chunk header: %s %s, more than %d", what, b[start:end], MaxChunks)
	}
	n, _ := strconv.Atoi(string(b[start:end]))
	return n, nil
}

// decodeDigits decodes the digit pairs of b from offset start to the end.
func decodeDigits(b []byte, start int) (string, error) {
	body := b[start:]
	if len(body) == 0 {
		return "", &NumericError{Offset: start, Reason: "no digits"}
	}
	out := make([]byte, 0, len(body)/2)
	for k := 0; k < len(body); k += 2 {
		hi := body[k] - '0'
		if hi > 9 {
			return "", &NumericError{Offset: start + k, Reason: nonDigit(body[k:])}
		}
		if k+1 == len(body) {
			return "", &NumericError{Offset: start + k, Reason: "odd number of digits (a leading zero dropped?)"}
		}
		lo := body[k+1] - '0'
		if lo > 9 {
			return "", &NumericError{Offset: start + k + 1, Reason: nonDigit(body[k+1:])}
		}
		v := hi*10 + lo
		if v > 77 {
			return "", &NumericError{Offset: start + k, Reason: fmt.Sprintf("digit pair %02d is over 77 (\"z\")", v)}
		}
		ch := v + 45
		if !jwsChars[ch] {
			return "", &NumericError{Offset: start + k, Reason: fmt.Sprintf("digit pair %02d encodes %q, which no compact JWS holds", v, ch)}
		}
		out = append(out, ch)
	}
	return string(out), nil
}

// nonDigit describes the non-digit at the start of rest: trailing
// characters when no digit follows, else a stray character.
func nonDigit(rest []byte) string {
	if digitsFrom(rest, 0) == 0 {
		i := 1
		for i < len(rest) && (rest[i] < '0' || rest[i] > '9') {
			i++
		}
		if i == len(rest) {
			const show = 16
			if len(rest) > show {
				return fmt.Sprintf("%d trailing characters %q… after the digits", len(rest), rest[:show])
			}
			return fmt.Sprintf("trailing characters %q after the digits", rest)
		}
	}
	return fmt.Sprintf("%q where a digit belongs", rest[0])
}

// isJWSChar reports whether c may appear in a compact JWS: the base64url
// alphabet and ".".
func isJWSChar(c byte) bool { return jwsChars[c] }

var jwsChars = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	return t
}()

// Joiner puts a card split over several QR codes back together, the
// chunks given in any order. Giving the same chunk twice is harmless; a
// chunk that contradicts one already given is refused, and the Joiner keeps
// what it had. The zero Joiner is ready to use.
type Joiner struct {
	total int
	parts []string
	have  int
	size  int
}

// Add decodes a numeric payload ([DecodeChunk]) and adds it. complete
// reports whether every chunk is now present.
func (j *Joiner) Add(payload []byte) (complete bool, err error) {
	c, err := DecodeChunk(payload)
	if err != nil {
		return j.Complete(), err
	}
	return j.AddChunk(c)
}

// AddChunk adds a decoded chunk. complete reports whether every chunk is
// now present.
func (j *Joiner) AddChunk(c Chunk) (complete bool, err error) {
	if c.Total < 1 || c.Total > MaxChunks || c.Index < 1 || c.Index > c.Total || c.JWS == "" {
		return j.Complete(), malformed("chunk %d of %d", c.Index, c.Total)
	}
	switch {
	case j.total == 0:
		j.total, j.parts = c.Total, make([]string, c.Total)
	case c.Total != j.total:
		return j.Complete(), malformed("chunk %d of %d does not belong with chunks of %d", c.Index, c.Total, j.total)
	}
	if prev := j.parts[c.Index-1]; prev != "" {
		if prev != c.JWS {
			return j.Complete(), malformed("two different chunks %d of %d", c.Index, c.Total)
		}
		return j.Complete(), nil
	}
	if j.size+len(c.JWS) > MaxJWSSize {
		return j.Complete(), tooLarge("chunks of more than %d JWS characters", MaxJWSSize)
	}
	j.parts[c.Index-1] = c.JWS
	j.have++
	j.size += len(c.JWS)
	return j.Complete(), nil
}

// Complete reports whether every chunk of the card is present.
func (j *Joiner) Complete() bool { return j.total > 0 && j.have == j.total }

// Total returns how many chunks the card has (0 before the first Add).
func (j *Joiner) Total() int { return j.total }

// Missing returns the indexes (1-based) of the chunks not yet given; nil
// before the first Add.
func (j *Joiner) Missing() []int {
	var m []int
	for i, p := range j.parts {
		if p == "" {
			m = append(m, i+1)
		}
	}
	return m
}

// JWS returns the joined compact JWS, or [ErrIncomplete] (with
// [ErrMalformed]) while chunks are missing.
func (j *Joiner) JWS() (string, error) {
	if j.total == 0 {
		return "", fmt.Errorf("%w: %w: no chunk given", ErrMalformed, ErrIncomplete)
	}
	if !j.Complete() {
		return "", fmt.Errorf("%w: %w: chunks %v of %d missing", ErrMalformed, ErrIncomplete, j.Missing(), j.total)
	}
	return strings.Join(j.parts, ""), nil
}

// JoinChunks joins the numeric payloads of one card, each "shc:/i/n/…" (or
// a single "shc:/…"), given in any order, and returns the compact JWS.
// Every chunk must be there; at most [MaxChunks] payloads are read.
func JoinChunks(payloads [][]byte) (string, error) {
	if len(payloads) > MaxChunks {
		return "", tooLarge("%d payloads, more than the %d chunks a card may have", len(payloads), MaxChunks)
	}
	var j Joiner
	for _, p := range payloads {
		if _, err := j.Add(p); err != nil {
			return "", err
		}
	}
	return j.JWS()
}

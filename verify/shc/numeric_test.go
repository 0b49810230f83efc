package shc

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/crlverify/crlverify/verify/shc/internal/shctest"
)

func TestDecodeNumeric(t *testing.T) {
	jws := signTest(testCard(nil))
	got, err := DecodeNumeric([]byte(shctest.Numeric(jws)))
	if err != nil || got != jws {
		t.Fatalf("round trip: %v", err)
	}
	// Upper case prefix, and the single-chunk header 1/1.
	for _, p := range []string{"SHC:/" + shctest.Numeric(jws)[5:], shctest.NumericChunk(jws, 1, 1)} {
		if got, err := DecodeNumeric([]byte(p)); err != nil || got != jws {
			t.Errorf("%.12s…: %v", p, err)
		}
	}
	// Every pair from 00 to 77 that encodes a JWS character, and none
	// else.
	for v := 0; v <= 99; v++ {
		p := "shc:/" + string(rune('0'+v/10)) + string(rune('0'+v%10))
		got, err := DecodeNumeric([]byte(p))
		c := byte(v + 45)
		ok := v <= 77 && (c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.')
		if ok != (err == nil) || ok && got != string(c) {
			t.Errorf("pair %02d: %q %v", v, got, err)
		}
	}
}

func TestDecodeChunkErrors(t *testing.T) {
	for _, tc := range []struct {
		in     string
		offset int
		msg    string
	}{
		{"", 0, "no shc:/ prefix"},
		{"shc:", 0, "no shc:/ prefix"},
		{"shc:/", 5, "no digits"},
		{"shc:/1/2/", 9, "no digits"},
		{"shc:/565", 7, "odd number of digits"},
		{"shc:/5 56", 6, `' ' where a digit belongs`},
		{"shc:/5656\r\n", 9, `trailing characters "\r\n" after the digits`},
		{"shc:/56-56", 7, `'-' where a digit belongs`},
		{"shc:/0/2/56", 5, "chunk index starts with 0"},
		{"shc:/1/02/56", 7, "chunk count starts with 0"},
		{"shc:/3/2/56", 5, "chunk 3 of 2"},
		{"shc:/1/2", 8, `"/" expected after the chunk count`},
		{"shc:/1/2x56", 8, `"/" expected`},
		{"shc:/1//56", 7, "no chunk count"},
		{"shc:/56/5656", 12, `"/" expected`},
	} {
		_, err := DecodeChunk([]byte(tc.in))
		var ne *NumericError
		if !errors.As(err, &ne) || !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, want a NumericError", tc.in, err)
			continue
		}
		if ne.Offset != tc.offset || !strings.Contains(ne.Reason, tc.msg) {
			t.Errorf("%q: offset %d %q, want %d %q", tc.in, ne.Offset, ne.Reason, tc.offset, tc.msg)
		}
	}
	for _, in := range []string{"shc:/17/17/56", "shc:/1/100/56", "shc:/100/200/56"} {
		if _, err := DecodeChunk([]byte(in)); !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, want too large", in, err)
		}
	}
}

func TestJoiner(t *testing.T) {
	jws := signTest(testCard(nil))
	chunks := shctest.Chunks(jws, 4)

	var j Joiner
	if _, err := j.JWS(); !errors.Is(err, ErrIncomplete) {
		t.Errorf("empty joiner: %v", err)
	}
	for i, idx := range []int{2, 0, 3} {
		done, err := j.Add([]byte(chunks[idx]))
		if err != nil || done {
			t.Fatalf("add %d: %v %v", i, done, err)
		}
	}
	if got := j.Missing(); !slices.Equal(got, []int{2}) || j.Total() != 4 {
		t.Errorf("missing %v of %d", got, j.Total())
	}
	if _, err := j.JWS(); !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "chunks [2] of 4 missing") {
		t.Errorf("incomplete: %v", err)
	}
	// The same chunk again is harmless.
	if done, err := j.Add([]byte(chunks[0])); err != nil || done {
		t.Errorf("repeat: %v %v", done, err)
	}
	// A chunk of another card with the same number is refused, and
	// changes nothing.
	other := shctest.Chunks(signTest(testCard(func(c *shctest.Card) { c.Family = "Other" })), 4)
	if _, err := j.Add([]byte(other[0])); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "two different chunks 1 of 4") {
		t.Errorf("conflicting chunk: %v", err)
	}
	// A chunk of a card in 3.
	if _, err := j.Add([]byte(shctest.Chunks(jws, 3)[1])); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "does not belong with chunks of 4") {
		t.Errorf("other count: %v", err)
	}
	if _, err := j.Add([]byte("shc:/1/4/5x")); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad chunk: %v", err)
	}
	if done, err := j.Add([]byte(chunks[1])); err != nil || !done {
		t.Fatalf("last chunk: %v %v", done, err)
	}
	if got, err := j.JWS(); err != nil || got != jws {
		t.Errorf("joined: %v", err)
	}

	// JoinChunks: any order, bounded.
	rev := [][]byte{[]byte(chunks[3]), []byte(chunks[2]), []byte(chunks[1]), []byte(chunks[0])}
	if got, err := JoinChunks(rev); err != nil || got != jws {
		t.Errorf("JoinChunks reversed: %v", err)
	}
	if got, err := JoinChunks([][]byte{[]byte(shctest.Numeric(jws))}); err != nil || got != jws {
		t.Errorf("JoinChunks of a whole card: %v", err)
	}
	many := make([][]byte, MaxChunks+1)
	for i := range many {
		many[i] = []byte(chunks[0])
	}
	if _, err := JoinChunks(many); !errors.Is(err, ErrTooLarge) {
		t.Errorf("%d payloads: %v", len(many), err)
	}
	if _, err := JoinChunks(nil); !errors.Is(err, ErrIncomplete) {
		t.Errorf("no payload: %v", err)
	}
	// Chunks whose total exceeds the JWS bound.
	big := strings.Repeat("A", MaxJWSSize/2+1)
	var jb Joiner
	jb.Add([]byte(shctest.NumericChunk(big, 1, 2)))
	if _, err := jb.Add([]byte(shctest.NumericChunk(big, 2, 2))); !errors.Is(err, ErrTooLarge) {
		t.Errorf("joined size over the bound: %v", err)
	}
	if done, err := jb.AddChunk(Chunk{Index: 0, Total: 2, JWS: "A"}); err == nil || done {
		t.Errorf("chunk 0: %v", err)
	}
}

func TestSniff(t *testing.T) {
	for in, want := range map[string]Form{
		"shc:/5676":                         FormNumeric,
		"SHC:/5676":                         FormNumeric,
		"shc:/1/2/5676":                     FormChunk,
		"shc:/":                             FormNumeric,
		"eyJhbGciOi.x.y":                    FormJWS,
		` {"verifiableCredential": ["a"]}`:  FormFile,
		`{"@context": [], "proof": {}}`:     FormUnknown,
		"HC1:6BFOXN":                        FormUnknown,
		"PK\x03\x04":                        FormUnknown,
		"":                                  FormUnknown,
		"\n\n{\"verifiableCredential\":[]}": FormFile,
	} {
		if got := Sniff([]byte(in)); got != want {
			t.Errorf("Sniff(%q) = %v, want %v", in, got, want)
		}
	}
	if got := string(TrimNewline([]byte("shc:/56\r\n"))); got != "shc:/56" {
		t.Errorf("TrimNewline: %q", got)
	}
	if got := string(TrimNewline([]byte("shc:/56\n\n"))); got != "shc:/56\n" {
		t.Errorf("TrimNewline trims one line end only: %q", got)
	}
}

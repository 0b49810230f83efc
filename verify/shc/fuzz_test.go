package shc

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crlverify/crlverify/verify/shc/internal/shctest"
)

// Fuzz seeds: the committed fixtures, and the specification's examples
// when the outside vectors are there.

func seedFiles(f *testing.F, patterns ...string) [][]byte {
	var out [][]byte
	for _, pat := range patterns {
		paths, _ := filepath.Glob(filepath.Join("testdata", pat))
		if len(paths) == 0 {
			f.Fatalf("no committed fixture %s (run go generate ./verify/shc)", pat)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}

func seedVectors(pattern string) [][]byte {
	paths, _ := filepath.Glob(filepath.Join(vectorsDir, pattern))
	var out [][]byte
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			out = append(out, b)
		}
	}
	return out
}

// oneVerdict fails unless err wraps exactly one of the verdict sentinels.
func oneVerdict(t *testing.T, err error) {
	t.Helper()
	n := 0
	for _, s := range []error{ErrMalformed, ErrUnknownIssuer, ErrBadSignature, ErrExpired, ErrNotYetValid} {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error %v maps to %d verdicts", err, n)
	}
}

// FuzzDecodeChunk feeds numeric payloads to the decoder: nothing may
// panic, every error is a NumericError or too large, and what decodes
// encodes back to the same digits.
func FuzzDecodeChunk(f *testing.F) {
	for _, b := range seedFiles(f, "valid.txt", "valid-chunk-1-of-2.txt", "valid-chunk-2-of-2.txt") {
		f.Add(TrimNewline(b))
	}
	for _, b := range seedVectors("examples/*-f-qr-code-numeric-value-*.txt") {
		f.Add(b)
	}
	for _, s := range []string{"shc:/", "shc:/56", "shc:/1/2/5676", "SHC:/0102", "shc:/16/16/77", "shc:/5\n", "shc:/1/1/00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeChunk(b)
		if err != nil {
			var ne *NumericError
			if !errors.As(err, &ne) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v is neither a NumericError nor too large", err)
			}
			oneVerdict(t, err)
			return
		}
		if c.Index < 1 || c.Index > c.Total || c.Total > MaxChunks || len(c.JWS) == 0 || len(c.JWS) > MaxJWSSize {
			t.Fatalf("chunk %d of %d, %d characters", c.Index, c.Total, len(c.JWS))
		}
		want := shctest.NumericChunk(c.JWS, 0, 0)[len(Prefix):]
		if !bytes.HasSuffix(b, []byte(want)) {
			t.Fatalf("%q does not end with its re-encoding %q", b, want)
		}
	})
}

// FuzzJoinChunks splits its input at newlines into payloads and joins
// them: nothing may panic, a join succeeds only with every chunk of one
// count, and the result is their concatenation in index order.
func FuzzJoinChunks(f *testing.F) {
	if ch := seedFiles(f, "valid-chunk-2-of-2.txt", "valid-chunk-1-of-2.txt"); len(ch) == 2 {
		f.Add(append(ch[0], ch[1]...))
	}
	if ch := seedVectors("examples/example-02-f-qr-code-numeric-value-*.txt"); len(ch) == 3 {
		f.Add(bytes.Join([][]byte{ch[2], ch[0], ch[1]}, []byte("\n")))
	}
	f.Add([]byte("shc:/2/2/57\nshc:/1/2/56"))
	f.Add([]byte("shc:/1/2/56\nshc:/1/2/57"))
	f.Add([]byte("shc:/1/3/56\nshc:/2/2/56"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parts := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
		jws, err := JoinChunks(parts)
		if err != nil {
			oneVerdict(t, err)
			return
		}
		byIndex := map[int]string{}
		total := 0
		for _, p := range parts {
			c, err := DecodeChunk(p)
			if err != nil {
				t.Fatalf("joined, but %q does not decode: %v", p, err)
			}
			total = c.Total
			byIndex[c.Index] = c.JWS
		}
		var want strings.Builder
		for i := 1; i <= total; i++ {
			want.WriteString(byIndex[i])
		}
		if len(byIndex) != total || jws != want.String() {
			t.Fatalf("joined %q, want %q", jws, want.String())
		}
	})
}

// FuzzParse feeds compact JWS through the whole key-free path (base64url,
// header, inflate, claims, display fields) and then the signature check
// against the test directory: nothing may panic and every error maps to
// one verdict.
func FuzzParse(f *testing.F) {
	for _, b := range seedFiles(f, "valid.jws", "revoked.jws", "superseded.jws", "reissued.jws") {
		f.Add(TrimNewline(b))
	}
	for _, b := range seedVectors("examples/*-d-jws.txt") {
		f.Add(b)
	}
	f.Add([]byte(signTest(testCard(nil))))
	f.Add([]byte(signTest(testCard(func(c *shctest.Card) { c.NBF = "1.7e9"; c.Exp = "1800000000.5" }))))
	f.Add([]byte("eyJ6aXAiOiJERUYiLCJhbGciOiJFUzI1NiIsImtpZCI6IngifQ.AwA.AA"))
	dir := testDirectory(f)
	at := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(string(b))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse error %v is not ErrMalformed", err)
			}
			oneVerdict(t, err)
			return
		}
		if c.Header.Alg != AlgES256 || c.Header.Zip != ZipDeflate || c.Header.KID == "" || c.Issuer == "" || len(c.Payload) > MaxInflatedSize {
			t.Fatalf("accepted header %+v, issuer %q", c.Header, c.Issuer)
		}
		_ = c.Display()
		if _, err := Verify(c, dir, at); err != nil {
			oneVerdict(t, err)
		}
	})
}

// FuzzParsePayload is FuzzParse from the QR payload or text: numeric,
// chunked, JWS or anything else.
func FuzzParsePayload(f *testing.F) {
	for _, b := range seedFiles(f, "valid.txt", "valid.jws", "valid-chunk-1-of-2.txt", "cards.smart-health-card") {
		f.Add(b)
	}
	f.Add([]byte(shctest.Numeric(signTest(testCard(nil)))))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, form, err := ParsePayload(b)
		if err != nil {
			oneVerdict(t, err)
			return
		}
		if form != FormNumeric && form != FormChunk && form != FormJWS || c == nil {
			t.Fatalf("form %v", form)
		}
	})
}

// FuzzParseFile feeds .smart-health-card files, read whole with ReadFile
// too.
func FuzzParseFile(f *testing.F) {
	for _, b := range seedFiles(f, "cards.smart-health-card") {
		f.Add(b)
	}
	for _, b := range seedVectors("examples/*-e-file.smart-health-card") {
		f.Add(b)
	}
	f.Add([]byte(`{"verifiableCredential":["a","b"],"other":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		list, err := ParseFile(b)
		if err != nil {
			oneVerdict(t, err)
			return
		}
		if len(list) == 0 || len(list) > MaxFileCards {
			t.Fatalf("%d cards", len(list))
		}
		for _, jws := range list {
			if len(jws) > MaxJWSSize {
				t.Fatalf("card of %d characters", len(jws))
			}
		}
		cards, err := ReadFile(b)
		if err != nil || len(cards) != len(list) {
			t.Fatalf("ReadFile: %d cards, %v; ParseFile: %d", len(cards), err, len(list))
		}
		inflated := 0
		for _, fc := range cards {
			if fc.Err != nil {
				oneVerdict(t, fc.Err)
				continue
			}
			inflated += len(fc.Card.Payload)
		}
		if inflated > MaxFileInflatedSize {
			t.Fatalf("cards inflate to %d bytes together", inflated)
		}
	})
}

// FuzzParseCRL feeds revocation lists: what parses has a kid, method rid,
// a positive ctr and valid rids, and Revokes agrees with Entries.
func FuzzParseCRL(f *testing.F) {
	for _, b := range seedFiles(f, "issuer/.well-known/crl/*.json") {
		f.Add(b)
	}
	for _, b := range seedVectors("examples/issuer/.well-known/crl/*.json") {
		f.Add(b)
	}
	f.Add([]byte(`{"kid":"k","method":"rid","ctr":"2","rids":["a","a.5","b.1.5","c.99999999999"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseCRL(b)
		if err != nil {
			oneVerdict(t, err)
			return
		}
		if l.KID == "" || l.Method != MethodRID || l.Counter < 1 {
			t.Fatalf("%+v", l)
		}
		for _, e := range l.Entries() {
			if checkRID(e.ID) != nil {
				t.Fatalf("entry %q", e.ID)
			}
			if !l.Revokes(e.ID, time.Unix(0, 0)) && !e.Before.Equal(time.Unix(0, 0)) {
				t.Fatalf("entry %v does not revoke a card of 1970", e)
			}
			if !e.Before.IsZero() && l.Revokes(e.ID, e.Before) {
				t.Fatalf("entry %v revokes a card issued at its timestamp", e)
			}
		}
	})
}

// FuzzParseJWKS feeds key sets: what parses has at least one usable key,
// each a P-256 key with its kid, and every card's key lookup ends in a key
// or a mapped error.
func FuzzParseJWKS(f *testing.F) {
	for _, b := range seedFiles(f, "issuer/.well-known/jwks.json") {
		f.Add(b)
	}
	for _, b := range seedVectors("examples/issuer/.well-known/jwks.json") {
		f.Add(b)
	}
	f.Add(shctest.JWKS(shctest.JWK(&testKey.PublicKey, map[string]any{"crlVersion": "3"}), shctest.JWK(&otherKey.PublicKey, map[string]any{"use": "enc"})))
	c := mustParse(f, signTest(testCard(nil)))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseJWKS(b)
		if err != nil {
			oneVerdict(t, err)
			return
		}
		if len(s.Keys) == 0 {
			t.Fatal("no key")
		}
		for _, k := range s.Keys {
			if k.ID == "" || k.Public == nil || k.Public.Curve.Params().Name != "P-256" || k.CRLVersion < 0 {
				t.Fatalf("key %+v", k)
			}
			if got, ok := s.Key(k.ID); !ok || got != k {
				t.Fatalf("Key(%q) does not find the key", k.ID)
			}
		}
		d := NewDirectory()
		if err := d.Add(testIssuer, s); err != nil {
			t.Fatal(err)
		}
		if _, err := VerifySignature(c, d, testAt); err != nil {
			oneVerdict(t, err)
		}
	})
}

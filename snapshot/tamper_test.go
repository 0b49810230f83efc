package snapshot_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/crlverify/crlverify/snapshot"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// otherB64 returns a base64url character other than c.
func otherB64(c byte) byte {
	i := strings.IndexByte(b64Alphabet, c)
	return b64Alphabet[(i+17)%64]
}

// TestFlippedBodyByte: any change to the body, at any offset, is
// ErrDigestMismatch, whether or not the changed body still decodes.
func TestFlippedBodyByte(t *testing.T) {
	keys := loadKeys(t)
	small := readTestdata(t, "golden/"+snapshot.DeltaName(1, 2))
	rng := rand.New(rand.NewPCG(3, 3))
	bigFile, _ := build(t, snap{kind: snapshot.KindDelta, upserts: randomEntries(rng, 9000), removals: randomKeys(rng, 5000, nil), key: keys.ed})
	for _, c := range []struct {
		name    string
		file    []byte
		offsets func(n int) []int
	}{
		{"golden delta, every offset", small, func(n int) []int {
			var o []int
			for i := range n {
				o = append(o, i)
			}
			return o
		}},
		{"14k-item delta, sampled offsets", bigFile, func(n int) []int {
			o := []int{0, 1, 8, 9, 10, 11, n - 1, n - 2}
			for range 150 {
				o = append(o, rng.IntN(n))
			}
			return o
		}},
	} {
		magic, line, body := parts(t, c.file)
		head := len(magic) + len(line) + 1
		for _, off := range c.offsets(len(body)) {
			for _, mask := range []byte{0x01, 0x80, 0xff} {
				f := bytes.Clone(c.file)
				f[head+off] ^= mask
				_, err := decode(f, keys.trusted, nil)
				if !errors.Is(err, snapshot.ErrDigestMismatch) {
					t.Fatalf("%s: body byte %d ^ %#x: got %v, want ErrDigestMismatch", c.name, off, mask, err)
				}
			}
		}
	}
}

// TestSignedMalformedBody: a body that breaks the format but is exactly
// the one the header signs is ErrMalformed (a publisher bug, or a hostile
// signer), not a digest mismatch.
func TestSignedMalformedBody(t *testing.T) {
	keys := loadKeys(t)
	good := []byte{
		0x01, 0x10, 0, 0, 0, 0, 0, 0, 0, // n = 1, key
		0x00, 0x02, 0x00, 0x04, 0x00, // rice_k 0, t_min 1, t_width 0, r_width 4, flags 0
		0x40, // reason 4, padding
		0x00, 0x00,
	}
	for _, c := range []struct {
		name string
		body []byte
		ups  uint64
		rems uint64
	}{
		{"reason 16 needs r_width 5", patch(good, 12, 0x05), 1, 0},
		{"unknown flag bit", patch(good, 13, 0x02), 1, 0},
		{"non-zero padding", patch(good, 14, 0x41), 1, 0},
		{"block count above 4096", append([]byte{0x81, 0x40}, good[1:]...), 1, 0},
		{"non-minimal block count", append([]byte{0x81, 0x00}, good[1:]...), 1, 0},
		{"rice_k 64", patch(good, 9, 64), 1, 0},
		{"more items than the header says", good, 0, 0},
		{"fewer items than the header says", good, 2, 0},
		{"t_width 65", patch(good, 11, 65), 1, 0},
		{"trailing bytes inside body_length", append(bytes.Clone(good), 0x00), 1, 0},
		{"no end of the key section", good[:len(good)-1], 1, 0},
		{"removal keys not increasing", []byte{0x00,
			0x01, 0x20, 0, 0, 0, 0, 0, 0, 0, 0x00,
			0x01, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00}, 0, 2},
		{"upsert keys not increasing across blocks", []byte{
			0x01, 0x20, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x02, 0x00, 0x00, 0x00,
			0x01, 0x20, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x02, 0x00, 0x00, 0x00,
			0x00, 0x00}, 2, 0},
		{"key gap overflows", []byte{0x00,
			0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0, 0x00,
			0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
			0x00}, 0, 2},
	} {
		file := signedBody(t, keys.ed, c.body, c.ups, c.rems)
		_, err := decode(file, keys.trusted, nil)
		if !errors.Is(err, snapshot.ErrMalformed) || errors.Is(err, snapshot.ErrDigestMismatch) {
			t.Errorf("%s: got %v, want ErrMalformed", c.name, err)
		}
	}
	// The unpatched body is fine.
	if _, err := decode(signedBody(t, keys.ed, good, 1, 0), keys.trusted, nil); err != nil {
		t.Fatalf("the reference body: %v", err)
	}
}

func patch(b []byte, i int, v byte) []byte {
	b = bytes.Clone(b)
	b[i] = v
	return b
}

// signedBody makes a correctly signed delta file around raw body bytes.
func signedBody(t testing.TB, key jwk.Key, body []byte, ups, rems uint64) []byte {
	t.Helper()
	file, _ := build(t, snap{kind: snapshot.KindDelta, key: key})
	p := payloadOf(t, file)
	p["upserts"], p["removals"], p["list_count"] = jsonNum(ups), jsonNum(rems), jsonNum(ups+10)
	p["body_length"] = jsonNum(uint64(len(body)))
	p["body_digest"] = snapshot.Digest(sha256.Sum256(body)).String()
	magic, _, _ := parts(t, file)
	f := resign(t, append(append(bytes.Clone(magic), "x\n"...), body...), p, key, jwa.EdDSA, "crlverify-snapshot+jws")
	return f
}

// TestTamperedHeader: changing any signed header field, or any character
// of the payload or signature, is ErrBadSignature.
func TestTamperedHeader(t *testing.T) {
	keys := loadKeys(t)
	for _, name := range []string{"golden/" + snapshot.FullName(2), "golden-es256-full.crl"} {
		file := readTestdata(t, name)
		magic, line, body := parts(t, file)
		seg := strings.Split(string(line), ".")
		// Re-encoded payloads with one field changed, old signature kept.
		for field, v := range map[string]any{
			"serial": jsonNum(3), "list_count": jsonNum(1), "next_update": "2030-01-01T00:00:00Z",
			"body_digest": snapshot.Digest{}.String(), "publisher": "Mallory", "kind": "delta",
		} {
			p := payloadOf(t, file)
			p[field] = v
			pb, _ := json.Marshal(p)
			forged := seg[0] + "." + b64.EncodeToString(pb) + "." + seg[2]
			_, err := decode(join(magic, []byte(forged), body), keys.trusted, nil)
			wantErr(t, err, snapshot.ErrBadSignature, name+": payload field "+field+" changed")
		}
		// Every character of payload and signature but the last of each
		// (whose low bits are padding: changing those is ErrMalformed).
		for part := 1; part <= 2; part++ {
			for i := 0; i < len(seg[part])-1; i++ {
				s := []byte(seg[part])
				s[i] = otherB64(s[i])
				ss := append([]string{}, seg...)
				ss[part] = string(s)
				_, err := decode(join(magic, []byte(strings.Join(ss, ".")), body), keys.trusted, nil)
				wantErr(t, err, snapshot.ErrBadSignature, name+": JWS part "+string(rune('0'+part))+" changed")
			}
		}
		// Non-canonical base64: the signature (86 characters) ends in 4
		// unused bits; setting one would decode to the same bytes.
		s := []byte(seg[2])
		last := strings.IndexByte(b64Alphabet, s[len(s)-1])
		s[len(s)-1] = b64Alphabet[last^1]
		_, err := decode(join(magic, []byte(seg[0]+"."+seg[1]+"."+string(s)), body), keys.trusted, nil)
		wantErr(t, err, snapshot.ErrMalformed, "signature with a padding bit set")
		// Padding characters.
		for part := 0; part < 3; part++ {
			ss := append([]string{}, seg...)
			ss[part] += "="
			_, err := decode(join(magic, []byte(strings.Join(ss, ".")), body), keys.trusted, nil)
			wantErr(t, err, snapshot.ErrMalformed, "padded JWS part")
		}
	}
}

func join(magic, line, body []byte) []byte {
	f := append(bytes.Clone(magic), line...)
	f = append(f, '\n')
	return append(f, body...)
}

// TestTruncated cuts the golden files at every offset: inside the magic
// line or the signed header it is ErrMalformed, inside the body
// ErrDigestMismatch.
func TestTruncated(t *testing.T) {
	keys := loadKeys(t)
	for _, name := range []string{"golden/" + snapshot.FullName(2), "golden/" + snapshot.DeltaName(1, 2)} {
		file := readTestdata(t, name)
		magic, line, _ := parts(t, file)
		head := len(magic) + len(line) + 1
		for n := 0; n < len(file); n++ {
			_, err := decode(file[:n], keys.trusted, nil)
			want := snapshot.ErrMalformed
			if n >= head {
				want = snapshot.ErrDigestMismatch
			}
			if !errors.Is(err, want) {
				t.Fatalf("%s cut at %d of %d: got %v, want %v", name, n, len(file), err, want)
			}
		}
	}
}

func TestTrailingBytes(t *testing.T) {
	keys := loadKeys(t)
	file := readTestdata(t, "golden/"+snapshot.FullName(2))
	_, err := decode(append(bytes.Clone(file), 0), keys.trusted, nil)
	wantErr(t, err, snapshot.ErrMalformed, "a byte after the body")
	_, err = decode(append(bytes.Clone(file), file...), keys.trusted, nil)
	wantErr(t, err, snapshot.ErrMalformed, "the file twice")
}

func TestWrongKey(t *testing.T) {
	keys := loadKeys(t)
	file := readTestdata(t, "golden/"+snapshot.FullName(2))

	other, err := snapshot.GenerateKey("")
	must(t, err)
	otherSet, err := snapshot.PublicSet(other)
	must(t, err)
	_, err = decode(file, snapshot.KeysFromSet(otherSet), nil)
	wantErr(t, err, snapshot.ErrUnknownKey, "kid not in the trusted set")
	_, err = decode(file, nil, nil)
	wantErr(t, err, snapshot.ErrUnknownKey, "no trusted keys")

	// The kid is trusted but names another key (a rotated or confused key).
	otherPub, _ := otherSet.Key(0)
	_, err = decode(file, snapshot.KeysFunc(func(string) (jwk.Key, error) { return otherPub, nil }), nil)
	wantErr(t, err, snapshot.ErrBadSignature, "kid mapped to a different Ed25519 key")
	esSet, _ := snapshot.PublicSet(keys.es)
	esPub, _ := esSet.Key(0)
	_, err = decode(file, snapshot.KeysFunc(func(string) (jwk.Key, error) { return esPub, nil }), nil)
	wantErr(t, err, snapshot.ErrBadSignature, "kid mapped to a P-256 key")

	// The ES256 golden file verifies with the trusted set.
	mustDecode(t, readTestdata(t, "golden-es256-full.crl"), keys.trusted)
}

// TestRefusedAlgorithms: "none", HMAC (keyed with the public key, the
// classic confusion) and other algorithms are ErrBadSignature.
func TestRefusedAlgorithms(t *testing.T) {
	keys := loadKeys(t)
	file := readTestdata(t, "golden/"+snapshot.FullName(2))
	magic, line, body := parts(t, file)
	seg := strings.Split(string(line), ".")
	payload := payloadOf(t, file)

	none := b64.EncodeToString([]byte(`{"alg":"none","kid":"` + keys.ed.KeyID() + `","typ":"crlverify-snapshot+jws"}`))
	for _, sig := range []string{"", seg[2]} {
		_, err := decode(join(magic, []byte(none+"."+seg[1]+"."+sig), body), keys.trusted, nil)
		wantErr(t, err, snapshot.ErrBadSignature, `alg "none"`)
	}

	pub, _ := jwk.PublicKeyOf(keys.ed)
	pubJSON, _ := json.Marshal(pub)
	hmacKey, err := jwk.FromRaw(pubJSON)
	must(t, err)
	hmacKey.Set(jwk.KeyIDKey, keys.ed.KeyID())
	_, err = decode(resign(t, file, payload, hmacKey, jwa.HS256, "crlverify-snapshot+jws"), keys.trusted, nil)
	wantErr(t, err, snapshot.ErrBadSignature, "HS256 keyed with the public key")

	p256, err := snapshot.GenerateKey(snapshot.AlgES256)
	must(t, err)
	_, err = decode(resign(t, file, payload, p256, jwa.ES256K, "crlverify-snapshot+jws"), keys.trusted, nil)
	if err == nil {
		t.Fatal("ES256K accepted")
	}
	wantErr(t, err, snapshot.ErrBadSignature, "ES256K")
}

// TestVersionRule: other versions and critical fields fail closed;
// unknown non-critical fields are ignored.
func TestVersionRule(t *testing.T) {
	keys := loadKeys(t)
	file := readTestdata(t, "golden/"+snapshot.FullName(2))
	magic, line, body := parts(t, file)
	sign := func(edit func(p map[string]any)) []byte {
		p := payloadOf(t, file)
		edit(p)
		return resign(t, file, p, keys.ed, jwa.EdDSA, "crlverify-snapshot+jws")
	}

	_, err := decode(join([]byte("crlverify-snapshot-v2\n"), line, body), keys.trusted, nil)
	wantErr(t, err, snapshot.ErrUnsupportedVersion, "magic line v2")
	_, err = decode([]byte("crlverify-snapshot-v2"), keys.trusted, nil)
	wantErr(t, err, snapshot.ErrUnsupportedVersion, "short magic line v2")
	_, err = decode(join([]byte("crlverify-index-v1\n"), line, body), keys.trusted, nil)
	wantErr(t, err, snapshot.ErrMalformed, "an index magic line")
	_, err = decode(append([]byte("PK\x03\x04"), file...), keys.trusted, nil)
	wantErr(t, err, snapshot.ErrMalformed, "another file type")
	_ = magic

	for _, v := range []any{jsonNum(2), jsonNum(0), json.Number("1.0")} {
		_, err = decode(sign(func(p map[string]any) { p["v"] = v }), keys.trusted, nil)
		wantErr(t, err, snapshot.ErrUnsupportedVersion, "payload version")
	}
	_, err = decode(sign(func(p map[string]any) { p["crit"] = []string{"revocation_policy"}; p["revocation_policy"] = "strict" }), keys.trusted, nil)
	wantErr(t, err, snapshot.ErrUnsupportedVersion, "unknown critical field")

	d, err := decode(sign(func(p map[string]any) { p["comment"] = "ignored"; p["crit"] = []string{"serial"} }), keys.trusted, nil)
	if err != nil || d.h.Serial != 2 {
		t.Fatalf("unknown non-critical field and a known critical one: %v", err)
	}
	_, err = decode(sign(func(p map[string]any) { delete(p, "list_digest") }), keys.trusted, nil)
	wantErr(t, err, snapshot.ErrMalformed, "missing field")
	_, err = decode(sign(func(p map[string]any) { p["this_update"] = "2026-11-22T09:00:00+00:00" }), keys.trusted, nil)
	wantErr(t, err, snapshot.ErrMalformed, "time not in Z form")
	_, err = decode(sign(func(p map[string]any) { p["serial"] = jsonNum(1 << 53) }), keys.trusted, nil)
	wantErr(t, err, snapshot.ErrMalformed, "serial 2^53")
	_, err = decode(sign(func(p map[string]any) { p["base_serial"] = jsonNum(1) }), keys.trusted, nil)
	wantErr(t, err, snapshot.ErrMalformed, "base_serial in a full snapshot")

	// A snapshot header signed as an index, and an index as a snapshot.
	_, err = decode(resign(t, file, payloadOf(t, file), keys.ed, jwa.EdDSA, "crlverify-index+jws"), keys.trusted, nil)
	wantErr(t, err, snapshot.ErrMalformed, "typ of an index")
	ix := readTestdata(t, "golden/"+snapshot.IndexName)
	_, ixLine, _ := parts(t, append(bytes.Clone(ix), "\n"...))
	_, err = decode(join(magic, ixLine, body), keys.trusted, nil)
	wantErr(t, err, snapshot.ErrMalformed, "an index's JWS as a snapshot header")
}

// TestLimits: counts and lengths above the reader's limits are
// ErrTooLarge, checked from the header before the body is read.
func TestLimits(t *testing.T) {
	keys := loadKeys(t)
	file := readTestdata(t, "golden/"+snapshot.FullName(2))
	d := mustDecode(t, file, keys.trusted)

	_, err := decode(file, keys.trusted, &snapshot.Limits{MaxEntries: d.h.ListCount - 1})
	wantErr(t, err, snapshot.ErrTooLarge, "list_count above MaxEntries")
	_, err = decode(file, keys.trusted, &snapshot.Limits{MaxBodyBytes: d.h.BodyLength - 1})
	wantErr(t, err, snapshot.ErrTooLarge, "body_length above MaxBodyBytes")
	_, err = decode(file, keys.trusted, &snapshot.Limits{MaxHeaderBytes: 100})
	wantErr(t, err, snapshot.ErrTooLarge, "signed header above MaxHeaderBytes")
	if _, err := decode(file, keys.trusted, &snapshot.Limits{MaxEntries: d.h.ListCount, MaxBodyBytes: d.h.BodyLength}); err != nil {
		t.Fatalf("at the limits: %v", err)
	}

	// A correctly signed header that claims huge counts or sizes is
	// refused with the default limits, before anything is allocated.
	for field, v := range map[string]uint64{
		"list_count": 1 << 40, "upserts": 1 << 40, "body_length": 1 << 40,
	} {
		p := payloadOf(t, file)
		p[field] = jsonNum(v)
		if field == "upserts" {
			p["list_count"] = jsonNum(v)
		}
		_, err := decode(resign(t, file, p, keys.ed, jwa.EdDSA, "crlverify-snapshot+jws"), keys.trusted, nil)
		wantErr(t, err, snapshot.ErrTooLarge, field+" of 2^40")
	}

	// An endless header line stops at the limit.
	endless := append([]byte("crlverify-snapshot-v1\n"), bytes.Repeat([]byte("A"), 200<<10)...)
	_, err = decode(endless, keys.trusted, nil)
	wantErr(t, err, snapshot.ErrTooLarge, "endless header line")
}

// TestBodyReaderChecksHeader: a BodyReader given a header with counts
// above its limits refuses it before reading.
func TestBodyReaderChecksHeader(t *testing.T) {
	h := &snapshot.Header{Kind: snapshot.KindFull, Upserts: 1 << 40, BodyLength: 10}
	_, _, err := snapshot.NewBodyReader(bytes.NewReader(nil), h, nil).Next()
	wantErr(t, err, snapshot.ErrTooLarge, "upserts 2^40")
	h = &snapshot.Header{Kind: snapshot.KindFull, BodyLength: 1 << 40}
	_, _, err = snapshot.NewBodyReader(bytes.NewReader(nil), h, nil).Next()
	wantErr(t, err, snapshot.ErrTooLarge, "body_length 2^40")
}

package snapshot_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/snapshot/internal/golden"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// testKeys are the fixed golden keys, read from testdata as a publisher
// and a verifier would.
type testKeys struct {
	ed, es  jwk.Key       // private signing keys
	trusted snapshot.Keys // the public JWKS
}

func loadKeys(t testing.TB) testKeys {
	t.Helper()
	var k testKeys
	for _, f := range []struct {
		name string
		dst  *jwk.Key
	}{{golden.EdDSAKeyFile, &k.ed}, {golden.ES256KeyFile, &k.es}} {
		b, err := os.ReadFile(filepath.Join("testdata", f.name))
		if err != nil {
			t.Fatal(err)
		}
		if *f.dst, err = jwk.ParseKey(b); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(filepath.Join("testdata", golden.JWKSFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	set, err := snapshot.ReadJWKS(f)
	if err != nil {
		t.Fatal(err)
	}
	k.trusted = snapshot.KeysFromSet(set)
	return k
}

// snap describes a snapshot to build.
type snap struct {
	kind     snapshot.Kind
	upserts  []crl.Entry
	removals []crl.Key
	key      jwk.Key
	edit     func(*snapshot.Header) // optional, before signing
}

// build encodes s and returns the whole file and its header.
func build(t testing.TB, s snap) ([]byte, *snapshot.Header) {
	t.Helper()
	var body bytes.Buffer
	bw := snapshot.NewBodyWriter(&body)
	for _, e := range s.upserts {
		if err := bw.Upsert(e); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range s.removals {
		if err := bw.Remove(k); err != nil {
			t.Fatal(err)
		}
	}
	info, err := bw.Close()
	if err != nil {
		t.Fatal(err)
	}
	h := golden.FullHeader(7, golden.Time2, info)
	if s.kind == snapshot.KindDelta {
		h.Kind, h.BaseSerial, h.BaseDigest = snapshot.KindDelta, 5, snapshot.Digest{0xba, 0x5e}
		h.ListDigest, h.ListCount, h.Removals = snapshot.Digest{0x11}, info.Upserts+1000, info.Removals
	}
	if s.edit != nil {
		s.edit(h)
	}
	var file bytes.Buffer
	if err := snapshot.WriteSnapshot(&file, h, s.key, &body); err != nil {
		t.Fatal(err)
	}
	return file.Bytes(), h
}

// decoded is what a reader got from a file.
type decoded struct {
	h        *snapshot.Header
	upserts  []crl.Entry
	removals []crl.Key
}

// decode reads a whole file; err is the first error, never io.EOF.
func decode(file []byte, keys snapshot.Keys, lim *snapshot.Limits) (decoded, error) {
	var d decoded
	r := bufio.NewReader(bytes.NewReader(file))
	h, err := snapshot.ReadHeader(r, keys, lim)
	if err != nil {
		return d, err
	}
	d.h = h
	br := snapshot.NewBodyReader(r, h, lim)
	for {
		e, removed, err := br.Next()
		if err == io.EOF {
			return d, nil
		}
		if err != nil {
			return d, err
		}
		if removed {
			d.removals = append(d.removals, e.Key)
		} else {
			d.upserts = append(d.upserts, e)
		}
	}
}

// mustDecode decodes a file that must be valid.
func mustDecode(t testing.TB, file []byte, keys snapshot.Keys) decoded {
	t.Helper()
	d, err := decode(file, keys, nil)
	if err != nil {
		t.Fatalf("decoding a valid file: %v", err)
	}
	return d
}

// wantErr fails unless err wraps want.
func wantErr(t testing.TB, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want one wrapping %v", what, err, want)
	}
}

// parts splits a snapshot or index file into magic line, JWS line and
// body (the rest after the JWS line's newline).
func parts(t testing.TB, file []byte) (magic, line, body []byte) {
	t.Helper()
	i := bytes.IndexByte(file, '\n')
	j := i + 1 + bytes.IndexByte(file[i+1:], '\n')
	if i < 0 || j <= i {
		t.Fatal("file has no two lines")
	}
	return file[:i+1], file[i+1 : j], file[j+1:]
}

// payloadOf returns the decoded JSON payload of a file's JWS as a map with
// numbers kept exact.
func payloadOf(t testing.TB, file []byte) map[string]any {
	t.Helper()
	_, line, _ := parts(t, file)
	seg := strings.Split(string(line), ".")
	raw, err := base64.RawURLEncoding.DecodeString(seg[1])
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// resign replaces a file's JWS with one over payload, signed by key with
// the given protected header fields (alg is taken from the key unless
// given), keeping magic line and body. It is how a test makes a validly
// signed file with contents our writer would refuse to write.
func resign(t testing.TB, file []byte, payload any, key jwk.Key, alg jwa.SignatureAlgorithm, typ string) []byte {
	t.Helper()
	magic, _, body := parts(t, file)
	pb, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	hdr := jws.NewHeaders()
	hdr.Set(jws.TypeKey, typ)
	if key.KeyID() != "" {
		hdr.Set(jws.KeyIDKey, key.KeyID())
	}
	compact, err := jws.Sign(pb, jws.WithKey(alg, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	out := append([]byte{}, magic...)
	out = append(out, compact...)
	out = append(out, '\n')
	return append(out, body...)
}

// jsonNum is an exact JSON integer for payload edits.
func jsonNum(n uint64) json.Number {
	b, _ := json.Marshal(n)
	return json.Number(b)
}

var fixedTime = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var b64 = base64.RawURLEncoding

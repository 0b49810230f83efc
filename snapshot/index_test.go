package snapshot_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"

	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/snapshot/internal/golden"
	"github.com/lestrrat-go/jwx/v2/jwa"
)

func TestIndexNames(t *testing.T) {
	if got := snapshot.FullName(42); got != "full-00000000000000000042.crl" {
		t.Errorf("FullName(42) = %q", got)
	}
	if got := snapshot.DeltaName(41, 42); got != "delta-00000000000000000041-00000000000000000042.crl" {
		t.Errorf("DeltaName(41, 42) = %q", got)
	}
	if snapshot.FullName(9) > snapshot.FullName(10) {
		t.Error("names do not sort by serial")
	}
}

// TestIndexGolden reads the golden index and checks that it names the
// golden files with their true sizes and digests.
func TestIndexGolden(t *testing.T) {
	keys := loadKeys(t)
	ix, err := snapshot.ReadIndex(bytes.NewReader(readTestdata(t, "golden/"+snapshot.IndexName)), keys.trusted, nil)
	must(t, err)
	if ix.Serial != 2 || ix.Publisher != golden.Publisher || ix.KeyID != keys.ed.KeyID() || ix.Algorithm != "EdDSA" ||
		!ix.NextUpdate.Equal(golden.Time2.AddDate(0, 0, 1)) || len(ix.Deltas) != 1 {
		t.Fatalf("index %+v", ix)
	}
	for _, f := range append([]snapshot.IndexFile{ix.Full}, ix.Deltas...) {
		b := readTestdata(t, "golden/"+f.Name)
		if int64(len(b)) != f.Length || sha256.Sum256(b) != f.Digest {
			t.Errorf("%s: index says %d bytes %v; file has %d bytes", f.Name, f.Length, f.Digest, len(b))
		}
		d := mustDecode(t, b, keys.trusted)
		if d.h.Kind != f.Kind || d.h.Serial != f.Serial || d.h.BaseSerial != f.BaseSerial {
			t.Errorf("%s: header %+v does not match the index entry %+v", f.Name, d.h, f)
		}
	}
}

func TestIndexRoundTrip(t *testing.T) {
	keys := loadKeys(t)
	ix := &snapshot.Index{
		Publisher: "p", Issuers: []string{"a", "b"}, Serial: 10, ThisUpdate: fixedTime, NextUpdate: fixedTime.Add(3600e9),
		Full: snapshot.IndexFile{Name: snapshot.FullName(8), Kind: snapshot.KindFull, Serial: 8, Length: 1000, Digest: snapshot.Digest{1}},
	}
	for base := uint64(1); base < 10; base++ {
		ix.Deltas = append(ix.Deltas, snapshot.IndexFile{Name: snapshot.DeltaName(base, 10), Kind: snapshot.KindDelta, Serial: 10, BaseSerial: base, Length: int64(base), Digest: snapshot.Digest{byte(base)}})
	}
	var b bytes.Buffer
	must(t, snapshot.WriteIndex(&b, ix, keys.es))
	got, err := snapshot.ReadIndex(&b, keys.trusted, nil)
	must(t, err)
	if got.Algorithm != "ES256" || got.Full != ix.Full || len(got.Deltas) != 9 || got.Deltas[8] != ix.Deltas[8] || !got.ThisUpdate.Equal(ix.ThisUpdate) {
		t.Fatalf("read back %+v", got)
	}
}

func TestIndexRefused(t *testing.T) {
	keys := loadKeys(t)
	file := readTestdata(t, "golden/"+snapshot.IndexName)
	payload := func() map[string]any { return payloadOf(t, append(bytes.Clone(file), '\n')) }
	sign := func(p map[string]any, typ string) []byte {
		f := resign(t, append(bytes.Clone(file), '\n'), p, keys.ed, jwa.EdDSA, typ)
		return f[:len(f)-1]
	}
	read := func(b []byte, lim *snapshot.Limits) error {
		_, err := snapshot.ReadIndex(bytes.NewReader(b), keys.trusted, lim)
		return err
	}
	wantErr(t, read(append(bytes.Clone(file), 'x'), nil), snapshot.ErrMalformed, "data after the index")
	wantErr(t, read(file[:len(file)-1], nil), snapshot.ErrMalformed, "index without its final newline")
	wantErr(t, read(bytes.Replace(file, []byte("-v1"), []byte("-v2"), 1), nil), snapshot.ErrUnsupportedVersion, "index magic v2")
	wantErr(t, read(append([]byte("crlverify-index-v1\n"), bytes.Repeat([]byte("A"), 2<<20)...), nil), snapshot.ErrTooLarge, "2 MiB index")
	wantErr(t, read(sign(payload(), "crlverify-snapshot+jws"), nil), snapshot.ErrMalformed, "typ of a snapshot")

	p := payload()
	p["serial"] = jsonNum(3)
	pb, _ := json.Marshal(p)
	_, line, _ := parts(t, append(bytes.Clone(file), '\n'))
	seg := strings.Split(string(line), ".")
	forged := []byte("crlverify-index-v1\n" + seg[0] + "." + b64.EncodeToString(pb) + "." + seg[2] + "\n")
	wantErr(t, read(forged, nil), snapshot.ErrBadSignature, "changed serial, old signature")

	for name, edit := range map[string]func(p map[string]any){
		"file name with a path": func(p map[string]any) { p["full"].(map[string]any)["name"] = "../../etc/passwd" },
		"delta to another serial": func(p map[string]any) {
			p["deltas"].([]any)[0].(map[string]any)["serial"] = jsonNum(3)
		},
		"full newer than the index": func(p map[string]any) { p["serial"] = jsonNum(1) },
		"zero length":               func(p map[string]any) { p["full"].(map[string]any)["length"] = jsonNum(0) },
	} {
		p := payload()
		edit(p)
		wantErr(t, read(sign(p, "crlverify-index+jws"), nil), snapshot.ErrMalformed, name)
	}
	p = payload()
	p["crit"] = []string{"mirrors"}
	wantErr(t, read(sign(p, "crlverify-index+jws"), nil), snapshot.ErrUnsupportedVersion, "unknown critical index field")
	p = payload()
	p["v"] = jsonNum(2)
	wantErr(t, read(sign(p, "crlverify-index+jws"), nil), snapshot.ErrUnsupportedVersion, "index version 2")
	err := read(file, &snapshot.Limits{MaxBodyBytes: 100, MaxHeaderBytes: 100})
	wantErr(t, err, snapshot.ErrTooLarge, "file length above the limits")
	if err := read(file, nil); err != nil {
		t.Fatal(err)
	}
}

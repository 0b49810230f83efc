package snapshot_test

import (
	"bytes"
	"cmp"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/snapshot/internal/golden"
)

// randomEntries returns n entries with random keys, times anywhere in the
// int64 range or near now, every reason code and some suspensions.
func randomEntries(rng *rand.Rand, n int) []crl.Entry {
	m := make(map[crl.Key]bool, n)
	es := make([]crl.Entry, 0, n)
	for len(es) < n {
		k := crl.Key(rng.Uint64())
		if m[k] {
			continue
		}
		m[k] = true
		e := crl.Entry{Key: k, Reason: crl.Reason(rng.IntN(int(crl.MaxReason) + 1))}
		switch rng.IntN(10) {
		case 0:
			e.RevokedAt = int64(rng.Uint64())
		default:
			e.RevokedAt = fixedTime.Unix() - rng.Int64N(3*365*86400)
		}
		// room is how far after RevokedAt a suspension may end.
		if room := uint64(math.MaxInt64) - uint64(e.RevokedAt); rng.IntN(20) == 0 && room > 1 {
			e.SuspendedUntil = e.RevokedAt + 1 + int64(rng.Uint64N(min(room-1, 365*86400)))
			if e.SuspendedUntil == 0 {
				e.SuspendedUntil = 1
			}
		}
		es = append(es, e)
	}
	slices.SortFunc(es, func(a, b crl.Entry) int { return cmp.Compare(a.Key, b.Key) })
	return es
}

func randomKeys(rng *rand.Rand, n int, avoid []crl.Entry) []crl.Key {
	m := map[crl.Key]bool{}
	for _, e := range avoid {
		m[e.Key] = true
	}
	ks := make([]crl.Key, 0, n)
	for len(ks) < n {
		k := crl.Key(rng.Uint64())
		if !m[k] {
			m[k] = true
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

func TestRoundTripFull(t *testing.T) {
	keys := loadKeys(t)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{0, 1, 2, 4095, 4096, 4097, 8192, 100_000} {
		for _, key := range []struct {
			name string
			alg  string
		}{{"EdDSA", snapshot.AlgEdDSA}, {"ES256", snapshot.AlgES256}} {
			if n == 100_000 && key.alg == snapshot.AlgES256 {
				continue
			}
			es := randomEntries(rng, n)
			k := keys.ed
			if key.alg == snapshot.AlgES256 {
				k = keys.es
			}
			file, h := build(t, snap{kind: snapshot.KindFull, upserts: es, key: k})
			d := mustDecode(t, file, keys.trusted)
			if !slices.Equal(d.upserts, es) || len(d.removals) != 0 {
				t.Fatalf("n=%d %s: decoded %d entries and %d removals, want the %d written", n, key.name, len(d.upserts), len(d.removals), n)
			}
			if d.h.Algorithm != key.alg || d.h.KeyID != k.KeyID() {
				t.Errorf("n=%d: header says alg %q kid %q, want %q %q", n, d.h.Algorithm, d.h.KeyID, key.alg, k.KeyID())
			}
			if d.h.Serial != h.Serial || d.h.ListCount != uint64(n) || d.h.BodyDigest != h.BodyDigest ||
				!d.h.ThisUpdate.Equal(h.ThisUpdate) || !d.h.NextUpdate.Equal(h.NextUpdate) ||
				d.h.Publisher != h.Publisher || !slices.Equal(d.h.Issuers, h.Issuers) {
				t.Errorf("n=%d: header read back as %+v, wrote %+v", n, d.h, h)
			}
		}
	}
}

func TestRoundTripDelta(t *testing.T) {
	keys := loadKeys(t)
	rng := rand.New(rand.NewPCG(2, 2))
	for _, c := range []struct{ ups, rems int }{{0, 0}, {1, 0}, {0, 1}, {1, 1}, {4096, 4096}, {4097, 4097}, {3, 10_000}, {10_000, 3}} {
		ups := randomEntries(rng, c.ups)
		rems := randomKeys(rng, c.rems, ups)
		file, _ := build(t, snap{kind: snapshot.KindDelta, upserts: ups, removals: rems, key: keys.ed})
		d := mustDecode(t, file, keys.trusted)
		if !slices.Equal(d.upserts, ups) || !slices.Equal(d.removals, rems) {
			t.Fatalf("%+v: decoded %d upserts, %d removals", c, len(d.upserts), len(d.removals))
		}
		if d.h.Kind != snapshot.KindDelta || d.h.BaseSerial != 5 || d.h.Removals != uint64(c.rems) {
			t.Errorf("%+v: header %+v", c, d.h)
		}
	}
}

// TestExtremes round-trips the edges of every field in one block: keys 0
// and 2^64-1, gaps of 0 and of nearly 2^64 (the Rice escape), times at
// both ends of int64, every reason code, the longest suspensions.
func TestExtremes(t *testing.T) {
	keys := loadKeys(t)
	es := []crl.Entry{
		{Key: 0, RevokedAt: math.MinInt64, Reason: 0},
		{Key: 1, RevokedAt: math.MinInt64, Reason: 15, SuspendedUntil: math.MaxInt64},
		{Key: 2, RevokedAt: -1, Reason: 1, SuspendedUntil: 1},
		{Key: 3, RevokedAt: 0, Reason: 7, SuspendedUntil: math.MaxInt64},
		{Key: 1 << 40, RevokedAt: 1, Reason: 14},
		{Key: math.MaxUint64 - 1, RevokedAt: math.MaxInt64 - 1, Reason: 13, SuspendedUntil: math.MaxInt64},
		{Key: math.MaxUint64, RevokedAt: math.MaxInt64, Reason: crl.ReasonCertificateHold},
	}
	for r := crl.Reason(0); r <= crl.MaxReason; r++ {
		es = append(es, crl.Entry{Key: crl.Key(1<<41 + uint64(r)), RevokedAt: 1_700_000_000, Reason: r})
	}
	slices.SortFunc(es, func(a, b crl.Entry) int { return cmp.Compare(a.Key, b.Key) })
	rems := []crl.Key{0, 1, math.MaxUint64}
	file, _ := build(t, snap{kind: snapshot.KindDelta, upserts: es, removals: rems, key: keys.ed})
	d := mustDecode(t, file, keys.trusted)
	if !slices.Equal(d.upserts, es) || !slices.Equal(d.removals, rems) {
		t.Fatalf("decoded\n%v\n%v\nwant\n%v\n%v", d.upserts, d.removals, es, rems)
	}
	// Two keys only: the gap between them is the largest there is.
	two := []crl.Entry{{Key: 0, RevokedAt: 5}, {Key: math.MaxUint64, RevokedAt: 5}}
	file, _ = build(t, snap{kind: snapshot.KindFull, upserts: two, key: keys.ed})
	if d := mustDecode(t, file, keys.trusted); !slices.Equal(d.upserts, two) {
		t.Fatalf("decoded %v, want %v", d.upserts, two)
	}
}

// TestDocExample checks the worked example of the package documentation.
func TestDocExample(t *testing.T) {
	var b bytes.Buffer
	w := snapshot.NewBodyWriter(&b)
	must(t, w.Upsert(crl.Entry{Key: 0x1000000000000000, RevokedAt: 1767225600, Reason: crl.ReasonSuperseded}))
	must(t, w.Upsert(crl.Entry{Key: 0x1000000000000100, RevokedAt: 1767225700, Reason: crl.ReasonDataError, SuspendedUntil: 1767225700 + 3600}))
	must(t, w.Remove(0x2000000000000000))
	info, err := w.Close()
	must(t, err)
	const want = "02 10 00 00 00 00 00 00 00 07 80 e4 ad 95 0d 07 04 01 0c bf 80 c8 96 f0 78 00 01 20 00 00 00 00 00 00 00 00 00"
	if got := strings.TrimSpace(hexSpaced(b.Bytes())); got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	if got := info.Digest.String(); got != "sha256:78b627733a29efc0e19e097b0b812f43d1bffbf46bb3d1c02fc0e715e460413b" || info.Length != 37 {
		t.Errorf("digest %s length %d", got, info.Length)
	}
	var empty bytes.Buffer
	info, err = snapshot.NewBodyWriter(&empty).Close()
	must(t, err)
	if !bytes.Equal(empty.Bytes(), []byte{0, 0}) || info.Length != 2 {
		t.Errorf("empty body is % x", empty.Bytes())
	}
}

func hexSpaced(b []byte) string {
	var s strings.Builder
	for i, c := range b {
		if i > 0 {
			s.WriteByte(' ')
		}
		s.WriteString(strings.ToLower(string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15])))
	}
	return s.String()
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestListDigestAfterDelta applies the golden delta to the golden list at
// serial 1 and checks that re-encoding the result gives the delta's
// list_digest: the encoding is canonical.
func TestListDigestAfterDelta(t *testing.T) {
	keys := loadKeys(t)
	file := readTestdata(t, "golden/"+snapshot.DeltaName(1, 2))
	d := mustDecode(t, file, keys.trusted)
	list := map[crl.Key]crl.Entry{}
	for _, e := range golden.List1() {
		list[e.Key] = e
	}
	for _, k := range d.removals {
		delete(list, k)
	}
	for _, e := range d.upserts {
		list[e.Key] = e
	}
	var es []crl.Entry
	for _, e := range list {
		es = append(es, e)
	}
	slices.SortFunc(es, func(a, b crl.Entry) int { return cmp.Compare(a.Key, b.Key) })
	bw := snapshot.NewBodyWriter(io.Discard)
	for _, e := range es {
		must(t, bw.Upsert(e))
	}
	info, err := bw.Close()
	must(t, err)
	if info.Digest != d.h.ListDigest || uint64(len(es)) != d.h.ListCount {
		t.Fatalf("re-encoded list has digest %v and %d entries; the delta says %v and %d", info.Digest, len(es), d.h.ListDigest, d.h.ListCount)
	}
	if !slices.Equal(es, golden.List2()) {
		t.Fatal("applying the delta did not give list 2")
	}
}

func TestWriterRefuses(t *testing.T) {
	e := func(k crl.Key) crl.Entry { return crl.Entry{Key: k, RevokedAt: 100} }
	for _, c := range []struct {
		name string
		do   func(w *snapshot.BodyWriter) error
	}{
		{"keys out of order", func(w *snapshot.BodyWriter) error { w.Upsert(e(5)); return w.Upsert(e(4)) }},
		{"same key twice", func(w *snapshot.BodyWriter) error { w.Upsert(e(5)); return w.Upsert(e(5)) }},
		{"reason above 15", func(w *snapshot.BodyWriter) error {
			return w.Upsert(crl.Entry{Key: 1, Reason: 16})
		}},
		{"suspension ends before it starts", func(w *snapshot.BodyWriter) error {
			return w.Upsert(crl.Entry{Key: 1, RevokedAt: 10, SuspendedUntil: 10})
		}},
		{"upsert after remove", func(w *snapshot.BodyWriter) error { w.Remove(1); return w.Upsert(e(2)) }},
		{"removals out of order", func(w *snapshot.BodyWriter) error { w.Remove(2); return w.Remove(1) }},
		{"upsert after close", func(w *snapshot.BodyWriter) error { w.Close(); return w.Upsert(e(1)) }},
	} {
		if err := c.do(snapshot.NewBodyWriter(io.Discard)); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}

	keys := loadKeys(t)
	var body bytes.Buffer
	bw := snapshot.NewBodyWriter(&body)
	must(t, bw.Upsert(e(1)))
	info, err := bw.Close()
	must(t, err)
	h := golden.FullHeader(1, fixedTime, info)
	other := append([]byte{}, body.Bytes()...)
	other[len(other)-3] ^= 1
	err = snapshot.WriteSnapshot(io.Discard, h, keys.ed, bytes.NewReader(other))
	wantErr(t, err, snapshot.ErrDigestMismatch, "writing a body that differs from the header")
	err = snapshot.WriteSnapshot(io.Discard, h, keys.ed, bytes.NewReader(body.Bytes()[:3]))
	wantErr(t, err, snapshot.ErrDigestMismatch, "writing a short body")

	for name, edit := range map[string]func(h *snapshot.Header){
		"serial 0":             func(h *snapshot.Header) { h.Serial = 0 },
		"serial above 2^53-1":  func(h *snapshot.Header) { h.Serial = 1 << 53 },
		"next before this":     func(h *snapshot.Header) { h.NextUpdate = h.ThisUpdate },
		"no publisher":         func(h *snapshot.Header) { h.Publisher = "" },
		"unsorted issuers":     func(h *snapshot.Header) { h.Issuers = []string{"b", "a"} },
		"unknown kind":         func(h *snapshot.Header) { h.Kind = "partial" },
		"full with removals":   func(h *snapshot.Header) { h.Removals = 1 },
		"delta without base":   func(h *snapshot.Header) { h.Kind = snapshot.KindDelta },
		"list digest mismatch": func(h *snapshot.Header) { h.ListDigest[0] ^= 1 },
	} {
		hh := *h
		edit(&hh)
		if err := snapshot.WriteSnapshot(io.Discard, &hh, keys.ed, bytes.NewReader(body.Bytes())); err == nil {
			t.Errorf("%s: written", name)
		}
	}
	pub, err := snapshot.PublicSet(keys.ed)
	must(t, err)
	pk, _ := pub.Key(0)
	if err := snapshot.WriteSnapshot(io.Discard, h, pk, bytes.NewReader(body.Bytes())); err == nil {
		t.Error("signed with a public key")
	}
}

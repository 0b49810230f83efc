package store

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
)

// testPub is a publisher: it keeps a list, and publishes full and delta
// snapshots of it, signed with a real key.
type testPub struct {
	tb       testing.TB
	key      jwk.Key
	keys     snapshot.Keys
	name     string
	issuers  []string
	list     map[crl.Key]crl.Entry
	serial   uint64
	digest   snapshot.Digest
	validity time.Duration
	ups      map[crl.Key]crl.Entry
	rems     map[crl.Key]bool
}

func newTestPub(tb testing.TB, name string, issuers ...string) *testPub {
	tb.Helper()
	key, err := snapshot.GenerateKey("")
	if err != nil {
		tb.Fatal(err)
	}
	set, err := snapshot.PublicSet(key)
	if err != nil {
		tb.Fatal(err)
	}
	return &testPub{tb: tb, key: key, keys: snapshot.KeysFromSet(set), name: name, issuers: issuers,
		list: map[crl.Key]crl.Entry{}, validity: 24 * time.Hour,
		ups: map[crl.Key]crl.Entry{}, rems: map[crl.Key]bool{}}
}

// revoke revokes (issuer, id) in the next publication.
func (p *testPub) revoke(issuer, id string, at time.Time, reason crl.Reason, until time.Time) crl.Key {
	k := crl.KeyOf(issuer, id)
	e := crl.Entry{Key: k, RevokedAt: at.Unix(), Reason: reason}
	if !until.IsZero() {
		e.SuspendedUntil = until.Unix()
	}
	p.upsert(e)
	return k
}

func (p *testPub) upsert(e crl.Entry) {
	p.ups[e.Key] = e
	delete(p.rems, e.Key)
}

// unrevoke removes (issuer, id) from the next publication.
func (p *testPub) unrevoke(issuer, id string) { p.remove(crl.KeyOf(issuer, id)) }

func (p *testPub) remove(k crl.Key) {
	delete(p.ups, k)
	if _, ok := p.list[k]; ok {
		p.rems[k] = true
	}
}

func sortedEntries(m map[crl.Key]crl.Entry) []crl.Entry {
	return slices.SortedFunc(maps.Values(m), func(a, b crl.Entry) int { return cmp.Compare(a.Key, b.Key) })
}

func encodeBody(tb testing.TB, ups []crl.Entry, rems []crl.Key) ([]byte, snapshot.BodyInfo) {
	tb.Helper()
	var buf bytes.Buffer
	w := snapshot.NewBodyWriter(&buf)
	for _, e := range ups {
		if err := w.Upsert(e); err != nil {
			tb.Fatal(err)
		}
	}
	for _, k := range rems {
		if err := w.Remove(k); err != nil {
			tb.Fatal(err)
		}
	}
	info, err := w.Close()
	if err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes(), info
}

func (p *testPub) sign(h *snapshot.Header, body []byte) []byte {
	p.tb.Helper()
	var out bytes.Buffer
	if err := snapshot.WriteSnapshot(&out, h, p.key, bytes.NewReader(body)); err != nil {
		p.tb.Fatal(err)
	}
	return out.Bytes()
}

// pubFiles is one publication: the full snapshot and, after the first, the
// delta from the previous serial.
type pubFiles struct {
	Serial      uint64
	Full, Delta []byte
	Count       int
}

// publish makes the pending changes the next serial, made at this.
func (p *testPub) publish(this time.Time) pubFiles {
	p.tb.Helper()
	prevSerial, prevDigest := p.serial, p.digest
	ups := sortedEntries(p.ups)
	rems := slices.Sorted(maps.Keys(p.rems))
	for _, e := range ups {
		p.list[e.Key] = e
	}
	for _, k := range rems {
		delete(p.list, k)
	}
	p.ups, p.rems = map[crl.Key]crl.Entry{}, map[crl.Key]bool{}
	body, info := encodeBody(p.tb, sortedEntries(p.list), nil)
	p.serial++
	p.digest = info.Digest
	h := p.header(this, info, snapshot.KindFull)
	files := pubFiles{Serial: p.serial, Full: p.sign(h, body), Count: len(p.list)}
	if prevSerial > 0 {
		dbody, dinfo := encodeBody(p.tb, ups, rems)
		dh := p.header(this, dinfo, snapshot.KindDelta)
		dh.BaseSerial, dh.BaseDigest = prevSerial, prevDigest
		files.Delta = p.sign(dh, dbody)
	}
	return files
}

func (p *testPub) header(this time.Time, info snapshot.BodyInfo, kind snapshot.Kind) *snapshot.Header {
	return &snapshot.Header{
		Publisher: p.name, Issuers: p.issuers, Serial: p.serial,
		ThisUpdate: this, NextUpdate: this.Add(p.validity), Kind: kind,
		ListDigest: p.digest, ListCount: uint64(len(p.list)),
		Upserts: info.Upserts, Removals: info.Removals, BodyLength: info.Length, BodyDigest: info.Digest,
	}
}

// assertList checks that the store holds exactly p's published list.
func assertList(tb testing.TB, s *Store, p *testPub) {
	tb.Helper()
	l, ok := s.List(p.name)
	if !ok {
		tb.Fatalf("no list of %s", p.name)
	}
	if l.Serial != p.serial || l.Count != uint64(len(p.list)) || l.ListDigest != p.digest {
		tb.Fatalf("stored serial %d count %d, published serial %d count %d", l.Serial, l.Count, p.serial, len(p.list))
	}
	var got []crl.Entry
	if err := s.Entries(p.name, func(e crl.Entry) error { got = append(got, e); return nil }); err != nil {
		tb.Fatal(err)
	}
	if want := sortedEntries(p.list); !slices.Equal(got, want) {
		tb.Fatalf("stored entries differ: %d stored, %d published", len(got), len(want))
	}
	// every key is found by a check, through the Bloom filter
	v := s.view.Load()
	for _, e := range got {
		if lv := v.pubs[p.name]; !lv.filter.has(e.Key) {
			tb.Fatalf("key %v missing from the Bloom filter", e.Key)
		}
	}
}

func mustOpen(tb testing.TB, path string, opts *Options) *Store {
	tb.Helper()
	s, err := Open(path, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func certID(i int) string { return fmt.Sprintf("cert-%08d", i) }

// testDB returns the bbolt handle of the file s reads.
func testDB(s *Store) *bolt.DB { return s.view.Load().f.db }

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

package crlsync

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

const issuer = "did:web:health.example"

// testPub publishes a list into a publication directory: full snapshots,
// deltas from the last few serials, and a signed index.
type testPub struct {
	tb       testing.TB
	dir      string
	key      jwk.Key
	keys     snapshot.Keys
	name     string
	issuers  []string
	list     map[crl.Key]crl.Entry
	history  map[uint64]map[crl.Key]crl.Entry
	digests  map[uint64]snapshot.Digest
	serial   uint64
	validity time.Duration
	files    map[string]snapshot.IndexFile
	index    *snapshot.Index
}

func newTestPub(tb testing.TB) *testPub {
	tb.Helper()
	key, err := snapshot.GenerateKey("")
	if err != nil {
		tb.Fatal(err)
	}
	set, err := snapshot.PublicSet(key)
	if err != nil {
		tb.Fatal(err)
	}
	return &testPub{tb: tb, dir: tb.TempDir(), key: key, keys: snapshot.KeysFromSet(set), name: "ministry", issuers: []string{issuer},
		list: map[crl.Key]crl.Entry{}, history: map[uint64]map[crl.Key]crl.Entry{},
		digests: map[uint64]snapshot.Digest{}, validity: 24 * time.Hour, files: map[string]snapshot.IndexFile{}}
}

func (p *testPub) revoke(id string) crl.Key { return p.revokeOf(issuer, id) }

// revokeOf revokes the certificate id of issuer is.
func (p *testPub) revokeOf(is, id string) crl.Key {
	k := crl.KeyOf(is, id)
	p.list[k] = crl.Entry{Key: k, RevokedAt: t0.Unix(), Reason: crl.ReasonDataError}
	return k
}

func sorted(m map[crl.Key]crl.Entry) []crl.Entry {
	return slices.SortedFunc(maps.Values(m), func(a, b crl.Entry) int { return cmp.Compare(a.Key, b.Key) })
}

func (p *testPub) body(ups []crl.Entry, rems []crl.Key) ([]byte, snapshot.BodyInfo) {
	var buf bytes.Buffer
	w := snapshot.NewBodyWriter(&buf)
	for _, e := range ups {
		if err := w.Upsert(e); err != nil {
			p.tb.Fatal(err)
		}
	}
	for _, k := range rems {
		if err := w.Remove(k); err != nil {
			p.tb.Fatal(err)
		}
	}
	info, err := w.Close()
	if err != nil {
		p.tb.Fatal(err)
	}
	return buf.Bytes(), info
}

func (p *testPub) write(name string, h *snapshot.Header, body []byte) snapshot.IndexFile {
	var out bytes.Buffer
	if err := snapshot.WriteSnapshot(&out, h, p.key, bytes.NewReader(body)); err != nil {
		p.tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, name), out.Bytes(), 0o644); err != nil {
		p.tb.Fatal(err)
	}
	f := snapshot.IndexFile{Name: name, Kind: h.Kind, Serial: h.Serial, BaseSerial: h.BaseSerial, Length: int64(out.Len()), Digest: sha256.Sum256(out.Bytes())}
	p.files[name] = f
	return f
}

// publish publishes the current list as the next serial, made at this.
func (p *testPub) publish(this time.Time) {
	p.tb.Helper()
	p.serial++
	s := p.serial
	fbody, finfo := p.body(sorted(p.list), nil)
	p.digests[s] = finfo.Digest
	p.history[s] = maps.Clone(p.list)
	hdr := func(info snapshot.BodyInfo, kind snapshot.Kind) *snapshot.Header {
		return &snapshot.Header{Publisher: p.name, Issuers: p.issuers, Serial: s,
			ThisUpdate: this, NextUpdate: this.Add(p.validity), Kind: kind,
			ListDigest: finfo.Digest, ListCount: uint64(len(p.list)),
			Upserts: info.Upserts, Removals: info.Removals, BodyLength: info.Length, BodyDigest: info.Digest}
	}
	ix := &snapshot.Index{Publisher: p.name, Issuers: p.issuers, Serial: s, ThisUpdate: this, NextUpdate: this.Add(p.validity)}
	ix.Full = p.write(snapshot.FullName(s), hdr(finfo, snapshot.KindFull), fbody)
	for base := s - 1; base >= 1 && base+3 >= s; base-- {
		old := p.history[base]
		var ups []crl.Entry
		var rems []crl.Key
		for _, e := range sorted(p.list) {
			if o, ok := old[e.Key]; !ok || o != e {
				ups = append(ups, e)
			}
		}
		for _, e := range sorted(old) {
			if _, ok := p.list[e.Key]; !ok {
				rems = append(rems, e.Key)
			}
		}
		dbody, dinfo := p.body(ups, rems)
		h := hdr(dinfo, snapshot.KindDelta)
		h.BaseSerial, h.BaseDigest = base, p.digests[base]
		ix.Deltas = append(ix.Deltas, p.write(snapshot.DeltaName(base, s), h, dbody))
	}
	p.index = ix
	p.writeIndex(ix, p.key)
}

func (p *testPub) writeIndex(ix *snapshot.Index, key jwk.Key) {
	var out bytes.Buffer
	if err := snapshot.WriteIndex(&out, ix, key); err != nil {
		p.tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, snapshot.IndexName), out.Bytes(), 0o644); err != nil {
		p.tb.Fatal(err)
	}
}

func (p *testPub) read(name string) []byte {
	b, err := os.ReadFile(filepath.Join(p.dir, name))
	if err != nil {
		p.tb.Fatal(err)
	}
	return b
}

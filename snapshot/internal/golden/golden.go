// Package golden builds the snapshot package's golden files: fixed keys
// derived from fixed seeds, two small lists, and the full snapshot, delta
// and index files of a tiny publication directory. The files are
// committed under snapshot/testdata; `go generate ./snapshot` rewrites
// them and the golden test checks that encoding still reproduces them.
package golden

import (
	"bytes"
	"cmp"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// File names under snapshot/testdata.
const (
	EdDSAKeyFile = "golden-eddsa.jwk" // private Ed25519 key (test only)
	ES256KeyFile = "golden-es256.jwk" // private P-256 key (test only)
	JWKSFile     = "golden-jwks.json" // the public set of both
	Dir          = "golden"           // publication directory, signed with the EdDSA key
	ES256Full    = "golden-es256-full.crl"
)

// Publisher, Issuer and the times of the golden lists.
const (
	Publisher = "Example Health Authority"
	Issuer    = "did:example:issuer"
)

// Times of serial 1 and 2; each next update is a day later.
var (
	Time1 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	Time2 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
)

// Keys derives the fixed golden keys: Ed25519 from the seed
// SHA-256("crlverify golden EdDSA key"), P-256 with the private scalar
// SHA-256("crlverify golden ES256 key").
func Keys() (eddsa, es256 jwk.Key, err error) {
	seed := sha256.Sum256([]byte("crlverify golden EdDSA key"))
	eddsa, err = snapshot.KeyFromRaw(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		return nil, nil, err
	}
	d := sha256.Sum256([]byte("crlverify golden ES256 key"))
	ec, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:])
	if err != nil {
		return nil, nil, err
	}
	es256, err = snapshot.KeyFromRaw(ec)
	return eddsa, es256, err
}

func at(s string) int64 {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.Unix()
}

func entry(id string, revoked string, r crl.Reason, until string) crl.Entry {
	e := crl.Entry{Key: crl.KeyOf(Issuer, id), RevokedAt: at(revoked), Reason: r}
	if until != "" {
		e.SuspendedUntil = at(until)
	}
	return e
}

// List1 is the list at serial 1, sorted by key.
func List1() []crl.Entry {
	return sortByKey([]crl.Entry{
		entry("CERT-0001", "2025-03-14T10:20:00Z", crl.ReasonDataError, ""),
		entry("CERT-0002", "2025-06-01T08:00:00Z", crl.ReasonSuperseded, ""),
		entry("CERT-0003", "2026-01-09T17:45:12Z", crl.ReasonFaultyBatch, ""),
		entry("CERT-0004", "2026-11-01T00:00:00Z", crl.ReasonCertificateHold, "2026-12-01T00:00:00Z"),
		entry("CERT-0005", "2026-02-28T23:59:59Z", crl.ReasonKeyCompromise, ""),
		entry("CERT-0006", "2026-11-20T12:00:00Z", crl.ReasonCertificateHold, "2026-11-27T12:00:00Z"),
	})
}

// Changes2 turns List1 into List2: CERT-0004's hold is lifted and CERT-0002
// is withdrawn (removals); CERT-0003 gets a new reason; CERT-0007..9 are new.
func Changes2() (upserts []crl.Entry, removals []crl.Key) {
	upserts = sortByKey([]crl.Entry{
		entry("CERT-0003", "2026-01-09T17:45:12Z", crl.ReasonTampering, ""),
		entry("CERT-0007", "2026-11-21T10:00:00Z", crl.ReasonDataError, ""),
		entry("CERT-0008", "2026-11-21T11:30:00Z", crl.ReasonUnspecified, ""),
		entry("CERT-0009", "2026-11-21T12:00:00Z", crl.ReasonCertificateHold, "2026-12-21T12:00:00Z"),
	})
	removals = []crl.Key{crl.KeyOf(Issuer, "CERT-0004"), crl.KeyOf(Issuer, "CERT-0002")}
	if removals[0] > removals[1] {
		removals[0], removals[1] = removals[1], removals[0]
	}
	return upserts, removals
}

// List2 is the list at serial 2.
func List2() []crl.Entry {
	ups, rems := Changes2()
	m := map[crl.Key]crl.Entry{}
	for _, e := range List1() {
		m[e.Key] = e
	}
	for _, k := range rems {
		delete(m, k)
	}
	for _, e := range ups {
		m[e.Key] = e
	}
	var es []crl.Entry
	for _, e := range m {
		es = append(es, e)
	}
	return sortByKey(es)
}

func sortByKey(es []crl.Entry) []crl.Entry {
	slices.SortFunc(es, func(a, b crl.Entry) int { return cmp.Compare(a.Key, b.Key) })
	return es
}

// Body encodes upserts then removals.
func Body(upserts []crl.Entry, removals []crl.Key) ([]byte, snapshot.BodyInfo, error) {
	var b bytes.Buffer
	bw := snapshot.NewBodyWriter(&b)
	for _, e := range upserts {
		if err := bw.Upsert(e); err != nil {
			return nil, snapshot.BodyInfo{}, err
		}
	}
	for _, k := range removals {
		if err := bw.Remove(k); err != nil {
			return nil, snapshot.BodyInfo{}, err
		}
	}
	info, err := bw.Close()
	return b.Bytes(), info, err
}

// FullHeader returns the header of a full snapshot of a list with body info.
func FullHeader(serial uint64, this time.Time, info snapshot.BodyInfo) *snapshot.Header {
	return &snapshot.Header{
		Version: snapshot.Version, Publisher: Publisher, Issuers: []string{Issuer},
		Serial: serial, ThisUpdate: this, NextUpdate: this.Add(24 * time.Hour),
		Kind: snapshot.KindFull, ListDigest: info.Digest, ListCount: info.Upserts,
		Upserts: info.Upserts, BodyLength: info.Length, BodyDigest: info.Digest,
	}
}

// Build returns every golden file by its path under snapshot/testdata.
func Build() (map[string][]byte, error) {
	ed, es, err := Keys()
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for name, k := range map[string]jwk.Key{EdDSAKeyFile: ed, ES256KeyFile: es} {
		b, err := json.MarshalIndent(k, "", "  ")
		if err != nil {
			return nil, err
		}
		files[name] = append(b, '\n')
	}
	set, err := snapshot.PublicSet(ed, es)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return nil, err
	}
	files[JWKSFile] = append(b, '\n')

	_, info1, err := Body(List1(), nil)
	if err != nil {
		return nil, err
	}
	body2, info2, err := Body(List2(), nil)
	if err != nil {
		return nil, err
	}
	ups, rems := Changes2()
	dbody, dinfo, err := Body(ups, rems)
	if err != nil {
		return nil, err
	}
	h2 := FullHeader(2, Time2, info2)
	full, err := write(h2, ed, body2)
	if err != nil {
		return nil, err
	}
	files[Dir+"/"+snapshot.FullName(2)] = full

	dh := FullHeader(2, Time2, info2)
	dh.Kind, dh.BaseSerial, dh.BaseDigest = snapshot.KindDelta, 1, info1.Digest
	dh.Upserts, dh.Removals, dh.BodyLength, dh.BodyDigest = dinfo.Upserts, dinfo.Removals, dinfo.Length, dinfo.Digest
	delta, err := write(dh, ed, dbody)
	if err != nil {
		return nil, err
	}
	files[Dir+"/"+snapshot.DeltaName(1, 2)] = delta

	ix := &snapshot.Index{
		Publisher: Publisher, Issuers: []string{Issuer}, Serial: 2,
		ThisUpdate: Time2, NextUpdate: Time2.Add(24 * time.Hour),
		Full:   fileEntry(snapshot.FullName(2), snapshot.KindFull, 2, 0, full),
		Deltas: []snapshot.IndexFile{fileEntry(snapshot.DeltaName(1, 2), snapshot.KindDelta, 2, 1, delta)},
	}
	var ib bytes.Buffer
	if err := snapshot.WriteIndex(&ib, ix, ed); err != nil {
		return nil, err
	}
	files[Dir+"/"+snapshot.IndexName] = ib.Bytes()

	esFull, err := write(FullHeader(2, Time2, info2), es, body2)
	if err != nil {
		return nil, err
	}
	files[ES256Full] = esFull
	return files, nil
}

func write(h *snapshot.Header, key jwk.Key, body []byte) ([]byte, error) {
	var b bytes.Buffer
	if err := snapshot.WriteSnapshot(&b, h, key, bytes.NewReader(body)); err != nil {
		return nil, fmt.Errorf("golden: %w", err)
	}
	return b.Bytes(), nil
}

func fileEntry(name string, kind snapshot.Kind, serial, base uint64, b []byte) snapshot.IndexFile {
	return snapshot.IndexFile{Name: name, Kind: kind, Serial: serial, BaseSerial: base, Length: int64(len(b)), Digest: sha256.Sum256(b)}
}

// SameButSignature reports whether two snapshot or index files are equal
// except for the signature part of their JWS line. ES256 signatures are
// randomized, so ES256 golden files are compared this way.
func SameButSignature(a, b []byte) bool {
	strip := func(f []byte) []byte {
		i := bytes.IndexByte(f, '\n')
		if i < 0 {
			return nil
		}
		j := bytes.IndexByte(f[i+1:], '\n')
		if j < 0 {
			return nil
		}
		line := f[i+1 : i+1+j]
		k := bytes.LastIndexByte(line, '.')
		if k < 0 {
			return nil
		}
		out := append([]byte{}, f[:i+1+k]...)
		return append(out, f[i+1+j:]...)
	}
	sa, sb := strip(a), strip(b)
	return sa != nil && bytes.Equal(sa, sb)
}

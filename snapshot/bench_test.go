package snapshot_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math"
	"math/big"
	mrand "math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// The benchmarks below are the size and speed report of `make bench`.
// Lists are realistic: keys from crl.KeyOf over synthetic certificate ids,
// revoked-at spread over two years, reasons mostly dataError and
// superseded, about 1% suspensions (see data_test.go).
//
//	BenchmarkSize/entries=1000000/format=snapshot   bytes/entry of our full snapshot file
//	BenchmarkSize/entries=1000000/format=x509-crl   the same entries as an RFC 5280 CRL (crypto/x509), plain and gzipped
//	BenchmarkDeltaSize/changes=10000                a delta against a 1M list: bytes per changed entry, header bytes
//	BenchmarkEncode, BenchmarkDecode                time per entry for 1M entries (and 10M for decode)

// benchKey is a signing key for the benchmarks.
func benchKey(b *testing.B) jwk.Key {
	b.Helper()
	k, err := snapshot.GenerateKey(snapshot.AlgEdDSA)
	if err != nil {
		b.Fatal(err)
	}
	return k
}

// countWriter counts what is written to it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func encodeBody(tb testing.TB, w io.Writer, es []crl.Entry, removals []crl.Key) snapshot.BodyInfo {
	tb.Helper()
	bw := snapshot.NewBodyWriter(w)
	for _, e := range es {
		if err := bw.Upsert(e); err != nil {
			tb.Fatal(err)
		}
	}
	for _, k := range removals {
		if err := bw.Remove(k); err != nil {
			tb.Fatal(err)
		}
	}
	info, err := bw.Close()
	if err != nil {
		tb.Fatal(err)
	}
	return info
}

func benchHeader(info snapshot.BodyInfo, serial uint64) *snapshot.Header {
	return &snapshot.Header{
		Publisher: "Example Health Authority", Issuers: []string{benchIssuer},
		Serial: serial, ThisUpdate: benchNow, NextUpdate: benchNow.Add(24 * time.Hour),
		Kind: snapshot.KindFull, ListDigest: info.Digest, ListCount: info.Upserts,
		Upserts: info.Upserts, BodyLength: info.Length, BodyDigest: info.Digest,
	}
}

// fullFile returns a whole signed full snapshot file of es.
func fullFile(tb testing.TB, key jwk.Key, es []crl.Entry) []byte {
	tb.Helper()
	var body bytes.Buffer
	info := encodeBody(tb, &body, es, nil)
	var file bytes.Buffer
	file.Grow(body.Len() + 2048)
	if err := snapshot.WriteSnapshot(&file, benchHeader(info, 1), key, &body); err != nil {
		tb.Fatal(err)
	}
	return file.Bytes()
}

func gzipSize(tb testing.TB, b []byte) int {
	var c countWriter
	zw, _ := gzip.NewWriterLevel(&c, gzip.BestCompression)
	if _, err := zw.Write(b); err != nil {
		tb.Fatal(err)
	}
	zw.Close()
	return int(c.n)
}

// x509CRL builds the same entries as an RFC 5280 CRL: serial = the 8-byte
// key, revocationDate, and the reasonCode extension (omitted by crypto/x509
// for code 0). A suspension end has no X.509 form, so the peer carries
// less than the snapshot.
func x509CRL(tb testing.TB, es []crl.Entry) []byte {
	tb.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Example Health Authority CRL signer"},
		NotBefore: benchNow.Add(-time.Hour), NotAfter: benchNow.AddDate(5, 0, 0),
		KeyUsage: x509.KeyUsageCRLSign | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
		SubjectKeyId: []byte{1, 2, 3, 4},
	}
	der, err := x509.CreateCertificate(rand.Reader, ca, ca, &priv.PublicKey, priv)
	if err != nil {
		tb.Fatal(err)
	}
	ca, err = x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: benchNow, NextUpdate: benchNow.Add(24 * time.Hour),
		RevokedCertificateEntries: make([]x509.RevocationListEntry, len(es)),
	}
	for i, e := range es {
		kb := e.Key.Bytes()
		tmpl.RevokedCertificateEntries[i] = x509.RevocationListEntry{
			SerialNumber:   new(big.Int).SetBytes(kb[:]),
			RevocationTime: e.Revoked(),
			ReasonCode:     int(e.Reason),
		}
	}
	out, err := x509.CreateRevocationList(rand.Reader, tmpl, ca, priv)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// BenchmarkSize compares, for the same realistic 1M-entry list, our full
// snapshot with an RFC 5280 X.509 CRL. Each iteration encodes the file.
func BenchmarkSize(b *testing.B) {
	const n = 1_000_000
	es := realisticList(n)
	per := func(size int) float64 { return float64(size) / float64(len(es)) }
	b.Run("entries=1000000/format=snapshot", func(b *testing.B) {
		key := benchKey(b)
		var file []byte
		for b.Loop() {
			file = fullFile(b, key, es)
		}
		b.ReportMetric(per(len(file)), "bytes/entry")
		b.ReportMetric(per(gzipSize(b, file)), "gzip-bytes/entry")
		b.ReportMetric(float64(len(file))/1e6, "MB")
		// Keys are 64 bits: a certificate that is not in the list matches
		// one of 10M keys with probability 10M/2^64.
		b.ReportMetric(1e12*1e7/math.Exp2(64), "false-revoked/1e12-lookups@10M")
	})
	b.Run("entries=1000000/format=x509-crl", func(b *testing.B) {
		var der []byte
		for b.Loop() {
			der = x509CRL(b, es)
		}
		b.ReportMetric(per(len(der)), "bytes/entry")
		b.ReportMetric(per(gzipSize(b, der)), "gzip-bytes/entry")
		b.ReportMetric(float64(len(der))/1e6, "MB")
	})
}

// deltaChanges makes 10k changes to base: 5k new revocations, 2k changed
// entries (a new reason, or a suspension made permanent) and 3k removals
// (lifted suspensions and withdrawn revocations).
func deltaChanges(base []crl.Entry, seed uint64) (upserts []crl.Entry, removals []crl.Key) {
	rng := mrand.New(mrand.NewPCG(seed, 7))
	picked := map[crl.Key]bool{}
	for len(upserts) < 5000 {
		e := realisticEntry(rng, 10_000_000+rng.IntN(1<<30))
		if age := rng.Int64N(86400); e.SuspendedUntil != 0 {
			e.RevokedAt, e.SuspendedUntil = benchNow.Unix()-age, benchNow.Unix()-age+e.SuspendedUntil-e.RevokedAt
		} else {
			e.RevokedAt = benchNow.Unix() - age
		}
		if !picked[e.Key] {
			picked[e.Key] = true
			upserts = append(upserts, e)
		}
	}
	for len(upserts) < 7000 {
		e := base[rng.IntN(len(base))]
		if picked[e.Key] {
			continue
		}
		picked[e.Key] = true
		e.Reason = realisticReason(rng)
		e.SuspendedUntil = 0
		upserts = append(upserts, e)
	}
	for len(removals) < 3000 {
		e := base[rng.IntN(len(base))]
		if !picked[e.Key] {
			picked[e.Key] = true
			removals = append(removals, e.Key)
		}
	}
	upserts = sortEntries(upserts)
	slices.Sort(removals)
	return upserts, removals
}

// BenchmarkDeltaSize measures a delta of 10,000 changes against a 1M list.
func BenchmarkDeltaSize(b *testing.B) {
	es := realisticList(1_000_000)
	ups, rems := deltaChanges(es, 1)
	key := benchKey(b)
	var body bytes.Buffer
	var file bytes.Buffer
	var info snapshot.BodyInfo
	for b.Loop() {
		body.Reset()
		file.Reset()
		info = encodeBody(b, &body, ups, rems)
		h := benchHeader(info, 2)
		h.Kind, h.BaseSerial, h.BaseDigest = snapshot.KindDelta, 1, snapshot.Digest{1}
		h.ListDigest, h.ListCount, h.Removals = snapshot.Digest{2}, uint64(len(es)+5000-3000), info.Removals
		if err := snapshot.WriteSnapshot(&file, h, key, &body); err != nil {
			b.Fatal(err)
		}
	}
	changes := float64(len(ups) + len(rems))
	bodyLen := float64(info.Length)
	b.ReportMetric(bodyLen/changes, "body-bytes/change")
	b.ReportMetric(float64(file.Len())-bodyLen, "header-bytes")
	b.ReportMetric(float64(file.Len())/changes, "file-bytes/change")
}

// BenchmarkEncode encodes a 1M-entry body.
func BenchmarkEncode(b *testing.B) {
	es := realisticList(1_000_000)
	var c countWriter
	for b.Loop() {
		encodeBody(b, &c, es, nil)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(es)), "ns/entry")
}

func benchDecode(b *testing.B, n int) {
	key := benchKey(b)
	set, err := snapshot.PublicSet(key)
	if err != nil {
		b.Fatal(err)
	}
	file := fullFile(b, key, realisticList(n))
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		r := bufio.NewReader(bytes.NewReader(file))
		h, err := snapshot.ReadHeader(r, snapshot.KeysFromSet(set), nil)
		if err != nil {
			b.Fatal(err)
		}
		br := snapshot.NewBodyReader(r, h, nil)
		got := 0
		for {
			_, _, err := br.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			got++
		}
		if got != n {
			b.Fatalf("decoded %d of %d entries", got, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/entry")
}

// BenchmarkDecode reads and checks a whole 1M-entry snapshot.
func BenchmarkDecode(b *testing.B) { benchDecode(b, 1_000_000) }

// BenchmarkDecode10M reads and checks a whole 10M-entry snapshot.
func BenchmarkDecode10M(b *testing.B) { benchDecode(b, 10_000_000) }

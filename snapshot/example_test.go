package snapshot_test

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"time"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Example publishes a full snapshot of three revocations, signed with a
// fixed Ed25519 key, and reads it back as a verifier does: with only the
// public JWKS.
func Example() {
	// Publisher: the signing key (a JWK file, as `crlverify keygen` writes).
	kb, err := os.ReadFile("testdata/golden-eddsa.jwk")
	if err != nil {
		log.Fatal(err)
	}
	key, err := jwk.ParseKey(kb)
	if err != nil {
		log.Fatal(err)
	}

	const issuer = "did:example:issuer"
	at := func(s string) int64 { t, _ := time.Parse(time.RFC3339, s); return t.Unix() }
	entries := []crl.Entry{
		{Key: crl.KeyOf(issuer, "CERT-0001"), RevokedAt: at("2026-03-14T10:20:00Z"), Reason: crl.ReasonDataError},
		{Key: crl.KeyOf(issuer, "CERT-0002"), RevokedAt: at("2026-06-01T08:00:00Z"), Reason: crl.ReasonSuperseded},
		{Key: crl.KeyOf(issuer, "CERT-0003"), RevokedAt: at("2026-11-20T12:00:00Z"), Reason: crl.ReasonCertificateHold,
			SuspendedUntil: at("2026-11-27T12:00:00Z")},
	}
	// The body lists entries in key order.
	slices.SortFunc(entries, func(a, b crl.Entry) int { return cmp.Compare(a.Key, b.Key) })
	var body bytes.Buffer
	bw := snapshot.NewBodyWriter(&body)
	for _, e := range entries {
		if err := bw.Upsert(e); err != nil {
			log.Fatal(err)
		}
	}
	info, err := bw.Close()
	if err != nil {
		log.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	h := &snapshot.Header{
		Publisher: "Example Health Authority", Issuers: []string{issuer},
		Serial: 1, ThisUpdate: now, NextUpdate: now.Add(24 * time.Hour),
		Kind: snapshot.KindFull, ListDigest: info.Digest, ListCount: info.Upserts,
		Upserts: info.Upserts, BodyLength: info.Length, BodyDigest: info.Digest,
	}
	var file bytes.Buffer // a file named snapshot.FullName(1) in a publication directory
	if err := snapshot.WriteSnapshot(&file, h, key, &body); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("published %s: %d bytes, body %d bytes\n", snapshot.FullName(h.Serial), file.Len(), info.Length)

	// Verifier: the public JWKS and the file.
	jf, err := os.Open("testdata/golden-jwks.json")
	if err != nil {
		log.Fatal(err)
	}
	defer jf.Close()
	set, err := snapshot.ReadJWKS(jf)
	if err != nil {
		log.Fatal(err)
	}
	r := bufio.NewReader(&file)
	hdr, err := snapshot.ReadHeader(r, snapshot.KeysFromSet(set), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s snapshot %d by %q, signed %s, next update %s\n", hdr.Kind, hdr.Serial, hdr.Publisher, hdr.Algorithm, hdr.NextUpdate.Format(time.RFC3339))
	br := snapshot.NewBodyReader(r, hdr, nil)
	var got []crl.Entry
	for {
		e, _, err := br.Next()
		if err == io.EOF {
			break // the body's length and digest checked out
		}
		if err != nil {
			log.Fatal(err) // nothing read so far may be used
		}
		got = append(got, e)
	}
	for _, e := range got {
		fmt.Printf("%v %-16s revoked %s, in force now: %v\n", e.Key, e.Reason, e.Revoked().Format(time.DateOnly), e.InForce(now))
	}
	// Looking up a certificate is looking up its key.
	for _, id := range []string{"CERT-0002", "CERT-0004"} {
		_, found := slices.BinarySearchFunc(got, crl.KeyOf(issuer, id), func(e crl.Entry, k crl.Key) int { return cmp.Compare(e.Key, k) })
		fmt.Printf("%s listed: %v\n", id, found)
	}
	// Output:
	// published full-00000000000000000001.crl: 824 bytes, body 51 bytes
	// full snapshot 1 by "Example Health Authority", signed EdDSA, next update 2026-11-23T09:00:00Z
	// 2133b0f8e1e8db62 superseded       revoked 2026-06-01, in force now: true
	// 54ddaace65fcbe9d certificateHold  revoked 2026-11-20, in force now: true
	// ebe0670cc625fe41 dataError        revoked 2026-03-14, in force now: true
	// CERT-0002 listed: true
	// CERT-0004 listed: false
}

// ExampleReadIndex reads a publication directory's index and lists the
// files it names.
func ExampleReadIndex() {
	jf, err := os.Open("testdata/golden-jwks.json")
	if err != nil {
		log.Fatal(err)
	}
	defer jf.Close()
	set, err := snapshot.ReadJWKS(jf)
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Open("testdata/golden/" + snapshot.IndexName)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	ix, err := snapshot.ReadIndex(f, snapshot.KeysFromSet(set), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("serial %d, next update %s\n", ix.Serial, ix.NextUpdate.Format(time.RFC3339))
	fmt.Printf("full:  %s (%d bytes)\n", ix.Full.Name, ix.Full.Length)
	for _, d := range ix.Deltas {
		fmt.Printf("delta: %s from serial %d (%d bytes)\n", d.Name, d.BaseSerial, d.Length)
	}
	// Output:
	// serial 2, next update 2026-11-23T09:00:00Z
	// full:  full-00000000000000000002.crl (875 bytes)
	// delta: delta-00000000000000000001-00000000000000000002.crl from serial 1 (1011 bytes)
}

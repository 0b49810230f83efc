package main

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
)

// publisherSeed derives the test publisher's Ed25519 key. The key is
// public (committed under testdata/publisher): it signs nothing but test
// lists.
const publisherSeed = "crlverify testdata publisher key (TEST ONLY, never trust it)"

func publisherKey() (jwk.Key, error) {
	seed := sha256.Sum256([]byte(publisherSeed))
	return snapshot.KeyFromRaw(ed25519.NewKeyFromSeed(seed[:]))
}

// demoRows returns the rows of the demo CSV (permanent revocations: the
// fixtures' revoked and updated-old, and 200 synthetic ones) and of the
// demo JSON lines (the fixtures' suspensions and two more rows), from a
// fixed seed. Together they are the test revocation list.
func demoRows() (csvRows, jsonRows []revocation) {
	for _, r := range listed {
		if r.suspendedUntil.IsZero() {
			csvRows = append(csvRows, r)
		} else {
			jsonRows = append(jsonRows, r)
		}
	}
	rng := rand.New(rand.NewPCG(20260601, 4))
	from, to := date("2025-06-01T00:00:00Z").Unix(), date("2026-05-30T00:00:00Z").Unix()
	id := int64(7_000_000_000_000)
	for range 200 {
		id += 1 + rng.Int64N(50_000)
		issuer := issuerCoWIN
		switch n := rng.IntN(20); {
		case n >= 19:
			issuer = issuerExpiring
		case n >= 16:
			issuer = issuerDIVOC
		}
		var reason crl.Reason
		switch n := rng.IntN(20); {
		case n < 9:
			reason = crl.ReasonDataError
		case n < 15:
			reason = crl.ReasonSuperseded
		case n < 18:
			reason = crl.ReasonFaultyBatch
		default:
			reason = crl.ReasonTampering
		}
		at := time.Unix(from+rng.Int64N(to-from), 0).UTC()
		csvRows = append(csvRows, revocation{id: fmt.Sprint(id), issuer: issuer, reason: reason, revokedAt: at})
	}
	slices.SortStableFunc(csvRows, func(a, b revocation) int { return a.revokedAt.Compare(b.revokedAt) })
	jsonRows = append(jsonRows,
		revocation{id: "7100000000017", issuer: issuerDIVOC, reason: crl.ReasonTampering, revokedAt: date("2026-05-18T00:00:00Z")},
		revocation{id: "7100000000024", issuer: issuerCoWIN, reason: crl.ReasonFaultyBatch, revokedAt: date("2026-05-20T00:00:00Z")},
	)
	return csvRows, jsonRows
}

// demoCSV writes rows as the bulk revocation CSV `crlverify revoke`
// imports.
func demoCSV(rows []revocation) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"id", "issuer", "reason", "revoked_at"})
	for _, r := range rows {
		w.Write([]string{r.id, r.issuer, r.reason.String(), r.revokedAt.Format(time.RFC3339)})
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// demoJSONLines writes rows as JSON lines, showing the forms a time may
// take: RFC 3339, Unix seconds, a date.
func demoJSONLines(rows []revocation) ([]byte, error) {
	type line struct {
		ID             string     `json:"id"`
		Issuer         string     `json:"issuer"`
		Reason         crl.Reason `json:"reason"`
		RevokedAt      any        `json:"revoked_at"`
		SuspendedUntil string     `json:"suspended_until,omitempty"`
	}
	var buf bytes.Buffer
	for i, r := range rows {
		l := line{ID: r.id, Issuer: r.issuer, Reason: r.reason, RevokedAt: r.revokedAt.Format(time.RFC3339)}
		if !r.suspendedUntil.IsZero() {
			l.SuspendedUntil = r.suspendedUntil.Format(time.RFC3339)
		}
		switch i {
		case len(rows) - 2:
			l.RevokedAt = r.revokedAt.Unix()
		case len(rows) - 1:
			l.RevokedAt = r.revokedAt.Format(time.DateOnly)
		}
		b, err := json.Marshal(l)
		if err != nil {
			return nil, err
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}

// publication returns the files of the test publication directory: the
// full snapshot of the list and the signed index naming it.
func publication(key jwk.Key, rows []revocation) (map[string][]byte, error) {
	entries := make([]crl.Entry, 0, len(rows))
	for _, r := range rows {
		entries = append(entries, r.entry())
	}
	slices.SortFunc(entries, func(a, b crl.Entry) int { return cmp.Compare(a.Key, b.Key) })
	for i := 1; i < len(entries); i++ {
		if entries[i].Key == entries[i-1].Key {
			return nil, fmt.Errorf("two rows of the list have the key %v", entries[i].Key)
		}
	}
	var body bytes.Buffer
	bw := snapshot.NewBodyWriter(&body)
	for _, e := range entries {
		if err := bw.Upsert(e); err != nil {
			return nil, err
		}
	}
	info, err := bw.Close()
	if err != nil {
		return nil, err
	}
	issuers := slices.Sorted(slices.Values(crlIssuers))
	h := &snapshot.Header{
		Version: snapshot.Version, Publisher: publisherName, Issuers: issuers,
		Serial: crlSerial, ThisUpdate: thisUpdate, NextUpdate: nextUpdate,
		Kind: snapshot.KindFull, ListDigest: info.Digest, ListCount: info.Upserts,
		Upserts: info.Upserts, BodyLength: info.Length, BodyDigest: info.Digest,
	}
	var full bytes.Buffer
	if err := snapshot.WriteSnapshot(&full, h, key, &body); err != nil {
		return nil, err
	}
	ix := &snapshot.Index{
		Publisher: publisherName, Issuers: issuers, Serial: crlSerial,
		ThisUpdate: thisUpdate, NextUpdate: nextUpdate,
		Full: snapshot.IndexFile{
			Name: snapshot.FullName(crlSerial), Kind: snapshot.KindFull, Serial: crlSerial,
			Length: int64(full.Len()), Digest: sha256.Sum256(full.Bytes()),
		},
	}
	var index bytes.Buffer
	if err := snapshot.WriteIndex(&index, ix, key); err != nil {
		return nil, err
	}
	return map[string][]byte{
		snapshot.FullName(crlSerial): full.Bytes(),
		snapshot.IndexName:           index.Bytes(),
	}, nil
}

// publisherFiles returns the test publisher's private JWK and public JWKS.
func publisherFiles(key jwk.Key) (priv, jwks []byte, err error) {
	if priv, err = json.MarshalIndent(key, "", "  "); err != nil {
		return nil, nil, err
	}
	set, err := snapshot.PublicSet(key)
	if err != nil {
		return nil, nil, err
	}
	if jwks, err = json.MarshalIndent(set, "", "  "); err != nil {
		return nil, nil, err
	}
	return append(priv, '\n'), append(jwks, '\n'), nil
}

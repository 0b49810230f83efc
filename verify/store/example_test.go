package store_test

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/verify/store"
)

// A publisher signs a full snapshot revoking one certificate; a verifier
// applies it to its store and checks certificates offline.
func ExampleStore_Check() {
	const issuer = "did:web:health.example"
	made := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

	// The publisher's side.
	key, err := snapshot.GenerateKey("EdDSA")
	if err != nil {
		log.Fatal(err)
	}
	var body bytes.Buffer
	w := snapshot.NewBodyWriter(&body)
	revoked := crl.Entry{Key: crl.KeyOf(issuer, "123456789012"), RevokedAt: made.Add(-time.Hour).Unix(), Reason: crl.ReasonFaultyBatch}
	if err := w.Upsert(revoked); err != nil {
		log.Fatal(err)
	}
	info, err := w.Close()
	if err != nil {
		log.Fatal(err)
	}
	h := &snapshot.Header{Publisher: "ministry", Issuers: []string{issuer}, Serial: 1,
		ThisUpdate: made, NextUpdate: made.Add(24 * time.Hour), Kind: snapshot.KindFull,
		ListDigest: info.Digest, ListCount: 1, Upserts: 1, BodyLength: info.Length, BodyDigest: info.Digest}
	var file bytes.Buffer
	if err := snapshot.WriteSnapshot(&file, h, key, &body); err != nil {
		log.Fatal(err)
	}
	pub, err := snapshot.PublicSet(key)
	if err != nil {
		log.Fatal(err)
	}

	// The verifier's side.
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(filepath.Join(dir, "store.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	if _, err := st.ApplySnapshot(&file, snapshot.KeysFromSet(pub), made.Add(time.Minute), nil); err != nil {
		log.Fatal(err)
	}
	for _, c := range []struct {
		id string
		at time.Time
	}{
		{"123456789012", made.Add(time.Hour)},
		{"210987654321", made.Add(time.Hour)},
		{"210987654321", made.Add(48 * time.Hour)},
	} {
		r, err := st.Check(issuer, c.id, c.at)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s, list serial %d %s, conclusive %v\n", c.id, r.Status, r.Serial, r.Freshness, r.Conclusive())
	}
	// Output:
	// 123456789012: revoked, list serial 1 fresh, conclusive true
	// 210987654321: not_revoked, list serial 1 fresh, conclusive true
	// 210987654321: not_revoked, list serial 1 stale, conclusive false
}

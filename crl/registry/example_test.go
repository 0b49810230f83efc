package registry_test

import (
	"bufio"
	"crypto/ed25519"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/crl/registry"
	"github.com/crlverify/crlverify/snapshot"
)

// Example revokes certificates in a registry, publishes the list into a
// directory any static web host can serve, and reads the published full
// snapshot back as a verifier would.
func Example() {
	work, err := os.MkdirTemp("", "crlverify-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	pub := filepath.Join(work, "pub")
	os.Mkdir(pub, 0o755)

	// The authority's private registry.
	reg, err := registry.Open(filepath.Join(work, "registry.db"), &registry.Options{Actor: "example"})
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()
	day := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	const issuer = "did:example:moh"
	if _, err := reg.Revoke(registry.Revocation{Issuer: issuer, ID: "CERT-0001", Reason: crl.ReasonDataError, RevokedAt: day}); err != nil {
		log.Fatal(err)
	}
	// A bulk import: CSV or JSON lines; all rows or none.
	csv := "id,issuer,reason,revoked_at,suspended_until\n" +
		"CERT-0002,did:example:moh,superseded,2026-11-21T10:00:00Z,\n" +
		"CERT-0003,did:example:moh,certificateHold,2026-11-21T11:00:00Z,2026-12-21T11:00:00Z\n"
	if _, err := reg.Import(strings.NewReader(csv), &registry.ImportOptions{Source: "batch.csv"}); err != nil {
		log.Fatal(err)
	}

	// A fixed signing key; `crlverify keygen` makes a random one.
	seed := make([]byte, ed25519.SeedSize)
	key, err := snapshot.KeyFromRaw(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		log.Fatal(err)
	}
	res, err := reg.Publish(pub, key, &registry.PublishOptions{
		Publisher: "Example Health Authority",
		Now:       day.Add(48 * time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("serial", res.Serial, "entries", res.ListCount, "next update", res.NextUpdate.Format(time.RFC3339))
	fmt.Println(res.Full.Name)

	// A verifier with the public JWKS reads the full snapshot.
	set, _ := snapshot.PublicSet(key)
	f, err := os.Open(filepath.Join(pub, res.Full.Name))
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	h, err := snapshot.ReadHeader(br, snapshot.KeysFromSet(set), nil)
	if err != nil {
		log.Fatal(err)
	}
	body := snapshot.NewBodyReader(br, h, nil)
	var listed []crl.Entry
	for {
		e, _, err := body.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		listed = append(listed, e)
	}
	for _, id := range []string{"CERT-0001", "CERT-0003", "CERT-0004"} {
		k := crl.KeyOf(issuer, id)
		status := "not listed"
		for _, e := range listed {
			if e.Key == k {
				status = e.Reason.String()
				if e.IsSuspension() {
					status += " until " + e.Until().Format(time.DateOnly)
				}
			}
		}
		fmt.Println(id, status)
	}
	// Output:
	// serial 1 entries 3 next update 2026-11-23T09:00:00Z
	// full-00000000000000000001.crl
	// CERT-0001 dataError
	// CERT-0003 certificateHold until 2026-12-21
	// CERT-0004 not listed
}

// ExampleRegistry_Unrevoke lifts a revocation; the next publication
// carries it as a removal in the delta from the previous serial.
func ExampleRegistry_Unrevoke() {
	work, _ := os.MkdirTemp("", "crlverify-example")
	defer os.RemoveAll(work)
	reg, err := registry.Open(filepath.Join(work, "registry.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()
	key, _ := snapshot.GenerateKey("")
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

	reg.Revoke(registry.Revocation{Issuer: "did:example:moh", ID: "CERT-7", Reason: crl.ReasonTampering})
	reg.Revoke(registry.Revocation{Issuer: "did:example:moh", ID: "CERT-8", Reason: crl.ReasonFaultyBatch})
	if _, err := reg.Publish(work, key, &registry.PublishOptions{Now: now}); err != nil {
		log.Fatal(err)
	}
	if err := reg.Unrevoke("did:example:moh", "CERT-7"); err != nil {
		log.Fatal(err)
	}
	res, err := reg.Publish(work, key, &registry.PublishOptions{Now: now.Add(24 * time.Hour)})
	if err != nil {
		log.Fatal(err)
	}
	d := res.Deltas[0]
	fmt.Printf("serial %d: %d entries; %s: %d upserts, %d removals\n", res.Serial, res.ListCount, d.Name, d.Upserts, d.Removals)
	// Output:
	// serial 2: 1 entries; delta-00000000000000000001-00000000000000000002.crl: 0 upserts, 1 removals
}

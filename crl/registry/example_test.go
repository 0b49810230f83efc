package registry_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
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

// Example imports the certificates an authority issued, revokes some of
// them by DIVOC's rules, publishes the list into a directory any static
// web host can serve, reads the published full snapshot back as a
// verifier would, and checks the audit trail.
func Example() {
	work, err := os.MkdirTemp("", "crlverify-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	pub := filepath.Join(work, "pub")
	os.Mkdir(pub, 0o755)
	ctx := context.Background()
	day := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return day }

	// The authority's private registry.
	reg, err := registry.Open(filepath.Join(work, "registry.db"), &registry.Options{Now: clock, Actor: "cli:alice"})
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()
	const issuer = "did:example:moh"
	issued := "certificate_id,issuer,beneficiary_id,dose,batch,issued_at\n" +
		"CERT-1,did:example:moh,B-100,1,LOT-7,2021-03-01\n" +
		"CERT-2,did:example:moh,B-100,2,LOT-8,2021-06-01\n" +
		"CERT-3,did:example:moh,B-200,1,LOT-8,2021-04-01\n"
	if _, err := reg.ImportCertificates(ctx, strings.NewReader(issued), &registry.ImportOptions{Source: "issued.csv"}); err != nil {
		log.Fatal(err)
	}

	// Dose 1 alone would leave dose 2 standing: refused.
	_, err = reg.Revoke(ctx, registry.Request{Selector: registry.Selector{BeneficiaryID: "B-100", Doses: []int{1}}, Actor: "cli:alice"})
	var rule *registry.RuleError
	if errors.As(err, &rule) {
		fmt.Println("refused:", rule.Rule)
	}
	out, err := reg.Revoke(ctx, registry.Request{Selector: registry.Selector{BeneficiaryID: "B-100", Doses: []int{1, 2}},
		Reason: crl.ReasonDataError, Note: "name misspelt", Actor: "cli:alice"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("revoked", out.Changed, "in audit record", out.AuditSeq)
	out, err = reg.Revoke(ctx, registry.Request{Selector: registry.Selector{Batch: "LOT-8"}, Actor: "cli:alice"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("batch LOT-8:", out.Matched, "certificates,", out.Changed, "newly revoked")

	// A fixed signing key; `crlverify keygen` makes a random one.
	key, err := snapshot.KeyFromRaw(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)))
	if err != nil {
		log.Fatal(err)
	}
	res, err := reg.Publish(pub, key, &registry.PublishOptions{Publisher: "Example Health Authority", Now: day.Add(time.Hour)})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("serial", res.Serial, "entries", res.ListCount, "next update", res.NextUpdate.Format(time.RFC3339))

	// A verifier with the public key set reads the full snapshot.
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
	listed := map[crl.Key]crl.Entry{}
	for {
		e, _, err := body.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		listed[e.Key] = e
	}
	for _, id := range []string{"CERT-1", "CERT-2", "CERT-3"} {
		fmt.Println(id, listed[crl.KeyOf(issuer, id)].Reason)
	}

	rep, err := reg.VerifyAudit()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("audit trail:", rep.Records, "records,", rep.Certificates, "certificates,", rep.Revocations, "revocation records")
	// Output:
	// refused: doses-include-latest
	// revoked 2 in audit record 3
	// batch LOT-8: 2 certificates, 1 newly revoked
	// serial 1 entries 3 next update 2026-11-21T10:00:00Z
	// CERT-1 dataError
	// CERT-2 dataError
	// CERT-3 faultyBatch
	// audit trail: 5 records, 3 certificates, 3 revocation records
}

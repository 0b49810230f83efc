// Command gendemo writes the demo's file of issued certificates
// (crl/registry/testdata/demo/certificates.csv): "go generate
// ./crl/registry" runs it. The output is deterministic: the same file
// every run.
//
// The file holds 120 certificates of https://cowin.gov.in/ for 60
// beneficiaries (one to three doses each) in five vaccine batches, ids
// 9100000000001 upwards, issued through 2021, and one correction: the
// last row corrects the dose-1 certificate of beneficiary 91000000000002.
// Beneficiary 91000000000001 has three doses, which the demo revokes by
// dose; batch EX-7790 is the one the demo recalls. None of these ids is
// a certificate of the DIVOC fixtures.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"time"
)

func main() {
	out := flag.String("out", "", "file to write (default stdout)")
	flag.Parse()
	w := io.Writer(os.Stdout)
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		w = f
	}
	if err := write(w); err != nil {
		log.Fatal(err)
	}
}

var batches = []string{"4121Z025", "4121Z031", "4121Z047", "EX-7781", "EX-7790"}

func write(w io.Writer) error {
	if _, err := fmt.Fprintln(w, "certificate_id,issuer,beneficiary_id,dose,batch,issued_at,valid_until,previous_certificate_id"); err != nil {
		return err
	}
	const issuer = "https://cowin.gov.in/"
	id := uint64(9_100_000_000_000)
	start := time.Date(2021, 3, 1, 9, 0, 0, 0, time.UTC)
	n := 0
	var firstOf2 uint64
	for b := 1; b <= 60; b++ {
		doses := 1 + (b*7)%3
		if b == 1 {
			doses = 3
		}
		at := start.Add(time.Duration(b*37) * time.Hour)
		for d := 1; d <= doses && n < 119; d++ {
			id++
			n++
			batch := batches[(b+d)%len(batches)]
			if b == 2 && d == 1 {
				firstOf2 = id
			}
			if _, err := fmt.Fprintf(w, "%d,%s,%d,%d,%s,%s,,\n", id, issuer, 91_000_000_000_000+uint64(b), d, batch, at.Format(time.RFC3339)); err != nil {
				return err
			}
			at = at.Add(84 * 24 * time.Hour)
		}
	}
	// The correction: a new dose-1 certificate for beneficiary 2.
	id++
	_, err := fmt.Fprintf(w, "%d,%s,%d,%d,%s,%s,,%d\n", id, issuer, 91_000_000_000_002, 1, batches[3],
		time.Date(2021, 12, 1, 10, 0, 0, 0, time.UTC).Format(time.RFC3339), firstOf2)
	return err
}

package shc_test

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/crlverify/crlverify/verify/shc"
)

// The example issuer of testdata (see testdata/README.md): its key set and
// revocation list, as a verifier keeps them offline.
const issuer = "https://shc.example.org/issuer"

func read(name string) []byte {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		panic(err)
	}
	return b
}

func directory() *shc.Directory {
	d := shc.NewDirectory()
	if err := d.AddJWKS(issuer, read("issuer/.well-known/jwks.json")); err != nil {
		panic(err)
	}
	return d
}

// Verify a card from the text of its QR code and show what it says.
func ExampleVerify() {
	card, form, err := shc.ParsePayload(shc.TrimNewline(read("valid.txt")))
	if err != nil {
		panic(err)
	}
	at := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	key, err := shc.Verify(card, directory(), at)
	fmt.Println(form, "signed by", key.ID, err)

	d := card.Display()
	fmt.Println(d.Name, "born", d.DateOfBirth)
	fmt.Printf("dose %d of %d on %s: %s (%s), lot %s\n", d.Dose, d.Doses, d.Date, d.Vaccine, d.Manufacturer, d.Lot)
	fmt.Println("issued", d.IssuedAt.Format(time.RFC3339Nano), "by", d.Issuer)
	fmt.Println("revocation id", d.RevocationID)
	// Output:
	// numeric signed by vfeLDcXEQL5i0d2chkSDDbETJ0cCWkx9e8ILpsM1Lr8 <nil>
	// Asha Verma born 1990-04-01
	// dose 2 of 2 on 2021-05-24: Pfizer-BioNTech COVID-19 vaccine (Comirnaty), 30 mcg (Pfizer-BioNTech), lot EW0171
	// issued 2024-01-15T09:30:00.25Z by https://shc.example.org/issuer
	// revocation id uUClwfZElDE
}

// A card split over several QR codes (the deprecated chunked form) is
// joined once every code is scanned, in any order.
func ExampleJoiner() {
	var j shc.Joiner
	for _, name := range []string{"valid-chunk-2-of-2.txt", "valid-chunk-1-of-2.txt"} {
		complete, err := j.Add(shc.TrimNewline(read(name)))
		fmt.Println(name, "complete:", complete, "missing:", j.Missing(), err)
	}
	jws, err := j.JWS()
	if err != nil {
		panic(err)
	}
	card, err := shc.Parse(jws)
	if err != nil {
		panic(err)
	}
	fmt.Println(card.Patient.Name())
	// Output:
	// valid-chunk-2-of-2.txt complete: false missing: [1] <nil>
	// valid-chunk-1-of-2.txt complete: true missing: [] <nil>
	// Asha Verma
}

// The issuer's revocation list for a key: checked against the key's
// crlVersion, then asked about each card. A rid with a timestamp revokes
// only the cards issued before it.
func ExampleCRL_RevokesCard() {
	d := directory()
	list, err := shc.ParseCRL(read("issuer/.well-known/crl/vfeLDcXEQL5i0d2chkSDDbETJ0cCWkx9e8ILpsM1Lr8.json"))
	if err != nil {
		panic(err)
	}
	key, err := d.Key(issuer, list.KID)
	if err != nil {
		panic(err)
	}
	fmt.Println("ctr", list.Counter, "crlVersion", key.CRLVersion, "check:", list.CheckKey(key))
	for _, name := range []string{"valid", "revoked", "superseded", "reissued"} {
		card, _, err := shc.ParsePayload(shc.TrimNewline(read(name + ".txt")))
		if err != nil {
			panic(err)
		}
		fmt.Printf("%-10s %s issued %s revoked %v\n", name, card.RevocationID, card.NotBefore.Format("2006-01-02"), list.RevokesCard(card))
	}
	for _, e := range list.Entries() {
		if e.Before.IsZero() {
			fmt.Println(e.ID, "revokes every card")
		} else {
			fmt.Println(e.ID, "revokes the cards issued before", e.Before.Format(time.RFC3339))
		}
	}
	// Output:
	// ctr 3 crlVersion 3 check: <nil>
	// valid      uUClwfZElDE issued 2024-01-15 revoked false
	// revoked    YYisjdg0HJk issued 2024-01-15 revoked true
	// superseded akb4ux9h210 issued 2023-03-01 revoked true
	// reissued   akb4ux9h210 issued 2024-01-15 revoked false
	// YYisjdg0HJk revokes every card
	// akb4ux9h210 revokes the cards issued before 2024-01-01T00:00:00Z
}

// How a verdict uses the package: parse, check the signature, look the
// rid up, then check the dates; each error maps to one status.
func ExampleVerifySignature() {
	d := directory()
	list, err := shc.ParseCRL(read("issuer/.well-known/crl/vfeLDcXEQL5i0d2chkSDDbETJ0cCWkx9e8ILpsM1Lr8.json"))
	if err != nil {
		panic(err)
	}
	verdict := func(payload []byte, at time.Time) string {
		card, _, err := shc.ParsePayload(shc.TrimNewline(payload))
		if err == nil {
			_, err = shc.VerifySignature(card, d, at)
		}
		switch {
		case errors.Is(err, shc.ErrMalformed):
			return "MALFORMED"
		case errors.Is(err, shc.ErrUnknownIssuer):
			return "UNKNOWN_ISSUER"
		case errors.Is(err, shc.ErrBadSignature):
			return "BAD_SIGNATURE"
		case list.RevokesCard(card):
			return "REVOKED"
		}
		err = card.CheckValidity(at, 0)
		switch {
		case errors.Is(err, shc.ErrExpired):
			return "EXPIRED"
		case errors.Is(err, shc.ErrNotYetValid):
			return "NOT_YET_VALID"
		}
		return "VALID"
	}
	june2024 := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	fmt.Println(verdict(read("valid.txt"), june2024))
	fmt.Println(verdict(read("superseded.txt"), june2024))
	fmt.Println(verdict(read("reissued.txt"), time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)))
	fmt.Println(verdict(read("valid.txt"), time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC)))
	fmt.Println(verdict(read("valid.png"), june2024))
	// Output:
	// VALID
	// REVOKED
	// EXPIRED
	// NOT_YET_VALID
	// MALFORMED
}

// A .smart-health-card file may hold several cards.
func ExampleParseFile() {
	list, err := shc.ParseFile(read("cards.smart-health-card"))
	if err != nil {
		panic(err)
	}
	for _, jws := range list {
		card, err := shc.Parse(jws)
		if err != nil {
			panic(err)
		}
		fmt.Println(card.Patient.Name(), card.Display().Vaccine)
	}
	// Output:
	// Asha Verma Pfizer-BioNTech COVID-19 vaccine (Comirnaty), 30 mcg
	// Ravi Kumar Moderna COVID-19 vaccine (Spikevax), 100 mcg or 50 mcg dose
}

// Command gen writes the SMART Health Card fixtures of verify/shc/testdata
// (described in testdata/README.md, which it also writes): an example
// issuer's key set and revocation list, and cards in every form, all made
// with the package's own test key. It runs from verify/shc:
//
//	go generate ./verify/shc     (go run ./internal/gen -out testdata)
//
// Output is deterministic: the key comes from a fixed label, signatures
// are RFC 6979, DEFLATE and PNG encoding are the standard library's. Every
// card is parsed and verified back before the command succeeds.
package main

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"time"

	"github.com/crlverify/crlverify/verify/qr"
	"github.com/crlverify/crlverify/verify/shc"
	"github.com/crlverify/crlverify/verify/shc/internal/shctest"
)

// The fixture issuer.
const (
	Issuer     = "https://shc.example.org/issuer"
	KeyLabel   = "example issuer 2024"
	CRLVersion = 3
	// ridSecret is the example issuer's HMAC secret for revocation ids.
	ridSecret = "example issuer revocation secret"
)

// CheckTime is when every fixture has the verdict the README gives.
var CheckTime = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)

// file is one fixture: its path under the output directory and content.
type file struct {
	path string
	data []byte
}

func main() {
	out := flag.String("out", "testdata", "the directory to write the fixtures into")
	flag.Parse()
	files, err := Fixtures()
	if err == nil {
		err = write(*out, files)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func write(dir string, files []file) error {
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, f.data) {
			continue
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Fixtures returns every fixture file, checked.
func Fixtures() ([]file, error) {
	key := shctest.Key(KeyLabel)
	kid := shctest.KID(&key.PublicKey)
	rid := func(holder string) string { return shc.DeriveRID([]byte(ridSecret), kid, holder) }
	cards := map[string]shctest.Card{
		"valid": {
			Issuer: Issuer, NBF: "1705311000.25", RID: rid("holder-0001"),
			Family: "Verma", Given: []string{"Asha"}, BirthDate: "1990-04-01",
			Doses: []shctest.Dose{
				{Code: "208", Date: "2021-05-03", Lot: "EW0150", Performer: "District Hospital Pune"},
				{Code: "208", Date: "2021-05-24", Lot: "EW0171", Performer: "District Hospital Pune"},
			},
		},
		"revoked": {
			Issuer: Issuer, NBF: "1705311600", RID: rid("holder-0002"),
			Family: "Kumar", Given: []string{"Ravi"}, BirthDate: "1985-11-12",
			Doses: []shctest.Dose{
				{Code: "207", Date: "2021-06-10", Lot: "3002183", Performer: "City Clinic"},
				{Code: "207", Date: "2021-07-08", Lot: "3002190", Performer: "City Clinic"},
			},
		},
		// One holder's rid, revoked for cards issued before 2024-01-01:
		// the old card is revoked, the one issued after is not.
		"superseded": {
			Issuer: Issuer, NBF: "1677663000", RID: rid("holder-0003"),
			Family: "Nair", Given: []string{"Meera", "K."}, BirthDate: "1978-02-28",
			Doses: []shctest.Dose{{Code: "210", Date: "2021-04-02", Lot: "4120Z001", Performer: "Taluk Hospital"}},
		},
		"reissued": {
			Issuer: Issuer, NBF: "1705312200", Exp: "1736848200", RID: rid("holder-0003"),
			Family: "Nair", Given: []string{"Meera", "K."}, BirthDate: "1978-02-28",
			Doses: []shctest.Dose{
				{Code: "210", Date: "2021-04-02", Lot: "4120Z001", Performer: "Taluk Hospital"},
				{Code: "210", Date: "2021-07-01", Lot: "4120Z019", Performer: "Taluk Hospital"},
			},
		},
	}
	jws := map[string]string{}
	for name, c := range cards {
		jws[name] = shctest.Sign(c.JSON(), key, kid)
	}
	crl := shctest.CRL(kid, CRLVersion, rid("holder-0002"), rid("holder-0003")+".1704067200")
	jwks := shctest.JWKS(shctest.JWK(&key.PublicKey, map[string]any{"crlVersion": CRLVersion}))

	files := []file{
		{"issuer/.well-known/jwks.json", jwks},
		{"issuer/.well-known/crl/" + kid + ".json", crl},
	}
	for _, name := range []string{"valid", "revoked", "superseded", "reissued"} {
		files = append(files,
			file{name + ".txt", []byte(shctest.Numeric(jws[name]) + "\n")},
			file{name + ".jws", []byte(jws[name] + "\n")})
	}
	for i, c := range shctest.Chunks(jws["valid"], 2) {
		files = append(files, file{fmt.Sprintf("valid-chunk-%d-of-2.txt", i+1), []byte(c + "\n")})
	}
	shcFile, err := json.MarshalIndent(map[string]any{"verifiableCredential": []string{jws["valid"], jws["revoked"]}}, "", "  ")
	if err != nil {
		return nil, err
	}
	files = append(files, file{"cards.smart-health-card", append(shcFile, '\n')})
	img, err := qr.Encode([]byte(shctest.Numeric(jws["valid"])), &qr.EncodeOptions{Level: "L", ModuleSize: 3})
	if err != nil {
		return nil, err
	}
	var pngBuf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&pngBuf, img); err != nil {
		return nil, err
	}
	files = append(files, file{"valid.png", pngBuf.Bytes()}, file{"README.md", []byte(readme(kid))})
	return files, check(files, key, kid)
}

// check parses and verifies the cards back, with the verdicts the README
// gives.
func check(files []file, key *ecdsa.PrivateKey, kid string) error {
	byPath := map[string][]byte{}
	for _, f := range files {
		byPath[f.path] = f.data
	}
	dir := shc.NewDirectory()
	if err := dir.AddJWKS(Issuer, byPath["issuer/.well-known/jwks.json"]); err != nil {
		return err
	}
	list, err := shc.ParseCRL(byPath["issuer/.well-known/crl/"+kid+".json"])
	if err != nil {
		return err
	}
	want := map[string]bool{"valid": false, "revoked": true, "superseded": true, "reissued": false}
	for name, revoked := range want {
		c, _, err := shc.ParsePayload(shc.TrimNewline(byPath[name+".txt"]))
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		k, err := shc.Verify(c, dir, CheckTime)
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		if err := list.CheckKey(k); err != nil {
			return err
		}
		if list.RevokesCard(c) != revoked {
			return fmt.Errorf("%s: revoked %v, want %v", name, !revoked, revoked)
		}
	}
	img, err := qr.DecodeBytes(byPath["valid.png"], nil)
	if err != nil || !bytes.Equal(img, shc.TrimNewline(byPath["valid.txt"])) {
		return errors.Join(errors.New("valid.png does not decode to valid.txt"), err)
	}
	return nil
}

func readme(kid string) string {
	return `# SMART Health Card fixtures

Written by ` + "`go generate ./verify/shc`" + ` (internal/gen); do not edit. Everything is
signed with the package's own test key (` + "`shctest.Key(\"" + KeyLabel + "\")`" + `, P-256, never
trusted outside tests), deterministically (RFC 6979), so a rerun writes the same bytes.

Issuer: ` + "`" + Issuer + "`" + `, key ` + "`" + kid + "`" + ` (its RFC 7638
thumbprint), crlVersion ` + fmt.Sprint(CRLVersion) + `.

| file | what | verdict at ` + CheckTime.Format(time.RFC3339) + ` |
|---|---|---|
| issuer/.well-known/jwks.json | the issuer's key set | |
| issuer/.well-known/crl/` + kid + `.json | its revocation list, ctr ` + fmt.Sprint(CRLVersion) + ` | |
| valid.txt / .jws / .png | Asha Verma, 2 doses CVX 208, nbf 2024-01-15T09:30:00.25Z | valid |
| valid-chunk-1-of-2.txt, valid-chunk-2-of-2.txt | the same card in the deprecated chunked form | valid |
| revoked.txt / .jws | Ravi Kumar, 2 doses CVX 207; rid listed in the revocation list | revoked |
| superseded.txt / .jws | Meera Nair, 1 dose CVX 210, nbf 2023-03-01; rid listed as rid.1704067200 | revoked (issued before 2024-01-01) |
| reissued.txt / .jws | Meera Nair, 2 doses, same rid, nbf 2024-01-15, exp 2025-01-14 | valid (issued after 2024-01-01) |
| cards.smart-health-card | the valid and the revoked card in one file | |

The .txt files are numeric QR payloads ("shc:/" and digits) with a trailing newline, as a
text editor saves them; valid.png is the valid card's QR code.
`
}

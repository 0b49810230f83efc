package qr

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// Outside vectors are read in place, never copied into the repository.
const vectorsDir = "../../../shared/vectors"

func vectorPath(t *testing.T, parts ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{vectorsDir}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("outside test vectors not available (%v); they live in ../shared/vectors beside the repository", err)
	}
	return p
}

// The DIVOC 2.x Node service puts the ZIP in the QR code UTF-8-expanded:
// every byte >= 0x80 became two bytes. The raw payload must survive exactly
// so that undoing the expansion gives the ZIP back.
func TestDIVOCNodeStyleQR(t *testing.T) {
	dir := vectorPath(t, "divoc", "qr")
	res, err := ScanFile(filepath.Join(dir, "divoc-dev-rsa2018.divoc-node-style.png"), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantZip, err := os.ReadFile(filepath.Join(dir, "divoc-dev-rsa2018.divoc-node-style.zip"))
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.Valid(res.Payload) {
		t.Fatal("payload is not valid UTF-8: bytes were altered")
	}
	var zip []byte
	for _, r := range string(res.Payload) {
		if r > 0xff {
			t.Fatalf("code point %U above 0xFF: not a UTF-8-expanded byte string", r)
		}
		zip = append(zip, byte(r))
	}
	if !bytes.Equal(zip, wantZip) {
		t.Fatalf("un-expanded payload (%d bytes) differs from the ZIP (%d bytes)", len(zip), len(wantZip))
	}
	if !bytes.HasPrefix(zip, []byte("PK\x03\x04")) {
		t.Fatal("not a ZIP")
	}
	t.Logf("%d payload bytes -> %d ZIP bytes, strategy %q", len(res.Payload), len(zip), res.Strategy)
}

// dccCase is the part of a dgc-testdata raw JSON file used here.
type dccCase struct {
	Prefix   string `json:"PREFIX"`
	QR       string `json:"2DCODE"`
	QRAlt    string `json:"_2DCODE"`
	Expected struct {
		PictureDecode *bool `json:"EXPECTEDPICTUREDECODE"`
	} `json:"EXPECTEDRESULTS"`
}

func readDCCCase(t *testing.T, path string) dccCase {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	var c dccCase
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if c.QR == "" {
		c.QR = c.QRAlt
	}
	return c
}

// EU DCC PNGs: alphanumeric "HC1:" text, compared with the case's PREFIX.
func TestDCCPNGs(t *testing.T) {
	root := vectorPath(t, "dcc")
	pngs, _ := filepath.Glob(filepath.Join(root, "*", "png", "*.png"))
	more, _ := filepath.Glob(filepath.Join(root, "*", "2DCode", "png", "*.png"))
	pngs = append(pngs, more...)
	if len(pngs) == 0 {
		t.Skip("no DCC PNGs found")
	}
	compared := 0
	for _, p := range pngs {
		got, err := DecodeFile(p, nil)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if !bytes.HasPrefix(got, []byte("HC1:")) {
			t.Errorf("%s: payload %.20q does not start with HC1:", p, got)
			continue
		}
		// country/png/N.png and country/2DCode/png/N.png pair with
		// country/2DCode/raw/N.json.
		country := strings.Split(filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator))), "/")[0]
		raw := filepath.Join(root, country, "2DCode", "raw", strings.TrimSuffix(filepath.Base(p), ".png")+".json")
		if _, err := os.Stat(raw); err != nil {
			continue
		}
		if c := readDCCCase(t, raw); c.Prefix != "" {
			compared++
			if string(got) != c.Prefix {
				t.Errorf("%s: payload differs from PREFIX of %s", p, raw)
			}
		}
	}
	t.Logf("%d PNGs decoded, %d compared with PREFIX", len(pngs), compared)
}

// The base64 PNG inside each case (2DCODE) must decode to PREFIX exactly
// when EXPECTEDPICTUREDECODE is true, and must not when it is false.
func TestDCCEmbeddedPictures(t *testing.T) {
	root := vectorPath(t, "dcc")
	cases, _ := filepath.Glob(filepath.Join(root, "*", "2DCode", "raw", "*.json"))
	checked := 0
	for _, path := range cases {
		c := readDCCCase(t, path)
		if c.QR == "" || c.Expected.PictureDecode == nil {
			continue
		}
		checked++
		img, err := base64.StdEncoding.DecodeString(c.QR)
		var got []byte
		if err == nil {
			got, err = DecodeBytes(img, nil)
		}
		ok := err == nil && string(got) == c.Prefix
		if ok != *c.Expected.PictureDecode {
			t.Errorf("%s: decoded to PREFIX = %v (err %v), want %v", path, ok, err, *c.Expected.PictureDecode)
		}
		if !*c.Expected.PictureDecode && err != nil && !errors.Is(err, ErrUnsupportedImage) && !errors.Is(err, ErrCorruptImage) && !errors.Is(err, ErrNoQRCode) {
			t.Errorf("%s: unreadable picture gave an error without a sentinel: %v", path, err)
		}
	}
	if checked == 0 {
		t.Skip("no DCC cases with pictures")
	}
	t.Logf("%d embedded pictures checked", checked)
}

// A SMART Health Card QR code mixes a byte segment ("shc:/") with a numeric
// one; both must come back, in order.
func TestSHCRenderedPNGs(t *testing.T) {
	dir := vectorPath(t, "shc")
	pngs, _ := filepath.Glob(filepath.Join(dir, "rendered-png", "*.png"))
	if len(pngs) == 0 {
		t.Skip("no SHC PNGs found")
	}
	for _, p := range pngs {
		// example-00-g-qr-code-0.png holds example-00-f-qr-code-numeric-value-0.txt.
		name := strings.Replace(strings.TrimSuffix(filepath.Base(p), ".png"), "-g-qr-code-", "-f-qr-code-numeric-value-", 1) + ".txt"
		want, err := os.ReadFile(filepath.Join(dir, "examples", name))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		got, err := DecodeFile(p, nil)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if string(got) != strings.TrimSpace(string(want)) {
			t.Errorf("%s: got %.30q..., want %.30q...", p, got, want)
		}
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crlverify/crlverify/verify/divoc"
	"github.com/crlverify/crlverify/verify/qr"
)

const (
	// vectorsDir holds DIVOC's development keys, beside the repository.
	vectorsDir = "../../../../shared/vectors/divoc"
	// committedDir is the repository's testdata directory.
	committedDir = "../../../testdata"
)

func needVectors(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(vectorsDir, rsaPrivFile)); err != nil {
		t.Skipf("DIVOC development keys not available (%v): the generator cannot run", err)
	}
}

func readCommitted(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(committedDir, filepath.FromSlash(path)))
	if err != nil {
		t.Fatalf("committed fixture missing (run go generate ./verify): %v", err)
	}
	return b
}

func casesByName() map[string]*certCase {
	m := map[string]*certCase{}
	for i := range cases {
		m[cases[i].name] = &cases[i]
	}
	return m
}

// TestReproducesCommittedFixtures runs the generator into an empty
// directory and compares with the committed files: the Ed25519-signed
// credentials, trust store, keys, revocation list, demo files, expected
// verdicts and README byte for byte; the RSA-signed credentials up to
// their randomised signature (which must still verify). A second run over
// its own output must write nothing.
func TestReproducesCommittedFixtures(t *testing.T) {
	needVectors(t)
	keys, err := loadDevKeys(vectorsDir)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	g := newGenerator(tmp, vectorsDir, io.Discard)
	g.noImages = true
	if err := g.run(); err != nil {
		t.Fatal(err)
	}
	byCase := casesByName()
	fixtureCase := map[string]*certCase{}
	for _, f := range g.fixtures {
		fixtureCase[f.File] = byCase[f.Case]
	}
	compared := 0
	for path, fresh := range g.files {
		c, isFixture := fixtureCase[path]
		isCert := strings.HasPrefix(path, "divoc/certs/")
		switch {
		case isFixture && !isCert:
			// Payloads and images follow their credential; checked by
			// TestCommittedFixturesDecode.
		case !isFixture || c.key == ed25519Key:
			if old := readCommitted(t, path); !bytes.Equal(old, fresh) {
				t.Errorf("%s: committed file differs from what the generator makes (run go generate ./verify)", path)
			}
			compared++
		case isCert && c.tamperedFrom != "":
			base := readCommitted(t, "divoc/certs/"+c.tamperedFrom+".json")
			want, err := tamper(base, c.tamperTo)
			if c.addTerm != nil {
				want, err = addTerm(base, c.addTerm)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(readCommitted(t, path), want) {
				t.Errorf("%s: is not %s altered as its case says", path, c.tamperedFrom)
			}
		case isCert:
			p := filepath.Join(committedDir, filepath.FromSlash(path))
			if _, ok := sameButSignature(p, fresh, keys.rsa.Public()); !ok {
				t.Errorf("%s: committed credential differs from a fresh one beyond its signature, or its signature fails", path)
			}
		}
	}
	if compared < 10 {
		t.Fatalf("only %d files compared byte for byte", compared)
	}

	// Regenerating over the output changes nothing, RSA signatures included.
	again := newGenerator(tmp, vectorsDir, io.Discard)
	again.noImages = true
	if err := again.run(); err != nil {
		t.Fatal(err)
	}
	if len(again.wrote) != 0 {
		t.Errorf("a second run rewrote %v", again.wrote)
	}
}

// expectedFixtures reads the committed divoc/expected.json.
func expectedFixtures(t *testing.T) *expectedFile {
	t.Helper()
	var e expectedFile
	dec := json.NewDecoder(bytes.NewReader(readCommitted(t, "divoc/expected.json")))
	if err := dec.Decode(&e); err != nil {
		t.Fatal(err)
	}
	return &e
}

// TestCommittedFixturesDecode checks every committed image and payload
// against the committed credential it stands for: each image decodes (with
// qr.DecodeFile) to a payload that carries exactly that credential, and
// the valid credential's images to the committed UTF-8-expanded ZIP.
func TestCommittedFixturesDecode(t *testing.T) {
	e := expectedFixtures(t)
	if e.At != checkTime.Format(time.RFC3339) {
		t.Errorf("expected.json is for %s, the generator for %s", e.At, checkTime.Format(time.RFC3339))
	}
	expanded := readCommitted(t, "divoc/payloads/valid.utf8-zip")
	truncated := readCommitted(t, "divoc/payloads/truncated.zip")
	var opts *qr.Options // bounded by work, not time: results do not depend on load
	images := 0
	for _, f := range e.Fixtures {
		var payload []byte
		if f.FromImage {
			images++
			var err error
			payload, err = qr.DecodeFile(filepath.Join(committedDir, filepath.FromSlash(f.File)), opts)
			if err != nil {
				t.Errorf("%s: %v", f.File, err)
				continue
			}
		} else {
			payload = readCommitted(t, f.File)
		}
		if f.Case == "truncated-zip" {
			if !bytes.Equal(payload, truncated) {
				t.Errorf("%s: payload is not divoc/payloads/truncated.zip", f.File)
			}
			continue
		}
		if f.Case == "valid" && f.FromImage && !bytes.Equal(payload, expanded) {
			t.Errorf("%s: payload is not divoc/payloads/valid.utf8-zip", f.File)
		}
		got, form, err := divoc.DecodePayload(payload)
		if err != nil {
			t.Errorf("%s: %v", f.File, err)
			continue
		}
		if form.String() != f.PayloadForm {
			t.Errorf("%s: payload form %v, expected.json says %s", f.File, form, f.PayloadForm)
		}
		want, err := compact(readCommitted(t, "divoc/certs/"+f.Case+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err = compact(got); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: carries a credential other than divoc/certs/%s.json", f.File, f.Case)
		}
	}
	if images < len(cases) {
		t.Errorf("expected.json lists %d images, want at least one per case (%d)", images, len(cases))
	}
}

// TestExpectedListsEveryFile: every committed DIVOC fixture has an
// expected verdict.
func TestExpectedListsEveryFile(t *testing.T) {
	e := expectedFixtures(t)
	listed := map[string]bool{}
	for _, f := range e.Fixtures {
		if listed[f.File] {
			t.Errorf("%s is listed twice", f.File)
		}
		listed[f.File] = true
	}
	root := filepath.Join(committedDir, "divoc")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(committedDir, path)
		rel = filepath.ToSlash(rel)
		if rel != "divoc/expected.json" && !listed[rel] {
			t.Errorf("%s has no expected verdict in divoc/expected.json", rel)
		}
		delete(listed, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for f := range listed {
		t.Errorf("expected.json lists %s, which is not committed", f)
	}
}

// TestMissingVectors: without the development keys the generator stops
// with a message saying what is missing, and writes nothing.
func TestMissingVectors(t *testing.T) {
	out := t.TempDir()
	var log bytes.Buffer
	err := newGenerator(out, filepath.Join(t.TempDir(), "no-vectors"), &log).run()
	if !errors.Is(err, errNoVectors) || !strings.Contains(err.Error(), "-vectors") {
		t.Fatalf("got %v, want an error wrapping errNoVectors that names -vectors", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("wrote %d entries without the keys", len(entries))
	}
}

// TestPayloadsAndCleanImagesReproduce: the committed payloads and clean QR
// images are exactly what the generator makes from the committed
// credentials, so regenerating leaves them alone. Three clean images are
// rendered again; the rest are left to TestCommittedFixturesDecode, because
// rendering them all under the race detector takes most of a minute.
func TestPayloadsAndCleanImagesReproduce(t *testing.T) {
	for _, c := range cases {
		credential, err := compact(readCommitted(t, "divoc/certs/"+c.name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		zipped, err := zipPayload(credential)
		if err != nil {
			t.Fatal(err)
		}
		payload := expandUTF8(zipped)
		if c.name == "valid" {
			for name, want := range map[string][]byte{"valid.zip": zipped, "valid.utf8-zip": payload, "valid.json": credential} {
				if !bytes.Equal(readCommitted(t, "divoc/payloads/"+name), want) {
					t.Errorf("divoc/payloads/%s differs from what the generator makes", name)
				}
			}
		}
		if c.name != "valid" && c.name != "valid-ed25519" && c.name != "no-crl" {
			continue
		}
		img, err := clean.make(payload, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(readCommitted(t, "divoc/qr/"+c.name+clean.suffix), img) {
			t.Errorf("divoc/qr/%s%s differs from what the generator makes", c.name, clean.suffix)
		}
	}
}

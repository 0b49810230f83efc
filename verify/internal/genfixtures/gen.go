package main

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/crlverify/crlverify/verify/divoc"
	"github.com/crlverify/crlverify/verify/qr"
)

// generator builds every fixture in memory, then writes the files whose
// content changed.
type generator struct {
	out, vectors string
	// checkImages decodes every written image with qr.DecodeFile and
	// fails unless it gives back its payload.
	checkImages bool
	// noImages leaves the QR images out (they are the slow part); the
	// expected verdicts still list them.
	noImages bool
	log      io.Writer

	files    map[string][]byte // path under out (slash-separated) -> content
	kept     map[string]bool   // RSA-signed files kept as committed
	wrote    []string          // files written because their content changed
	images   []imageFile
	fixtures []fixture
}

type imageFile struct {
	path    string
	payload []byte
	what    string
}

// Directories under out that only this generator writes.
var ownDirs = []string{"divoc", "crl", "publisher", "demo"}

func newGenerator(out, vectors string, log io.Writer) *generator {
	return &generator{out: out, vectors: vectors, checkImages: true, log: log,
		files: map[string][]byte{}, kept: map[string]bool{}}
}

func (g *generator) put(path string, b []byte) {
	if _, dup := g.files[path]; dup {
		panic("genfixtures: two fixtures named " + path)
	}
	g.files[path] = b
}

// run builds, writes and checks every fixture.
func (g *generator) run() error {
	keys, err := loadDevKeys(g.vectors)
	if err != nil {
		return err
	}
	if err := g.certificates(keys); err != nil {
		return err
	}
	ts, err := trustStore(keys)
	if err != nil {
		return fmt.Errorf("trust store: %w", err)
	}
	g.put("trust.json", ts)
	if err := g.revocationList(); err != nil {
		return err
	}
	exp, err := g.expected()
	if err != nil {
		return err
	}
	g.put("divoc/expected.json", exp)
	g.put("README.md", readme())
	if err := g.write(); err != nil {
		return err
	}
	if g.checkImages && !g.noImages {
		if err := g.decodeImages(); err != nil {
			return err
		}
	}
	return g.reportStale()
}

// certificates mints every case and derives its payloads and images.
func (g *generator) certificates(keys *devKeys) error {
	signed := map[string][]byte{}
	for i := range cases {
		c := &cases[i]
		certPath := "divoc/certs/" + c.name + ".json"
		var file []byte
		var err error
		if c.tamperedFrom != "" {
			base, ok := signed[c.tamperedFrom]
			if !ok {
				return fmt.Errorf("%s: tampers %s, which is not minted before it", c.name, c.tamperedFrom)
			}
			if c.addTerm != nil {
				file, err = addTerm(base, c.addTerm)
			} else {
				file, err = tamper(base, c.tamperTo)
			}
		} else {
			var kept bool
			file, kept, err = keys.mint(c, filepath.Join(g.out, filepath.FromSlash(certPath)))
			g.kept[certPath] = kept
		}
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		if err := selfCheck(c, file, keys.signer(c.key).Public()); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		signed[c.name] = file
		g.put(certPath, file)
		g.record(certPath, c, "json", false, "the signed credential as a JSON file (indented)")

		credential, err := compact(file)
		if err != nil {
			return err
		}
		zipped, err := zipPayload(credential)
		if err != nil {
			return err
		}
		payload := expandUTF8(zipped)
		if err := checkPayload(payload, credential, divoc.FormUTF8ZIP); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		if c.name == "valid" {
			if err := g.validPayloads(c, credential, zipped, payload); err != nil {
				return err
			}
		}
		for _, r := range rendersFor(c) {
			var img []byte
			if !g.noImages {
				if img, err = r.make(payload, uint64(i+1)*1000); err != nil {
					return fmt.Errorf("%s%s: %w", c.name, r.suffix, err)
				}
			}
			p := "divoc/qr/" + c.name + r.suffix
			if !g.noImages {
				g.put(p, img)
			}
			g.images = append(g.images, imageFile{p, payload, r.what})
			g.record(p, c, "utf8-zip", true, "QR code of the UTF-8-expanded ZIP: "+r.what)
		}
	}
	return nil
}

// validPayloads writes the valid credential's payload in each form DIVOC
// uses, and a truncated ZIP as a malformed payload and QR code.
func (g *generator) validPayloads(c *certCase, credential, zipped, expanded []byte) error {
	if err := checkPayload(zipped, credential, divoc.FormZIP); err != nil {
		return err
	}
	if err := checkPayload(credential, credential, divoc.FormJSON); err != nil {
		return err
	}
	g.put("divoc/payloads/valid.zip", zipped)
	g.record("divoc/payloads/valid.zip", c, "raw-zip", false, "ZIP holding certificate.json")
	g.put("divoc/payloads/valid.utf8-zip", expanded)
	g.record("divoc/payloads/valid.utf8-zip", c, "utf8-zip", false,
		"the same ZIP UTF-8-expanded (each byte >= 0x80 as the UTF-8 of that code point), as DIVOC 2.x puts it in its QR codes")
	g.put("divoc/payloads/valid.json", credential)
	g.record("divoc/payloads/valid.json", c, "json", false, "the bare credential JSON (compact)")

	truncated := zipped[:len(zipped)/2]
	if _, _, err := divoc.DecodePayload(truncated); !errors.Is(err, divoc.ErrMalformed) {
		return fmt.Errorf("truncated ZIP: decoding gives %v, want a malformed payload", err)
	}
	bad := &certCase{name: "truncated-zip", what: "the first half of the valid credential's ZIP", want: malformedInput}
	g.put("divoc/payloads/truncated.zip", truncated)
	g.record("divoc/payloads/truncated.zip", bad, "", false, "ZIP cut in half")
	if !g.noImages {
		img, err := clean.make(truncated, 0)
		if err != nil {
			return err
		}
		g.put("divoc/qr/truncated-zip.png", img)
	}
	g.images = append(g.images, imageFile{"divoc/qr/truncated-zip.png", truncated, "truncated ZIP"})
	g.record("divoc/qr/truncated-zip.png", bad, "", true, "QR code of the ZIP cut in half (byte mode, ISO-8859-1)")
	return nil
}

// selfCheck makes sure a minted credential verifies with the key that
// signed it (its holder unsigned when the case says so), a tampered one
// does not, and one with a term added is refused for it.
func selfCheck(c *certCase, file []byte, pub crypto.PublicKey) error {
	cred, err := divoc.Parse(file)
	if err != nil {
		return err
	}
	err = divoc.Verify(cred, pub, nil)
	switch {
	case c.addTerm != nil:
		if !errors.Is(err, divoc.ErrUndefinedTerm) || !strings.Contains(err.Error(), fmt.Sprintf("%q", c.addTerm.key)) {
			return fmt.Errorf("credential with %s added: verification gives %v, want a term no context defines", c.addTerm.key, err)
		}
		return nil
	case c.tamperedFrom != "":
		if !errors.Is(err, divoc.ErrBadSignature) {
			return fmt.Errorf("tampered credential: verification gives %v, want a bad signature", err)
		}
		return nil
	case c.holder != holderDID:
		if !errors.Is(err, divoc.ErrUnsignedHolder) {
			return fmt.Errorf("credential with an unsigned holder: verification gives %v, want ErrUnsignedHolder", err)
		}
		err = nil
	}
	if err != nil {
		return fmt.Errorf("minted credential does not verify: %w", err)
	}
	if cred.Evidence.CertificateID != c.certID || cred.Proof.VerificationMethod != c.vm || cred.Issuer != c.issuer {
		return fmt.Errorf("minted credential reads back as %s/%s/%s", cred.Evidence.CertificateID, cred.Proof.VerificationMethod, cred.Issuer)
	}
	return nil
}

func checkPayload(payload, credential []byte, form divoc.Form) error {
	got, f, err := divoc.DecodePayload(payload)
	if err != nil {
		return fmt.Errorf("payload (%v) does not decode: %w", form, err)
	}
	if f != form || !bytes.Equal(got, credential) {
		return fmt.Errorf("payload decodes as %v to %d bytes, want %v and the %d-byte credential", f, len(got), form, len(credential))
	}
	return nil
}

// revocationList writes the test publisher's keys, the publication
// directory and the demo revocation files.
func (g *generator) revocationList() error {
	key, err := publisherKey()
	if err != nil {
		return err
	}
	priv, jwks, err := publisherFiles(key)
	if err != nil {
		return err
	}
	g.put("publisher/publisher.TESTONLY.jwk", priv)
	g.put("publisher/publisher.jwks", jwks)
	csvRows, jsonRows := demoRows()
	b, err := demoCSV(csvRows)
	if err != nil {
		return err
	}
	g.put("demo/revocations.csv", b)
	if b, err = demoJSONLines(jsonRows); err != nil {
		return err
	}
	g.put("demo/revocations.jsonl", b)
	pub, err := publication(key, append(slices.Clone(csvRows), jsonRows...))
	if err != nil {
		return fmt.Errorf("revocation list: %w", err)
	}
	for name, b := range pub {
		g.put("crl/"+name, b)
	}
	return nil
}

// write writes every file whose content differs from what is on disk.
func (g *generator) write() error {
	var total int64
	for _, p := range slices.Sorted(maps.Keys(g.files)) {
		b := g.files[p]
		total += int64(len(b))
		full := filepath.Join(g.out, filepath.FromSlash(p))
		state := "unchanged"
		if old, err := os.ReadFile(full); err != nil || !bytes.Equal(old, b) {
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(full, b, 0o644); err != nil {
				return err
			}
			state = "wrote"
			g.wrote = append(g.wrote, p)
		}
		if g.kept[p] {
			state += " (kept the committed RSA signature)"
		}
		fmt.Fprintf(g.log, "%-44s %8d  %s\n", p, len(b), state)
	}
	fmt.Fprintf(g.log, "%d files, %d bytes in all\n", len(g.files), total)
	return nil
}

// decodeImages reads every image back with the QR decoder.
func (g *generator) decodeImages() error {
	var opts *qr.Options // defaults: every attempt, whatever the machine's load
	for _, im := range g.images {
		path := filepath.Join(g.out, filepath.FromSlash(im.path))
		res, err := qr.ScanFile(path, opts)
		if err != nil {
			return fmt.Errorf("%s (%s) does not decode: %w", im.path, im.what, err)
		}
		if !bytes.Equal(res.Payload, im.payload) {
			return fmt.Errorf("%s (%s) decodes to %d bytes that differ from its %d-byte payload", im.path, im.what, len(res.Payload), len(im.payload))
		}
		if got, err := qr.DecodeFile(path, opts); err != nil || !bytes.Equal(got, im.payload) {
			return fmt.Errorf("%s: qr.DecodeFile does not give back the payload: %v", im.path, err)
		}
		fmt.Fprintf(g.log, "decoded %-40s strategy %q, %d attempt(s)\n", im.path, res.Strategy, res.Attempts)
	}
	return nil
}

// reportStale warns about files in the generator's own directories that it
// did not make (renamed or removed cases); it does not delete them.
func (g *generator) reportStale() error {
	for _, d := range ownDirs {
		root := filepath.Join(g.out, d)
		err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if e.IsDir() {
				return nil
			}
			rel, err := filepath.Rel(g.out, path)
			if err != nil {
				return err
			}
			if _, ok := g.files[filepath.ToSlash(rel)]; !ok && !strings.HasPrefix(e.Name(), ".") {
				fmt.Fprintf(g.log, "warning: %s is not made by this generator; remove it if it is stale\n", filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

package main

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mr-tron/base58"

	"github.com/crlverify/crlverify/verify/divoc"
)

// Files read from the DIVOC vectors directory. None of them is copied into
// the repository.
const (
	rsaPrivFile = "keys/divoc-dev-rsa.TESTONLY.priv.pem"
	rsaPubFile  = "keys/divoc-dev-rsa.pub.pem"
	edPrivFile  = "keys/divoc-dev-ed25519.TESTONLY.priv.base58"
	edPubFile   = "keys/divoc-dev-ed25519.pub.base58"
	rsaTemplate = "certs/divoc-dev-rsa2018.json"
	edTemplate  = "certs/divoc-dev-ed25519-2018.json"
)

// devKeys are DIVOC's published development keys and credential templates.
type devKeys struct {
	rsa           *rsa.PrivateKey
	ed            ed25519.PrivateKey
	rsaPub, edPub []byte // the public key files as published, for the trust store
	rsaTpl, edTpl map[string]any
}

// errNoVectors reports that the DIVOC development keys are missing.
var errNoVectors = errors.New("DIVOC development keys not found")

func loadDevKeys(dir string) (*devKeys, error) {
	if _, err := os.Stat(filepath.Join(dir, rsaPrivFile)); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s: the fixtures are minted with DIVOC's published development keys, "+
			"which are kept outside the repository (shared/vectors/divoc beside it); pass -vectors DIR", errNoVectors, dir)
	}
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) }
	k := &devKeys{}
	b, err := read(rsaPrivFile)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", rsaPrivFile)
	}
	if k.rsa, err = x509.ParsePKCS1PrivateKey(blk.Bytes); err != nil {
		pk, err8 := x509.ParsePKCS8PrivateKey(blk.Bytes)
		var ok bool
		if k.rsa, ok = pk.(*rsa.PrivateKey); err8 != nil || !ok {
			return nil, fmt.Errorf("%s: %v", rsaPrivFile, err)
		}
	}
	if k.rsaPub, err = read(rsaPubFile); err != nil {
		return nil, err
	}
	if b, err = read(edPrivFile); err != nil {
		return nil, err
	}
	raw, err := base58.Decode(strings.TrimSpace(string(b)))
	if err != nil || len(raw) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%s: want a base58 64-byte Ed25519 private key", edPrivFile)
	}
	k.ed = ed25519.PrivateKey(raw)
	if k.edPub, err = read(edPubFile); err != nil {
		return nil, err
	}
	pub, err := base58.Decode(strings.TrimSpace(string(k.edPub)))
	if err != nil || !bytes.Equal(pub, k.ed.Public().(ed25519.PublicKey)) {
		return nil, fmt.Errorf("%s does not match %s", edPubFile, edPrivFile)
	}
	if k.rsaTpl, err = readTemplate(filepath.Join(dir, rsaTemplate)); err != nil {
		return nil, err
	}
	if k.edTpl, err = readTemplate(filepath.Join(dir, edTemplate)); err != nil {
		return nil, err
	}
	return k, nil
}

func readTemplate(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	delete(m, "proof")
	return m, nil
}

func (k *devKeys) signer(kind keyKind) crypto.Signer {
	if kind == rsaKey {
		return k.rsa
	}
	return k.ed
}

// unsigned fills a copy of the template for c's key with c's data and
// returns the unsigned credential JSON.
func (k *devKeys) unsigned(c *certCase) ([]byte, error) {
	tpl := k.edTpl
	if c.key == rsaKey {
		tpl = k.rsaTpl
	}
	doc, err := deepCopy(tpl)
	if err != nil {
		return nil, err
	}
	host := strings.TrimSuffix(c.issuer, "/")
	doc["issuer"] = c.issuer
	doc["issuanceDate"] = c.issued.Format("2006-01-02T15:04:05.000Z")
	subj, ok := doc["credentialSubject"].(map[string]any)
	if !ok {
		return nil, errors.New("template has no credentialSubject object")
	}
	switch c.holder {
	case holderDID:
		subj["id"] = "did:in.gov.uidai.aadhaar:" + c.who.aadhaar
	case holderRelative:
		subj["id"] = c.who.aadhaar
	case holderEmpty:
		subj["id"] = ""
	}
	subj["refId"] = c.who.refID
	subj["name"] = c.who.name
	subj["gender"] = c.who.gender
	subj["age"] = c.who.age
	if c.who.dob != "" {
		subj["dob"] = c.who.dob
	}
	if c.context != "" {
		ctx, ok := doc["@context"].([]any)
		if !ok || len(ctx) != 2 {
			return nil, errors.New("template @context is not two URLs")
		}
		ctx[1] = c.context
	}
	evs, ok := doc["evidence"].([]any)
	if !ok || len(evs) != 1 {
		return nil, errors.New("template has no evidence array of one")
	}
	ev, ok := evs[0].(map[string]any)
	if !ok {
		return nil, errors.New("template evidence is not an object")
	}
	day := c.vaccinated.Format(time.DateOnly)
	until := c.effectiveUntil
	if until == "" {
		until = day
	}
	ev["id"] = host + "/vaccine/" + c.certID
	ev["feedbackUrl"] = host + "/?" + c.certID
	ev["infoUrl"] = host + "/?" + c.certID
	ev["certificateId"] = c.certID
	ev["date"] = c.vaccinated.Format("2006-01-02T15:04:05.000Z")
	ev["effectiveStart"] = day
	ev["effectiveUntil"] = until
	ev["dose"] = 2
	ev["totalDoses"] = 2
	return json.Marshal(doc)
}

func deepCopy(m map[string]any) (map[string]any, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, json.Unmarshal(b, &out)
}

// mint signs c and returns the credential as committed: indented JSON with
// a final newline. For an RSA signature, which is randomised, it returns
// the committed file instead when that differs from the new one only in
// its signature and its signature verifies, so regenerating changes
// nothing.
func (k *devKeys) mint(c *certCase, committedPath string) (file []byte, kept bool, err error) {
	u, err := k.unsigned(c)
	if err != nil {
		return nil, false, err
	}
	signed, err := divoc.Sign(u, k.signer(c.key), divoc.SignOptions{VerificationMethod: c.vm, Created: c.issued})
	if err != nil {
		return nil, false, fmt.Errorf("signing: %w", err)
	}
	file, err = indent(signed)
	if err != nil {
		return nil, false, err
	}
	if c.key == rsaKey {
		if old, ok := sameButSignature(committedPath, file, k.rsa.Public()); ok {
			return old, true, nil
		}
	}
	return file, false, nil
}

// sameButSignature returns the file at path when it equals fresh except
// for the proof's jws, and that jws verifies with pub.
func sameButSignature(path string, fresh []byte, pub crypto.PublicKey) ([]byte, bool) {
	old, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	oc, err := divoc.Parse(old)
	if err != nil || oc.Proof.JWS == "" {
		return nil, false
	}
	nc, err := divoc.Parse(fresh)
	if err != nil {
		return nil, false
	}
	if !bytes.Equal(bytes.Replace(fresh, []byte(nc.Proof.JWS), []byte(oc.Proof.JWS), 1), old) {
		return nil, false
	}
	// The signature, not the holder's coverage: a case may have its
	// holder unsigned on purpose.
	signed, err := divoc.Prepare(oc, nil)
	if err != nil || signed.Verify(pub) != nil {
		return nil, false
	}
	return old, true
}

// tamper changes the subject's name in a signed credential file to to,
// which must differ from it in exactly one character.
func tamper(file []byte, to string) ([]byte, error) {
	c, err := divoc.Parse(file)
	if err != nil {
		return nil, err
	}
	from := c.Subject.Name
	if len(from) != len(to) || diffCount(from, to) != 1 {
		return nil, fmt.Errorf("tampering %q into %q is not a one-character change", from, to)
	}
	old, _ := json.Marshal(from)
	repl, _ := json.Marshal(to)
	needle := append([]byte(`"name": `), old...)
	if bytes.Count(file, needle) != 1 {
		return nil, fmt.Errorf("the name %s is not found exactly once", old)
	}
	return bytes.Replace(file, needle, append([]byte(`"name": `), repl...), 1), nil
}

// addTerm adds e.key: e.value to the object at e.path of a signed
// credential file, leaving its proof as it was.
func addTerm(file []byte, e *termEdit) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(file, &doc); err != nil {
		return nil, err
	}
	obj := doc
	for _, k := range e.path {
		v := obj[k]
		if a, ok := v.([]any); ok && len(a) > 0 {
			v = a[0]
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s is not an object", strings.Join(e.path, "/"))
		}
		obj = m
	}
	if _, ok := obj[e.key]; ok {
		return nil, fmt.Errorf("%s already has %s", strings.Join(e.path, "/"), e.key)
	}
	obj[e.key] = e.value
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return indent(b)
}

func diffCount(a, b string) int {
	n := 0
	for i := range len(a) {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// indent returns JSON indented by two spaces, with a final newline.
func indent(b []byte) ([]byte, error) {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// compact returns JSON without insignificant white space: the form a QR
// payload carries.
func compact(b []byte) ([]byte, error) {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

package divoc

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// SignOptions says how [Sign] writes the proof.
type SignOptions struct {
	// VerificationMethod names the key, e.g. "did:india". Required.
	VerificationMethod string
	// Created is the proof's creation time, written to the second in UTC.
	// Required: signing is pure and reads no clock.
	Created time.Time
	// ProofPurpose defaults to "assertionMethod".
	ProofPurpose string
	// Contexts resolves @context URLs; nil means the bundled contexts.
	Contexts *Contexts
}

// Sign adds a DIVOC proof to an unsigned credential (JSON without "proof")
// and returns the signed credential JSON. Like DIVOC's own signer it
// refuses a key no context defines ([ErrUndefinedTerm]). An RSA key makes an
// RsaSignature2018 proof (RSASSA-PSS, SHA-256, salt 32: randomised), an
// Ed25519 key an Ed25519Signature2018 proof (deterministic).
//
// It exists to mint test certificates with published development keys;
// verifiers never need it.
func Sign(unsigned []byte, key crypto.Signer, o SignOptions) ([]byte, error) {
	if o.VerificationMethod == "" {
		return nil, fmt.Errorf("%w: SignOptions.VerificationMethod is required", ErrMalformed)
	}
	if o.Created.IsZero() {
		return nil, fmt.Errorf("%w: SignOptions.Created is required", ErrMalformed)
	}
	var proofType string
	switch key.Public().(type) {
	case *rsa.PublicKey:
		proofType = ProofRSA2018
	case ed25519.PublicKey:
		proofType = ProofEd25519Sig
	default:
		return nil, fmt.Errorf("%w: cannot sign with %s", ErrUnsupportedProof, keyKind(key.Public()))
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(unsigned))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: unsigned credential: %v", ErrMalformed, err)
	}
	if _, ok := doc["proof"]; ok {
		return nil, fmt.Errorf("%w: the credential already has a proof", ErrMalformed)
	}
	purpose := o.ProofPurpose
	if purpose == "" {
		purpose = purposeAssertion
	}
	proof := map[string]any{
		"type":               proofType,
		"created":            o.Created.UTC().Truncate(time.Second).Format(time.RFC3339),
		"verificationMethod": o.VerificationMethod,
		"proofPurpose":       purpose,
	}
	// Canonicalise what a verifier will canonicalise: the parsed credential.
	doc["proof"] = proof
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, err
	}
	l := loader{(&Options{Contexts: o.Contexts}).contexts()}
	proofHash, _, err := canonicalHash(c.proof, l, nil)
	if err != nil {
		return nil, fmt.Errorf("proof: %w", err)
	}
	docHash, _, err := canonicalHash(c.doc, l, nil)
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	hdr := base64.RawURLEncoding.EncodeToString([]byte(jwsHeaders[proofType]))
	input := make([]byte, 0, len(hdr)+1+2*sha256.Size)
	input = append(input, hdr...)
	input = append(input, '.')
	input = append(input, proofHash[:]...)
	input = append(input, docHash[:]...)

	var sig []byte
	switch proofType {
	case ProofRSA2018:
		h := sha256.Sum256(input)
		sig, err = key.Sign(rand.Reader, h[:], &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256})
	default:
		sig, err = key.Sign(rand.Reader, input, crypto.Hash(0))
	}
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	proof["jws"] = hdr + ".." + base64.RawURLEncoding.EncodeToString(sig)
	// Verify what was written, so a fixture never carries a proof that
	// does not check out (an unsigned field, an unknown context). A holder
	// the signature does not cover is allowed: verifiers must meet such
	// credentials, so fixtures are made of them.
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	signed, err := Parse(out)
	if err != nil {
		return nil, err
	}
	s, err := Prepare(signed, &Options{Contexts: o.Contexts})
	if err == nil {
		err = s.Verify(key.Public())
	}
	if err != nil {
		return nil, fmt.Errorf("the signed credential does not verify: %w", err)
	}
	return out, nil
}

package divoc

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/piprate/json-gold/ld"
)

// Proof types this package verifies and signs.
const (
	ProofRSA2018     = "RsaSignature2018"
	ProofEd25519Sig  = "Ed25519Signature2018"
	purposeAssertion = "assertionMethod"
	maxJWS           = 4 << 10
)

// The protected JWS headers DIVOC writes, one per proof type.
var jwsHeaders = map[string]string{
	ProofRSA2018:    `{"alg":"PS256","b64":false,"crit":["b64"]}`,
	ProofEd25519Sig: `{"alg":"EdDSA","b64":false,"crit":["b64"]}`,
}

// Options configures canonicalisation. A nil *Options means defaults.
type Options struct {
	// Contexts resolves @context URLs; nil means the bundled contexts
	// ([DefaultContexts]).
	Contexts *Contexts
}

func (o *Options) contexts() *Contexts {
	if o == nil || o.Contexts == nil {
		return defaultContexts()
	}
	return o.Contexts
}

// Signed is a credential with the data its proof signs computed: the
// expensive, key-independent half of verification. Check it against each
// candidate key with [Signed.Verify].
type Signed struct {
	proofType      string
	input          []byte // the JWS signing input
	sig            []byte
	revIDs         []string
	unsignedHolder []string
}

// Prepare canonicalises c (URDNA2015, with contexts from opts) and checks
// that every field c reports is covered by the signed data. It needs no key.
//
// A field the signature does not cover is an error, except the holder's:
// when JSON-LD drops the credentialSubject (its id is a relative IRI or
// empty), Prepare succeeds and [Signed.UnsignedHolder] lists what is not
// signed, so that the signature is still checked and the caller decides.
//
// Errors wrap [ErrBadSignature] (no proof), [ErrUnsupportedProof],
// [ErrUnknownContext] or [ErrMalformed] (with [ErrUndefinedTerm] for a key
// no context defines, [ErrUnsignedField] for another field the signature
// does not cover).
func Prepare(c *Credential, opts *Options) (*Signed, error) {
	if c == nil || c.doc == nil {
		return nil, fmt.Errorf("%w: no credential", ErrMalformed)
	}
	if c.proof == nil {
		return nil, fmt.Errorf("%w: the credential has no proof", ErrBadSignature)
	}
	hdr, ok := jwsHeaders[c.Proof.Type]
	if !ok {
		return nil, fmt.Errorf("%w: proof type %q", ErrUnsupportedProof, c.Proof.Type)
	}
	if c.Proof.ProofPurpose != purposeAssertion {
		return nil, fmt.Errorf("%w: proof purpose %q, want %s", ErrUnsupportedProof, c.Proof.ProofPurpose, purposeAssertion)
	}
	sig, err := parseJWS(c.Proof.JWS, c.Proof.Type, hdr)
	if err != nil {
		return nil, err
	}
	l := loader{opts.contexts()}
	proofHash, proofGraph, err := canonicalHash(c.proof, l, []string{""})
	if err != nil {
		return nil, fmt.Errorf("proof: %w", err)
	}
	want := []string{""}
	if c.evidence != "" {
		want = append(want, c.evidence)
	}
	for _, f := range c.fields {
		if f.doc && !slices.Contains(want, f.node) {
			want = append(want, f.node)
		}
	}
	docHash, docGraph, err := canonicalHash(c.doc, l, want)
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	s := &Signed{proofType: c.Proof.Type, sig: sig}
	for _, f := range c.fields {
		g, where := docGraph, "credential"
		if !f.doc {
			g, where = proofGraph, "proof"
		}
		if g.covered(f.node, f.key, f.value) {
			continue
		}
		if f.doc && c.subject != "" && f.node == c.subject {
			s.unsignedHolder = append(s.unsignedHolder, f.key)
			continue
		}
		return nil, fmt.Errorf("%w: %w: %s %s/%s (JSON-LD drops it: its node's id or its value is not an absolute IRI)",
			ErrMalformed, ErrUnsignedField, where, f.node, f.key)
	}
	s.input = make([]byte, 0, len(hdr)*2+1+2*sha256.Size)
	s.input = base64.RawURLEncoding.AppendEncode(s.input, []byte(hdr))
	s.input = append(s.input, '.')
	s.input = append(s.input, proofHash[:]...)
	s.input = append(s.input, docHash[:]...)
	s.revIDs = docGraph.revocationIDs(c)
	return s, nil
}

// UnsignedHolder returns the credentialSubject keys the credential has
// ("id", "name", "dob", "gender", "age", "nationality", "refId") that the
// signature does not cover, in the credential's order; nil when the holder
// is signed. A genuine signature then proves who issued the certificate,
// not whom it belongs to.
func (s *Signed) UnsignedHolder() []string { return slices.Clone(s.unsignedHolder) }

// Verify checks the signature with key: an *rsa.PublicKey for
// RsaSignature2018 (RSASSA-PSS, SHA-256, salt 32), an ed25519.PublicKey for
// Ed25519Signature2018. A key of the other kind fails. Errors wrap
// [ErrBadSignature].
func (s *Signed) Verify(key crypto.PublicKey) error {
	switch s.proofType {
	case ProofRSA2018:
		k, ok := key.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: %s needs an RSA key, got %s", ErrBadSignature, s.proofType, keyKind(key))
		}
		h := sha256.Sum256(s.input)
		err := rsa.VerifyPSS(k, crypto.SHA256, h[:], s.sig, &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256})
		if err != nil {
			return fmt.Errorf("%w: %v", ErrBadSignature, err)
		}
		return nil
	case ProofEd25519Sig:
		k, ok := key.(ed25519.PublicKey)
		if !ok {
			if p, isPtr := key.(*ed25519.PublicKey); isPtr && p != nil {
				k, ok = *p, true
			}
		}
		if !ok {
			return fmt.Errorf("%w: %s needs an Ed25519 key, got %s", ErrBadSignature, s.proofType, keyKind(key))
		}
		if len(k) != ed25519.PublicKeySize || !ed25519.Verify(k, s.input, s.sig) {
			return fmt.Errorf("%w: Ed25519 signature does not verify", ErrBadSignature)
		}
		return nil
	}
	return fmt.Errorf("%w: proof type %q", ErrUnsupportedProof, s.proofType)
}

// RevocationIDs returns the ids to look up in a revocation list: the
// certificate id first, then every other literal of the signed evidence.
//
// The DIVOC contexts map certificateId, batch, vaccine and manufacturer to
// the same property (schema:id), so the signature binds the set of these
// values, not which one is the certificate id: a holder can swap them and
// the signature still verifies. Looking up every signed evidence value
// closes that hole; the values of other fields (dates, batch names) do not
// collide with certificate ids in practice.
func (s *Signed) RevocationIDs() []string { return slices.Clone(s.revIDs) }

// Verify checks c's proof with key: [Prepare] then [Signed.Verify]. When
// the signature verifies but does not cover the holder, it returns an
// error wrapping [ErrUnsignedHolder] (and not [ErrBadSignature]): a caller
// that accepts such certificates calls Prepare and Signed.Verify itself,
// and shows [Signed.UnsignedHolder] as unsigned.
func Verify(c *Credential, key crypto.PublicKey, opts *Options) error {
	s, err := Prepare(c, opts)
	if err != nil {
		return err
	}
	if err := s.Verify(key); err != nil {
		return err
	}
	if len(s.unsignedHolder) > 0 {
		return fmt.Errorf("%w (%s %s not signed: its credentialSubject id %q is not an absolute IRI)",
			ErrUnsignedHolder, strings.Join(s.unsignedHolder, ", "), isAre(len(s.unsignedHolder)), c.Subject.ID)
	}
	return nil
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// parseJWS checks a detached, unencoded-payload JWS and returns its
// signature. The header must be exactly the one DIVOC writes for the proof
// type, so no other algorithm or critical parameter can slip in.
func parseJWS(jws, proofType, wantHdr string) ([]byte, error) {
	if jws == "" {
		return nil, fmt.Errorf("%w: the proof has no jws", ErrBadSignature)
	}
	if len(jws) > maxJWS {
		return nil, fmt.Errorf("%w: jws is %d bytes, the limit is %d", ErrTooLarge, len(jws), maxJWS)
	}
	h64, sig64, ok := strings.Cut(jws, "..")
	if !ok || strings.Contains(sig64, ".") {
		return nil, fmt.Errorf("%w: jws is not a detached JWS (header..signature)", ErrMalformed)
	}
	hdr, err := base64.RawURLEncoding.DecodeString(h64)
	if err != nil {
		return nil, fmt.Errorf("%w: jws header: %v", ErrMalformed, err)
	}
	if string(hdr) != wantHdr {
		var got struct {
			Alg  string   `json:"alg"`
			B64  *bool    `json:"b64"`
			Crit []string `json:"crit"`
		}
		if json.Unmarshal(hdr, &got) != nil {
			return nil, fmt.Errorf("%w: jws header is not JSON", ErrMalformed)
		}
		return nil, fmt.Errorf("%w: jws header %s does not match %s (want %s)", ErrUnsupportedProof, hdr, proofType, wantHdr)
	}
	sig, err := base64.RawURLEncoding.DecodeString(sig64)
	if err != nil {
		return nil, fmt.Errorf("%w: jws signature: %v", ErrMalformed, err)
	}
	return sig, nil
}

// canonicalHash returns SHA-256 of the URDNA2015 N-Quads of doc, and the
// signed graph with the expanded node objects found at the JSON pointers in
// want.
func canonicalHash(doc map[string]any, l loader, want []string) (sum [sha256.Size]byte, _ *signedGraph, err error) {
	var zero [sha256.Size]byte
	defer recoverLD(&err)
	nodes := make(map[string]map[string]any, len(want))
	orig := doc
	ac, err := l.c.activeContext(doc["@context"])
	if err != nil {
		return zero, nil, err
	}
	if ac != nil {
		// json-gold writes into the context it is given (its processing
		// mode), so each use gets a shallow copy of the cached one.
		doc = maps.Clone(doc)
		doc["@context"] = ld.CopyContext(ac)
	}
	opts := ldOptions(l)
	opts.ExpandedElementHandler = func(ptr string, expanded any) {
		if m, ok := expanded.(map[string]any); ok && slices.Contains(want, ptr) {
			nodes[ptr] = m
		}
	}
	proc := ld.NewJsonLdProcessor()
	ds, err := proc.ToRDF(doc, opts)
	if isUndefinedTerm(err) {
		return zero, nil, undefinedTermError(orig, l)
	}
	if err != nil {
		return zero, nil, ldError(err)
	}
	dataset, ok := ds.(*ld.RDFDataset)
	if !ok {
		return zero, nil, fmt.Errorf("%w: unexpected RDF result %T", ErrMalformed, ds)
	}
	g := &signedGraph{nodes: nodes}
	for _, quads := range dataset.Graphs {
		g.quads = append(g.quads, quads...)
	}
	nopts := ld.NewJsonLdOptions("")
	nopts.Algorithm = ld.AlgorithmURDNA2015
	nopts.Format = "application/n-quads"
	out, err := ld.NewJsonLdApi().Normalize(dataset, nopts)
	if err != nil {
		return zero, nil, ldError(err)
	}
	nq, ok := out.(string)
	if !ok {
		return zero, nil, fmt.Errorf("%w: unexpected canonical form %T", ErrMalformed, out)
	}
	if nq == "" {
		return zero, nil, fmt.Errorf("%w: the document expands to no data", ErrMalformed)
	}
	return sha256.Sum256([]byte(nq)), g, nil
}

// ldOptions are the options of every canonicalisation. Safe mode makes
// expansion refuse a key no context defines instead of dropping it (see
// [ErrUndefinedTerm]); json-gold reads it from the options a context was
// processed with, so the cached contexts are processed with these.
func ldOptions(l loader) *ld.JsonLdOptions {
	opts := ld.NewJsonLdOptions("")
	opts.DocumentLoader = l
	opts.ProcessingMode = ld.JsonLd_1_1
	opts.SafeMode = true
	return opts
}

// recoverLD turns a panic inside json-gold (it asserts types of context
// values it has not checked) into an error, so crafted input cannot crash
// the verifier.
func recoverLD(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: JSON-LD processing failed: %v", ErrMalformed, r)
	}
}

// ldError classifies a json-gold error.
func ldError(err error) error {
	if errors.Is(err, ErrUnknownContext) {
		return err
	}
	return fmt.Errorf("%w: JSON-LD: %v", ErrMalformed, err)
}

func keyKind(k crypto.PublicKey) string {
	switch k.(type) {
	case *rsa.PublicKey:
		return "an RSA key"
	case ed25519.PublicKey, *ed25519.PublicKey:
		return "an Ed25519 key"
	case nil:
		return "no key"
	}
	return fmt.Sprintf("a %T", k)
}

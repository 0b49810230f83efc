package dcc

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"slices"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"
)

// KeyID returns the key identifier the hcert specification gives a
// document signer certificate: the first 8 bytes of the SHA-256 of its DER
// encoding.
func KeyID(cert *x509.Certificate) []byte {
	sum := sha256.Sum256(cert.Raw)
	return sum[:8]
}

// VerifyWith checks the certificate's signature against one document
// signer certificate: the message's kid must be that certificate's
// ([ErrKIDMismatch]), the algorithm ES256 with a P-256 key or PS256 with an
// RSA key of at least 2048 bits ([ErrUnsupportedAlgorithm]), and the
// signature must verify ([ErrBadSignature]). It checks nothing else: see
// [Certificate.Verify] for the whole trust decision.
func (c *Certificate) VerifyWith(dsc *x509.Certificate) error {
	if !bytes.Equal(c.KID, KeyID(dsc)) {
		return wrap(ErrKIDMismatch, "kid %x, certificate %x", c.KID, KeyID(dsc))
	}
	return c.verifySignature(dsc.PublicKey)
}

func (c *Certificate) verifySignature(pub crypto.PublicKey) error {
	switch c.Algorithm {
	case ES256:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok || k.Curve != elliptic.P256() {
			return wrap(ErrUnsupportedAlgorithm, "ES256 needs a P-256 key, the document signer has %s", keyKind(pub))
		}
	case PS256:
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return wrap(ErrUnsupportedAlgorithm, "PS256 needs an RSA key, the document signer has %s", keyKind(pub))
		}
		if k.N.BitLen() < 2048 {
			return wrap(ErrUnsupportedAlgorithm, "RSA key of %d bits, less than 2048", k.N.BitLen())
		}
	default:
		return wrap(ErrUnsupportedAlgorithm, "%v (only ES256 and PS256 are allowed)", c.Algorithm)
	}
	v, err := cose.NewVerifier(cose.Algorithm(c.Algorithm), pub)
	if err != nil {
		return wrap(ErrUnsupportedAlgorithm, "%v", err)
	}
	tbs, err := c.toBeSigned()
	if err != nil {
		return wrap(ErrCOSE, "%v", err)
	}
	if err := v.Verify(tbs, c.signature); err != nil {
		return wrap(ErrBadSignature, "%v", err)
	}
	return nil
}

// toBeSigned is the Sig_structure of RFC 9052 section 4.4 for a
// COSE_Sign1 message without external data: ["Signature1", protected
// header bytes as received, h”, payload].
func (c *Certificate) toBeSigned() ([]byte, error) {
	return encMode.Marshal([]any{"Signature1", cbor.RawMessage(c.protected), []byte{}, c.payload})
}

func keyKind(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return "an EC " + k.Curve.Params().Name + " key"
	case *rsa.PublicKey:
		return fmt.Sprintf("an RSA %d key", k.N.BitLen())
	}
	return fmt.Sprintf("a %T key", pub)
}

// Extended key usage OIDs a document signer certificate may carry to limit
// the kinds of certificate it signs. The hcert specification's arc is
// 1.3.6.1.4.1.1847.2021.1; some issuers use 1.3.6.1.4.1.0.1847.2021.1,
// which verifiers accept as the same.
var (
	OIDTest        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 1847, 2021, 1, 1}
	OIDVaccination = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 1847, 2021, 1, 2}
	OIDRecovery    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 1847, 2021, 1, 3}

	OIDTestAlt        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 0, 1847, 2021, 1, 1}
	OIDVaccinationAlt = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 0, 1847, 2021, 1, 2}
	OIDRecoveryAlt    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 0, 1847, 2021, 1, 3}
)

var usageOIDs = []struct {
	oid asn1.ObjectIdentifier
	t   Type
}{
	{OIDTest, TypeTest}, {OIDVaccination, TypeVaccination}, {OIDRecovery, TypeRecovery},
	{OIDTestAlt, TypeTest}, {OIDVaccinationAlt, TypeVaccination}, {OIDRecoveryAlt, TypeRecovery},
}

// AllowedTypes returns the kinds of certificate a document signer
// certificate may sign. A certificate carrying none of the DCC extended key
// usage OIDs (no extended key usage at all, or only unrelated ones) may sign
// every kind; otherwise only the kinds it names.
func AllowedTypes(dsc *x509.Certificate) []Type {
	var ts []Type
	for _, u := range usageOIDs {
		for _, oid := range dsc.UnknownExtKeyUsage {
			if oid.Equal(u.oid) && !slices.Contains(ts, u.t) {
				ts = append(ts, u.t)
			}
		}
	}
	if len(ts) == 0 {
		return []Type{TypeVaccination, TypeTest, TypeRecovery}
	}
	slices.SortFunc(ts, func(a, b Type) int { return typeOrder(a) - typeOrder(b) })
	return ts
}

func typeOrder(t Type) int {
	return map[Type]int{TypeVaccination: 0, TypeTest: 1, TypeRecovery: 2}[t]
}

// CheckKeyUsage checks that dsc's extended key usage allows every kind of
// entry the certificate holds ([ErrKeyUsage]). A certificate holding no
// entry at all fails too: there is nothing the key could be allowed for.
func (c *Certificate) CheckKeyUsage(dsc *x509.Certificate) error {
	types := c.DCC.Types()
	if len(types) == 0 {
		return wrap(ErrKeyUsage, "the certificate holds no vaccination, test or recovery entry")
	}
	allowed := AllowedTypes(dsc)
	for _, t := range types {
		if !slices.Contains(allowed, t) {
			return wrap(ErrKeyUsage, "a %s certificate, but the document signer is limited to %s", t, typeList(allowed))
		}
	}
	return nil
}

func typeList(ts []Type) string {
	var b bytes.Buffer
	for i, t := range ts {
		if i > 0 {
			b.WriteString(" and ")
		}
		b.WriteString(t.String())
	}
	return b.String()
}

// CheckSignerValidity checks the certificate's dates against its document
// signer certificate's validity, as the hcert specification requires of
// issuers: issued (iat) no earlier than the signer's NotBefore, expiring
// (exp) no later than its NotAfter ([ErrSignerValidity]). Together with
// [Certificate.CheckValidity] this means the signer's certificate was valid
// both when the certificate was signed and at the time of the check.
func (c *Certificate) CheckSignerValidity(dsc *x509.Certificate) error {
	if c.IssuedAt.Before(dsc.NotBefore) {
		return wrap(ErrSignerValidity, "issued %s, before its document signer certificate was valid (from %s)",
			stamp(c.IssuedAt), stamp(dsc.NotBefore))
	}
	if c.Expires.After(dsc.NotAfter) {
		return wrap(ErrSignerValidity, "expires %s, after its document signer certificate (until %s)",
			stamp(c.Expires), stamp(dsc.NotAfter))
	}
	return nil
}

// CheckValidity checks the certificate's own dates at time at: issued no
// later than at+skew ([ErrNotYetValid]; skew tolerates a device clock that
// is behind), and at before the expiry ([ErrExpired]).
func (c *Certificate) CheckValidity(at time.Time, skew time.Duration) error {
	if c.IssuedAt.After(at.Add(skew)) {
		return wrap(ErrNotYetValid, "issued %s, after the time of the check (%s)", stamp(c.IssuedAt), stamp(at))
	}
	if !at.Before(c.Expires) {
		return wrap(ErrExpired, "expired %s", stamp(c.Expires))
	}
	return nil
}

// CheckCountry checks the CWT issuer country against the document
// signer's country ([ErrCountryMismatch]). Either may be unknown (the iss
// claim is optional; a bare certificate may name no country), and then
// there is nothing to compare.
func (c *Certificate) CheckCountry(s *Signer) error {
	if c.Issuer == "" || s.Country == "" || c.Issuer == s.Country {
		return nil
	}
	return wrap(ErrCountryMismatch, "issued by %q, signed by a document signer of %q", c.Issuer, s.Country)
}

// Verify decides whether a trusted document signer signed the certificate
// and may have signed it. It looks the kid up in signers; for each
// certificate with that kid (several may share one), it checks the
// signature ([Certificate.VerifyWith]), then the issuer country
// ([Certificate.CheckCountry]), the key usage ([Certificate.CheckKeyUsage])
// and the signer's validity ([Certificate.CheckSignerValidity]). The first
// signer passing every check is returned. Otherwise the error is
// [ErrUnknownSigner] when no certificate has the kid, and else the failure
// of the signer that got furthest (a valid signature with the wrong key
// usage says more than a signature that does not verify).
//
// Verify does not check the certificate's own dates: that is
// [Certificate.CheckValidity], which a verifier applies after the
// revocation check.
func (c *Certificate) Verify(signers *Signers) (*Signer, error) {
	if len(c.KID) == 0 {
		return nil, wrap(ErrUnknownSigner, "the message has no key identifier")
	}
	candidates := signers.Lookup(c.KID)
	if len(candidates) == 0 {
		return nil, wrap(ErrUnknownSigner, "no trusted document signer has kid %s", KIDString(c.KID))
	}
	var best error
	bestRank := -1
	for _, s := range candidates {
		rank, err := c.verifyOne(s)
		if err == nil {
			return s, nil
		}
		if rank > bestRank {
			best, bestRank = err, rank
		}
	}
	return nil, best
}

func (c *Certificate) verifyOne(s *Signer) (int, error) {
	// The signer was found under the message's kid.
	if err := c.verifySignature(s.Certificate.PublicKey); err != nil {
		return 0, err
	}
	for i, check := range []func() error{
		func() error { return c.CheckCountry(s) },
		func() error { return c.CheckKeyUsage(s.Certificate) },
		func() error { return c.CheckSignerValidity(s.Certificate) },
	} {
		if err := check(); err != nil {
			return i + 1, err
		}
	}
	return 0, nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

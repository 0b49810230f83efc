package dcc

import (
	"time"
)

// Options tunes [Check]. A nil *Options means defaults.
type Options struct {
	// ClockSkew tolerates a certificate issued this much after the time of
	// the check (device clocks drift). Default: none.
	ClockSkew time.Duration
	// SkipSchema skips the schema validation (for certificates of issuers
	// known to depart from it in harmless ways). Default: validate.
	SkipSchema bool
}

// Verified is a certificate whose signature a trusted document signer
// vouches for.
type Verified struct {
	*Certificate
	// Signer is the document signer that verified it; nil when the
	// signature was not (yet) verified.
	Signer *Signer
}

// RevocationIssuer is the name to look the certificate up under in a
// revocation list: the issuing country, from the CWT iss claim, or else
// the verifying document signer's country. Empty when neither is known.
// [Certificate.Verify] has checked that the two agree when both are there.
func (v *Verified) RevocationIssuer() string {
	if v.Issuer != "" {
		return v.Issuer
	}
	if v.Signer != nil {
		return v.Signer.Country
	}
	return ""
}

// RevocationIDs are the ids to look up in the issuer's revocation list:
// the unique certificate identifier (UVCI, ci) of the entry, exactly as
// signed.
func (v *Verified) RevocationIDs() []string { return v.DCC.IDs() }

// Check runs every check on a payload at time at, in order, and stops at
// the first failure:
//
//  1. [Decode]: prefix, base45, zlib, COSE, CWT claims, certificate data.
//  2. [DCC.Validate]: the DCC schema (unless Options.SkipSchema).
//  3. [Certificate.Verify]: a trusted document signer with the kid, the
//     signature, the issuer country, the key usage, the signer's validity.
//  4. [Certificate.CheckValidity]: issued no later than at, not expired.
//
// The returned *Verified is nil only when decoding failed; otherwise it
// holds the certificate for display, and its Signer once step 3 passed.
// Revocation is the caller's: look up [Verified.RevocationIDs] under
// [Verified.RevocationIssuer] between steps 3 and 4.
func Check(payload []byte, signers *Signers, at time.Time, opts *Options) (*Verified, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	c, err := Decode(payload)
	if err != nil {
		return nil, err
	}
	v := &Verified{Certificate: c}
	if !o.SkipSchema {
		if err := c.DCC.Validate(); err != nil {
			return v, err
		}
	}
	if v.Signer, err = c.Verify(signers); err != nil {
		return v, err
	}
	return v, c.CheckValidity(at, o.ClockSkew)
}

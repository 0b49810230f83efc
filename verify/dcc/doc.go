// Package dcc reads and verifies EU Digital COVID Certificates (DCC), the
// health certificates of the EU's hcert specification, offline: from the
// text of their QR or Aztec code to a certificate whose signature a trusted
// document signer vouches for, with its fields for display and the
// identifier to look up in a revocation list.
//
// # Decoding
//
// A payload goes through these steps; each has its function, and its
// failure wraps its own sentinel error, so a caller can tell which step
// failed ([errors.Is]):
//
//  1. Context identifier ([Unprefix], [ErrPrefix]): the text starts with
//     "HC1:" exactly. "HC2:" (a future version), anything else, or bare
//     base45 is refused.
//  2. Base45 ([DecodeBase45], [ErrBase45]), RFC 9285, strictly: only the 45
//     characters of QR alphanumeric mode, a length of 3k or 3k+2, each group
//     of three at most 65535, a final pair at most 255.
//  3. Zlib ([Inflate], [ErrCompression]): one complete RFC 1950 stream with
//     a correct checksum and nothing after it. The hcert specification makes
//     compression mandatory; uncompressed data is refused (the EU test case
//     Z2 expects exactly that).
//  4. COSE_Sign1 ([DecodeCOSE], [ErrCOSE]): untagged, tagged 18, or tagged
//     18 inside CWT tag 61; headers, payload and signature as RFC 9052
//     defines them (parsed by github.com/veraison/go-cose: definite lengths,
//     no duplicate header labels, a byte-string payload). The key
//     identifier (kid) is taken from the protected header, or else from the
//     unprotected one: the specification allows either, and when both have
//     one the protected one counts (EU test cases CO18 to CO23). The
//     algorithm is taken the same way. Critical headers are refused.
//  5. CWT claims ([ErrCWT]): a map holding iss (1, optional, a string),
//     exp (4) and iat (6) (numbers of seconds, 0 to year 9999) and the
//     hcert claim (-260), a map whose key 1 holds the certificate data.
//  6. Certificate data ([ErrDCC]): JSON-compatible CBOR (maps with text
//     keys, arrays, text, numbers, booleans, null); byte strings, tags and
//     "undefined" are refused. It is kept as JSON with sorted keys
//     ([DCC.JSON]) and as typed fields ([DCC]).
//
// CBOR is decoded with github.com/fxamacker/cbor/v2 strictly: duplicate map
// keys, invalid UTF-8, NaN and infinities, integers beyond int64 are
// refused; indefinite lengths are allowed inside the claims (some issuers
// write them) but bounded like everything else.
//
// # Bounds
//
// The payload is at most [MaxPayloadSize] bytes, the inflated message at
// most [MaxMessageSize]; CBOR nests at most [MaxNesting] deep with at most
// [MaxElements] elements per array or map. Document signer files are at
// most [MaxSignerFileSize] with at most [MaxSigners] certificates of at
// most [MaxCertificateSize] bytes. An input over a bound fails with
// [ErrTooLarge] before it is processed further.
//
// # Schema
//
// [DCC.Validate] checks the certificate data against the EU DCC JSON
// schema, with the rules written out here from the published schema
// (version 1.3.3, github.com/ehn-dcc-development/eu-dcc-schema) rather than
// interpreted from a copy of it:
//
//   - ver is MAJOR.MINOR.PATCH with major version 1;
//   - nam is an object; fn, gn, fnt, gnt are text of at most 80
//     characters, fnt and gnt only A-Z and "<"; fnt is required before
//     version 1.3.2, fnt or gnt from 1.3.2 on;
//   - dob is YYYY, YYYY-MM or YYYY-MM-DD with a year 1900-2099, or empty,
//     and a real calendar month and day;
//   - exactly one of the groups v, t, r is present, holding exactly one
//     entry (the schema's oneOf and maxItems; EU test case DGC2 refuses a
//     certificate holding two groups also for versions that predate them);
//   - a vaccination entry has tg, vp, mp, ma, co, is, ci (text), dn and sd
//     (integers of at least 1) and dt (a date, YYYY-MM-DD);
//   - a test entry has tg, tt, tr, co, is, ci, sc (an RFC 3339 date-time
//     with a time zone) and optionally nm, ma, tc;
//   - a recovery entry has tg, co, is, ci and the dates fr, df, du;
//   - is, ci, nm and tc are at most 80 characters; co matches the schema's
//     (unanchored) pattern [A-Z]{1,10}.
//
// Members the schema does not define are allowed, as in the schema. The
// "format": "date" and "date-time" annotations are checked. Code fields are
// not checked against the value sets (the schema does not enumerate them):
// an unknown code is shown as it is.
//
// # Trust
//
// A document signer certificate (DSC) signs certificates. [Signers] holds
// the trusted ones, indexed by kid: the first 8 bytes of the SHA-256 of the
// certificate's DER ([KeyID]). They are read from PEM or DER files, from a
// directory of them, or from a DSC list in the common JSON form
// [{"kid", "country", "rawData"}] that the EU gateway and national
// backends publish ([ParseSignerList]: each kid must be its certificate's).
// The kid is a truncated hash, so several certificates may share one; each
// is tried.
//
// [Certificate.Verify] decides, for each signer with the kid, in this
// order, and returns the first that passes everything:
//
//  1. the algorithm is ES256 with a P-256 key or PS256 with an RSA key of
//     at least 2048 bits, and the signature verifies over the COSE
//     Sig_structure ([ErrUnsupportedAlgorithm], [ErrBadSignature]);
//  2. the CWT issuer country, when the certificate names one, is the
//     signer's country, when that is known ([ErrCountryMismatch]);
//  3. the signer's extended key usage allows the certificate's type
//     ([ErrKeyUsage]): OIDs 1.3.6.1.4.1.1847.2021.1.1 (test), .2
//     (vaccination), .3 (recovery), or the same under
//     1.3.6.1.4.1.0.1847.2021.1; a signer with none of these OIDs may
//     sign every type;
//  4. the certificate was issued (iat) no earlier than the signer's
//     NotBefore and expires (exp) no later than its NotAfter
//     ([ErrSignerValidity]): the hcert specification forbids issuers
//     anything else, and the EU test cases check exactly
//     NotBefore <= iat <= time of check <= exp <= NotAfter.
//
// No signer with the kid is [ErrUnknownSigner]. [Certificate.CheckValidity]
// then checks the certificate's own dates at the time of the check: not
// issued after it ([ErrNotYetValid]), not expired ([ErrExpired]). With
// step 4, the signer's certificate is then valid both when the certificate
// was signed and at the time of the check. Times are always arguments;
// nothing here reads a clock.
//
// # Verdict
//
// [Check] runs the whole sequence: decode, schema, signer, dates. A verdict
// built on it maps the errors so: a decoding or schema error (up to
// [ErrSchema]) is a malformed certificate; [ErrUnknownSigner] an unknown
// issuer; [ErrKIDMismatch], [ErrBadSignature], [ErrUnsupportedAlgorithm],
// [ErrCountryMismatch], [ErrKeyUsage] and [ErrSignerValidity] a bad
// signature (the signer does not vouch for this certificate); then the
// revocation check; then [ErrNotYetValid] and [ErrExpired].
//
// # Revocation
//
// A certificate is revoked by its unique certificate identifier (UVCI, the
// entry's ci), exactly as signed, in the revocation list of its issuing
// country: [Verified.RevocationIDs] and [Verified.RevocationIssuer] (the
// iss claim, or else the signer's country).
//
// # Display
//
// [Certificate.Display] gives the fields a person reads: the name as
// written and transliterated, date of birth, UVCI, dose, and vaccine,
// manufacturer, disease, test and result names from the EU value sets
// ([ValueSets]: built-in names for the common codes, the published value
// set files added with [LoadValueSets]), never raw codes where a name is
// known. Control and bidirectional-override characters are removed.
//
// # Images
//
// [ScanImage] reads a QR code, or an Aztec code when there is no QR code:
// Ireland issues its certificates as Aztec codes. The Aztec reader needs
// the code upright or quarter-turned (see [qr.DecodeAztec]).
//
// # Fixtures
//
// The example certificates and document signer under testdata are made by
// package internal/gen from a fixed seed (README there):
//
//	go generate ./verify/dcc
package dcc

//go:generate go run ./internal/gen/genfixtures -out testdata

// Package verify gives one verdict for a scanned health certificate,
// offline: is it genuine (signature against a trusted issuer key), valid at
// the time of the check (its own dates and the issuer's policy), and not
// revoked (a signed revocation list held locally, or a SMART Health Cards
// issuer's own list)?
//
// It reads three formats, detected from the payload:
//
//   - SMART Health Cards (package shc): a numeric QR code ("shc:/" and
//     digits), the compact JWS as text, a .smart-health-card file (one
//     verdict per card), and cards split over several QR codes
//     ("shc:/i/n/", joined by [Verifier.VerifyChunks]);
//   - EU Digital COVID Certificates (package dcc): "HC1:" from a QR code,
//     an Aztec code or a text file;
//   - DIVOC W3C credentials (package divoc): a ZIP (raw or UTF-8-expanded)
//     or the credential's JSON.
//
// Each is a [Format]: a small interface that parses a payload and hands
// the verdict what it needs (display fields, the signature check against
// the trust store, the ids to look up in the revocation lists and under
// which issuer, the validity dates and policy). The verdict itself is the
// same for every format, in one order: MALFORMED, UNKNOWN_ISSUER,
// BAD_SIGNATURE, UNSIGNED_HOLDER (DIVOC), REVOKED or SUSPENDED,
// NOT_YET_VALID or EXPIRED, then VALID. A fourth format is a new Format
// given in [Options.Formats], not a change to the verdict.
//
// A [Verifier] is built from a trust store ([trust.Store]: DIVOC
// verification methods, SMART Health Cards issuers' key sets, EU document
// signer certificates, each with a policy) and a CRL store (anything with
// a Check method, normally a [store.Store] kept current by package
// [github.com/crlverify/crlverify/verify/crlsync], which also holds
// imported SMART Health Cards lists, see [SHCLists]).
// [Verifier.VerifyPayload] takes the bytes of a QR or Aztec code,
// [Verifier.VerifyImage] a decoded image, and [Verifier.VerifyFile] a
// photo or a payload file; [Verifier.ReadFileContext] and
// [Verifier.VerifyScanned] split reading an input from verifying it, for
// files holding several certificates and for chunks to join. Each verdict
// is a [Result]: a [Status] and the facts behind it. The time of the check
// is always an argument, so a verdict is reproducible.
//
// Revocation lookups: a DIVOC credential's certificate id (and every other
// value its signature binds that a revocation could name) under the issuer
// its trust entry is bound to (crl_issuer; never the issuer the credential
// names, which its signer chose: without a crl_issuer its status is
// unknown); a SMART Health Card's rid under its iss; an EU DCC's UVCI (ci)
// under its issuing country (the policy's crl_issuer may name another for
// those two, whose trust entries are their iss and country). A trust entry
// may also name the publisher keys whose lists answer for its issuer
// (crl_publisher_keys): an answer from a list signed by another key is
// ignored, and the status is unknown. A SMART Health Card signed with a key that has a
// crlVersion is also judged by the issuer's own list for that key: without
// that list, or with one whose ctr is not the key's crlVersion, its
// revocation status is unknown; a revocation in a stored list counts
// whatever its ctr, as one in a signed snapshot past its next update does.
//
// Revocation freshness is kept apart from the status: a certificate that is
// genuine and valid but whose issuer has no list, or whose list is past its
// next-update (beyond the store's grace), is VALID with
// [Revocation.Known] false — never plain VALID. [Result.Conclusive] tells the
// two apart, and the CLI exits 3 for it.
//
// The sub-packages hold the parts: [shc], [dcc] and [divoc] (the formats),
// [qr] (QR and Aztec decoding from photos), [trust], [store] and crlsync
// (download and apply signed snapshots).
package verify

// Package verify gives one verdict for a scanned health certificate,
// offline: is it genuine (signature against a trusted issuer key), valid at
// the time of the check (the issuer's policy), and not revoked (a signed
// revocation list held locally)?
//
// A [Verifier] is built from a trust store ([trust.Store]: verification
// method → key and policy) and a CRL store (anything with a Check method,
// normally a [store.Store] kept current by package
// [github.com/crlverify/crlverify/verify/crlsync]). [Verifier.VerifyPayload]
// takes the bytes of a QR code, [Verifier.VerifyImage] a decoded image, and
// [Verifier.VerifyFile] a photo or a payload file. Each returns a [Result]:
// a [Status] and the facts behind it. The time of the check is always an
// argument, so a verdict is reproducible.
//
// Revocation freshness is kept apart from the status: a certificate that is
// genuine and valid but whose issuer has no list, or whose list is past its
// next-update (beyond the store's grace), is VALID with
// [Revocation.Known] false — never plain VALID. [Result.Conclusive] tells the
// two apart, and the CLI exits 3 for it.
//
// The sub-packages hold the parts: [divoc] (DIVOC W3C credentials), [qr]
// (QR decoding from photos), [trust], [store] and crlsync (download and
// apply signed snapshots).
package verify

// Package divoc reads and verifies DIVOC certificates: the W3C Verifiable
// Credentials issued by India's CoWIN and by the DIVOC platform in Sri Lanka,
// the Philippines, Jamaica and Indonesia. It works offline: JSON-LD contexts
// are bundled and never fetched.
//
// # Payload
//
// A DIVOC QR code holds a ZIP with one entry, certificate.json. DIVOC 2.x's
// Node service writes that ZIP into the QR as a string of code points, one
// per byte, encoded as UTF-8, so every byte >= 0x80 becomes two. Some
// deployments put the bare JSON in. [DecodePayload] tries the raw ZIP, then
// the UTF-8-expanded ZIP, then JSON, and reports the [Form]. Sizes are
// bounded: [MaxPayloadSize] in, [MaxCredentialSize] inflated, one entry.
//
// # Signature
//
// A credential's proof is a JSON-LD proof: RsaSignature2018 (RSASSA-PSS
// with SHA-256, salt 32, as a detached JWS with b64=false) or
// Ed25519Signature2018. What is signed is
//
//	SHA-256(URDNA2015(proof options)) || SHA-256(URDNA2015(credential))
//
// where the credential is taken without "proof", and the proof options are
// the proof without "jws", under the context https://w3id.org/security/v2.
// The JWS signing input is the base64url header, ".", then those 64 bytes.
// Canonicalisation uses github.com/piprate/json-gold with a document loader
// that serves only the [Contexts] it is given ([DefaultContexts] bundles
// the W3C credentials and security contexts and the DIVOC vaccination and
// test certificate contexts under the URLs the deployments of India, Sri
// Lanka, the Philippines, Jamaica and Indonesia name, see [Bundled] and
// contexts/README.md). Contexts are parsed once and the processed context
// of each context list is cached.
//
// JSON-LD silently drops what it cannot map, so a signature can cover less
// than the JSON shows. Canonicalisation therefore runs in JSON-LD's safe
// mode: a key none of the credential's contexts defines, anywhere in the
// credential or its proof options, is refused ([ErrUndefinedTerm], with
// the key named), as DIVOC's own verifier (jsonld-signatures' strict
// expansion) refuses it. JSON-LD also drops every statement about a node
// whose id is a relative IRI or empty. [Prepare] checks that every field a
// [Credential] reports (name, date of birth, certificate id, dates, dose,
// vaccine, issuer, proof time and key name) is among the signed data. When
// the holder (credentialSubject) is not, the signature still proves who
// issued the certificate but not whom it belongs to: [Signed.UnsignedHolder]
// lists the fields, and [Verify] refuses it with [ErrUnsignedHolder] once
// the signature checked out, so a caller may accept it knowingly. Any other
// unsigned field is refused ([ErrUnsignedField]). The DIVOC contexts also
// map certificateId, batch, vaccine and manufacturer to the same property,
// so a holder can swap those values without breaking the signature: look
// up every id of [Signed.RevocationIDs] in a revocation list, not only the
// certificate id.
//
// # Use
//
// A verifier decodes and parses the payload ([ParsePayload]), canonicalises
// once ([Prepare]), finds the key by proof.verificationMethod in its trust
// store and checks it ([Signed.Verify]); see the package's examples. Nothing
// here reads a clock: dates are returned for the caller to judge.
//
// [Sign] mints credentials the same way, for test fixtures made with
// DIVOC's published development keys.
package divoc

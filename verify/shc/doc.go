// Package shc reads and verifies SMART Health Cards (https://spec.smarthealth.cards,
// version 1.4 of the framework) offline: the cards US states, Canadian
// provinces, pharmacies and DIVOC's SHC adapter issue, as QR codes or
// .smart-health-card files. It checks a card against its issuer's key set
// and the issuer's own revocation lists, and says what the card shows. It
// reads no clock and makes no network request: key sets and lists are
// given to it, the time of the check is passed in.
//
// # Forms
//
// A card is a compact JWS. It reaches a verifier as
//
//   - a numeric QR code: "shc:/" then, for each JWS character, its code
//     minus 45 as two decimal digits ([DecodeNumeric]);
//   - several QR codes, "shc:/i/n/" and digits each, joined in any order
//     ([Joiner], [JoinChunks]; a form the specification has deprecated);
//   - the JWS as text ([Parse]);
//   - a .smart-health-card file, JSON whose "verifiableCredential" lists
//     JWS ([ParseFile], [ReadFile]).
//
// [Sniff] tells these apart by their first bytes; [ParsePayload] reads the
// first three. Decoding is strict: the digits must come in pairs, each pair
// at most 77 and encoding a character a JWS may hold, and nothing may
// follow them, not even a newline ([TrimNewline] removes the one a text
// file adds; a QR code's payload is used as it is). Errors say at which
// offset the payload breaks ([NumericError]).
//
// # What is checked, in order
//
// [Parse]:
//
//  1. size: at most [MaxJWSSize] characters;
//  2. three parts of unpadded base64url (strict: no line breaks, no
//     padding, no stray bits);
//  3. header: alg "ES256", zip "DEF", a kid, no crit;
//  4. payload: raw DEFLATE (RFC 1951; a zlib wrapper is named as such),
//     at most [MaxInflatedSize] bytes inflated, nothing after the final
//     block;
//  5. claims, with exact member names: iss (a non-empty string), nbf (a
//     number of seconds, fractions kept to the nanosecond), exp if present
//     (likewise), vc.type holding [TypeHealthCard], vc.rid if present
//     (1 to 24 base64url characters), vc.credentialSubject.fhirVersion and
//     a fhirBundle of resourceType Bundle with at most one Patient. A
//     timestamp from 1e11 on (the year 5138) is refused as milliseconds,
//     a frequent issuer mistake.
//
// [VerifySignature]:
//
//  6. a key set is configured for the card's iss, compared as an exact
//     string ([ErrUnknownIssuer]);
//  7. that key set, and only it, has a signing key with the card's kid
//     ([*UnknownKeyError]; a key of another issuer never verifies a card);
//  8. the key is usable: an entry of the set that names the kid but is no
//     ES256 signing key fails with its reason ([ErrBadSignature]);
//  9. if the key carries x5c certificates: a leaf names the iss in its
//     subject alternative names, and, when the [Directory] has roots, a
//     chain leads to one of them with every certificate valid when the
//     card was issued: at its nbf, or at the time of the check if that is
//     earlier ("not expired at card issuance time", as the specification
//     puts it; a card outlives its issuer's certificates);
//  10. the signature is 64 bytes r||s (a DER signature is named as such)
//     and verifies, ECDSA P-256 over SHA-256 of the JWS signing input.
//
// Revocation, by the caller: the card's vc.rid ([Card.RevocationID]) in
// the issuer's list for the card's kid ([CRL.RevokesCard]), or in a
// revocation store under (iss, rid).
//
// [Card.CheckValidity]:
//
//  11. nbf not after the time of the check (plus a tolerated skew), else
//     [ErrNotYetValid];
//  12. exp, if the card has one, after the time of the check, else
//     [ErrExpired]. Most cards have none: the specification makes them
//     facts that do not expire.
//
// [Verify] runs 6 to 12 without the revocation step.
//
// # Errors and verdicts
//
// Every error of reading or verifying a card, a key set or a list wraps
// exactly one of five sentinels, each a verdict:
//
//	ErrMalformed      MALFORMED       steps 1-5; chunks, files, key sets, lists, issuer URLs
//	ErrUnknownIssuer  UNKNOWN_ISSUER  steps 6-7 (ErrUnknownKey refines step 7)
//	ErrBadSignature   BAD_SIGNATURE   steps 8-10
//	ErrExpired        EXPIRED         step 12 (in a *ValidityError with the times)
//	ErrNotYetValid    NOT_YET_VALID   step 11 (in a *ValidityError with the times)
//
// [ErrTooLarge] and [ErrIncomplete] refine ErrMalformed. [CRL.CheckKey]
// alone reports [ErrCRLVersion] instead: a list that is not current makes
// a card's revocation status unknown, it says nothing wrong about the card.
//
// # Bounds
//
//	numeric payload   2 × MaxJWSSize digits + prefix and chunk header
//	chunks            MaxChunks (16) per card, MaxJWSSize joined
//	JWS               MaxJWSSize (64 KiB), 55 times the specification's single-QR limit of 1195
//	inflated payload  MaxInflatedSize (1 MiB); the specification's largest example is 30 kB
//	.smart-health-card MaxFileSize (4 MiB), MaxFileCards (100) cards, inflating to
//	                   MaxFileInflatedSize (4 MiB) together
//	key set           MaxJWKSSize (1 MiB), MaxJWKSKeys (100) keys, MaxChainLength (8) certificates per x5c
//	revocation list   MaxCRLSize (16 MiB), rids of MaxRIDLength (24) characters
//
// # Trust
//
// An issuer publishes its keys at iss + "/.well-known/jwks.json". A
// verifier keeps a copy per issuer in a [Directory] ([ParseJWKS],
// [Directory.AddJWKS]); issuer URLs must be https without a trailing "/"
// ([CheckIssuerURL]). Signing keys are the entries with kty EC, crv
// P-256, use sig and alg ES256; others are listed in [JWKS.Skipped] with
// the reason (another type or use, a bad point, a published private key
// "d", an x5c chain whose leaf is another key or whose certificates are
// not signed by the next). A key's kid should be its RFC 7638 thumbprint
// ([Key.Thumbprint]); one that is not is still used, since the set is
// trusted as configured.
//
// # Revocation
//
// An issuer revokes a card by its vc.rid, an opaque id it chose; the
// specification recommends base64url of the first 64 bits of
// HMAC-SHA-256 keyed with a secret and the kid over its own holder or card
// id ([DeriveRID]), so the same holder has different rids under different
// keys. Cards without rid (before version 1.2.0 of the framework) cannot be
// revoked one by one.
//
// For each key with a crlVersion, the issuer publishes
// iss + "/.well-known/crl/" + kid + ".json" ([ParseCRL]):
//
//	{"kid": "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s", "method": "rid", "ctr": 1,
//	 "rids": ["FKDIxsTCGlU", "vwAjHdarZuc.1687450765"]}
//
// "FKDIxsTCGlU" revokes every card of that key with that rid;
// "vwAjHdarZuc.1687450765" only those whose nbf is before 1687450765
// (2023-06-22T16:19:25Z), so an issuer can revoke a holder's cards up to a
// time and issue new ones. A list applies to the cards of its kid only, and
// is current when its ctr equals the key's crlVersion ([CRL.CheckKey]).
// [CRL.Entries] gives the entries for a revocation store.
//
// # Display
//
// [Card.Display] gives what a verifier shows: the holder's name and date
// of birth, the latest completed immunization (vaccine named from its CVX or
// SNOMED CT code, see [LookupVaccine] for the tables and their sources;
// date, lot, performer, dose number) and the issuer. Text is the issuer's,
// as signed: escape it before writing it to a terminal.
package shc

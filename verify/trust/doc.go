// Package trust is the verifier's trust store: which public keys may sign
// certificates for each issuer, and how each issuer's certificates are
// judged beyond their signature. One store holds the issuers of every
// certificate format the verifier reads:
//
//   - DIVOC issuers, by verification method (below);
//   - SMART Health Cards issuers, by issuer URL (a card's iss), each with
//     its key set (its /.well-known/jwks.json) embedded in the file
//     ([SHCIssuer]; at most [MaxSHCIssuers], each key set at most
//     shc.MaxJWKSSize), and optional root certificates the x5c chains of
//     their keys must lead to ([SHCRoot]);
//   - EU DCC issuers, by country (ISO 3166-1 alpha-2), each with its
//     document signer certificates embedded in the file ([DCCIssuer],
//     [DSC]; at most [MaxDCCSigners] in all), added from PEM or DER files
//     or imported from a DSC list in the common {kid, country, rawData}
//     form ([Store.ImportDSCList]).
//
// Nothing is ever fetched: a verifier trusts exactly what the file holds.
//
// # DIVOC
//
// A DIVOC credential names its key by proof.verificationMethod (for example
// "did:india"); no DID document is ever fetched. The store maps each
// verification method to one or more keys, each with an optional validity
// window and a status, and to a [Policy]:
//
//   - A key marked terminated fails every certificate it signed.
//   - A key's window (not_before, not_after) bounds when it may have signed;
//     callers pass the signing time (proof.created) as the time to check.
//   - enforce_effective_window makes DIVOC's effectiveStart/effectiveUntil
//     binding (off by default: production data fills them unreliably).
//   - max_age makes certificates expire that long after issuance.
//   - crl_issuer binds the entry to an issuer: its certificates'
//     revocations are looked up under it in the signed lists. A DIVOC
//     entry without one has its certificates' revocation status unknown:
//     the issuer a credential names is its signer's choice, never used.
//     (A SMART Health Cards or EU DCC entry is bound to its own name, the
//     iss URL or the country, unless crl_issuer names another.)
//   - crl_publisher_keys, when set, names the publisher keys (RFC 7638
//     SHA-256 thumbprints, base64url) whose signed lists may answer for
//     the issuer: a list covering it but signed by another key is ignored,
//     the revocation status then unknown. The CRL store already binds each
//     publisher to the issuers it may cover; this narrows it to the keys
//     the trust store names. Every kind of issuer takes it. A lookup by
//     certificate id (crlverify check), which cannot tell which entry
//     issued the certificate, is held to every entry bound to the issuer
//     ([Store.CRLPublisherKeys]): a key must be named by each entry that
//     names keys.
//   - accept_unsigned_holder accepts a certificate whose signature is
//     genuine but does not cover its holder (a DIVOC credentialSubject with
//     a relative or empty id), its holder's fields then shown as unsigned.
//     Off by default: such a certificate is refused (UNSIGNED_HOLDER).
//
// The store also maps JSON-LD context URLs a deployment's credentials name
// and the verifier does not bundle ([Context]): to the document of a
// bundled URL ("same_as"), or to a document embedded in the file, byte for
// byte, with its SHA-256 (at most [MaxContextSize] each; the whole file at
// most [MaxFileSize]). Mappings are global, not per issuer: a URL means the
// same for every credential.
//
// # The file
//
// The file is JSON, written by [Store.Save] and managed with
// "crlverify trust add/list/remove/import-dsc" and "crlverify trust
// context", so nobody edits it by hand:
//
//	{
//	  "version": 2,
//	  "issuers": {
//	    "did:india": {
//	      "name": "Government of India",
//	      "max_age": "365d",
//	      "crl_issuer": "https://cowin.gov.in/",
//	      "keys": [{
//	        "id": "4a1c5e0d9b7f2a33",
//	        "alg": "RSA-2048",
//	        "public_key": "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n",
//	        "not_before": "2021-01-01T00:00:00Z",
//	        "status": "active",
//	        "source": "pem"
//	      }]
//	    },
//	    "did:srilanka:moh": {
//	      "accept_unsigned_holder": true,
//	      "keys": [...]
//	    }
//	  },
//	  "contexts": {
//	    "https://vc.health.example/credentials/vaccination/v2": {
//	      "same_as": "https://cowin.gov.in/credentials/vaccination/v2"
//	    },
//	    "https://vc.health.example/credentials/test/v1": {
//	      "document": "{\"@context\": {...}}",
//	      "sha256": "9f86d081884c7d65...",
//	      "source": "test-context.json"
//	    }
//	  },
//	  "shc_issuers": {
//	    "https://shc.example.org/issuer": {
//	      "name": "Example Health",
//	      "jwks": {"keys": [{"kty": "EC", "kid": "vfeLDcXE...", "crlVersion": 3, ...}]},
//	      "sha256": "1b4f0e98...",
//	      "source": "jwks.json"
//	    }
//	  },
//	  "shc_x5c_roots": [
//	    {"certificate": "-----BEGIN CERTIFICATE-----\n...", "source": "root.pem"}
//	  ],
//	  "dcc_issuers": {
//	    "XA": {
//	      "name": "Example Health Authority",
//	      "signers": [{
//	        "kid": "V6jo4Ya37I4=",
//	        "certificate": "-----BEGIN CERTIFICATE-----\n...",
//	        "source": "example-dsc.pem"
//	      }]
//	    }
//	  }
//	}
//
// Version 2 added "shc_issuers", "shc_x5c_roots" and "dcc_issuers"; a store
// holding none of them is written as version 1, which programs reading
// only version 1 still read, and version 1 files are read as they are. An
// SHC key set's sha256 is that of its compact JSON; a signer's kid must be
// its certificate's ([dcc.KeyID], base64). SMART Health Cards and EU DCC
// issuers take the policy fields max_age and crl_issuer ([IssuerPolicy]).
//
// Unknown fields are refused, so an older program never silently ignores a
// policy it does not know.
//
// Keys may be added as PEM (SPKI, PKCS #1 or a certificate), JWK, raw
// base58 Ed25519 (as DIVOC publishes them) or SPKI DER; see [ParseKey]. They
// are stored as SPKI PEM and identified by a hash of that SPKI.
//
// A verdict layer calls [Store.Check] with the credential's verification
// method, its signing time and a function that checks the signature with one
// key; [Store.Key] is the simple lookup for issuers with one key.
package trust

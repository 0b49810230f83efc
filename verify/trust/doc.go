// Package trust is the verifier's trust store: which public keys may sign
// certificates for each issuer, and how each issuer's certificates are
// judged beyond their signature.
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
//   - crl_issuer names the issuer revocations are keyed under, when it is
//     not the credential's own "issuer".
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
// The file is JSON, written by [Store.Save] and managed with
// "crlverify trust add/list/remove" and "crlverify trust context", so
// nobody edits it by hand:
//
//	{
//	  "version": 1,
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
//	  }
//	}
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

// Package crl is the revocation domain of crlverify: what a revocation is
// ([Entry], [Reason]), how a certificate is named in a public list without
// listing its id in clear ([KeyOf]). The issuing authority's registry of
// revocations, from which signed snapshots are published, is the
// sub-package crl/registry.
//
// A certificate is identified by the pair (issuer, certificate id). Public
// revocation lists never carry that pair; they carry its [Key], a 64-bit
// SipHash-2-4 value under a fixed, published key. With 10 million revoked
// certificates the chance that a given unrevoked certificate shares a key
// with one of them is below 1e-12 per lookup (N/2^64 ≈ 5.4e-13). [Key]
// gives the definition and what it does and does not protect.
package crl

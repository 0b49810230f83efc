// Package snapshot reads and writes signed CRL snapshot files: the
// revocation list of a health certificate authority as one self-contained,
// serial-numbered file with a next-update time, either the whole list
// (full) or the changes since an earlier serial (delta), plus the signed
// index that names the files of a publication directory. Verifiers check
// these files offline with the authority's public keys.
//
// This comment is the format's specification: it says everything a second
// implementation needs. Code that writes files uses [BodyWriter],
// [WriteSnapshot], [WriteIndex] and [WriteCheckpoint]; code that reads them uses [ReadHeader],
// [NewBodyReader], [ReadIndex] and [ReadCheckpoint]. Every refusal wraps one of
// [ErrBadSignature], [ErrUnknownKey], [ErrDigestMismatch],
// [ErrUnsupportedVersion], [ErrTooLarge] or [ErrMalformed], so callers can
// branch with errors.Is.
//
// # File layout
//
// A snapshot file is three parts, with nothing before or after them:
//
//	"crlverify-snapshot-v1\n"         22 ASCII bytes, the magic line
//	<compact JWS> "\n"                 the signed header (ASCII)
//	<body>                             exactly body_length bytes
//
// The magic line carries the format version, so an incompatible format
// gets a new first line. A reader that finds another line starting
// "crlverify-snapshot-" refuses it with [ErrUnsupportedVersion]; any other
// start is [ErrMalformed]. The JWS line is at most [Limits.MaxHeaderBytes]
// (64 KiB by default) long, else [ErrTooLarge]. Bytes after the body are
// [ErrMalformed].
//
// # Signed header
//
// The header is a JWS (RFC 7515) in compact serialization: three base64url
// parts without padding, joined by ".". A reader decodes them strictly:
// non-canonical base64url (unused low bits not zero, padding, other
// characters) is [ErrMalformed], so one header has one encoding.
//
// The protected header is a JSON object with exactly these members that a
// reader uses:
//
//	"alg"  "EdDSA" (Ed25519, RFC 8037; the default) or "ES256" (ECDSA P-256, SHA-256)
//	"kid"  the signing key's id; writers use the key's RFC 7638 SHA-256 thumbprint in base64url
//	"typ"  "crlverify-snapshot+jws" (an index uses "crlverify-index+jws")
//
// Other members ("jwk", "x5c", ...) are ignored: keys come only from the
// verifier's trusted set. Any other "alg" ("none", "HS256", ...) is
// [ErrBadSignature], checked first. A "typ" other than the expected one is [ErrMalformed], so an
// index cannot pass as a snapshot header nor the reverse. A protected
// header with "crit" or "b64" is [ErrUnsupportedVersion]. A missing "kid"
// or one the trusted [Keys] do not know is [ErrUnknownKey]; a kid whose
// key is not of the algorithm's type, or a signature that does not verify
// with it, is [ErrBadSignature].
//
// The payload is one JSON object (the [Header]), with unique member names:
//
//	"v"            1 (integer)                  format version
//	"publisher"    string, 1..256 bytes UTF-8   who publishes the list
//	"issuers"      [string], sorted (bytewise), unique, at most 1024, each 1..256 bytes
//	               the certificate issuers the list is authoritative for
//	"serial"       integer, 1..2^53-1           strictly increasing per publisher
//	"this_update"  "YYYY-MM-DDThh:mm:ssZ"       RFC 3339, UTC, whole seconds, exactly this form
//	"next_update"  same form, after this_update when the next list is due
//	"kind"         "full" or "delta"
//	"base_serial"  integer, 1..serial-1         delta only: the serial the delta applies to
//	"base_digest"  digest                       delta only: list_digest of that serial
//	"list_digest"  digest                       body digest of the FULL snapshot at this serial
//	"list_count"   integer                      entries in the list at this serial
//	"upserts"      integer                      entries in this body's first section
//	"removals"     integer                      delta only: keys in this body's second section
//	"body_length"  integer, at least 2          length of the body in bytes
//	"body_digest"  digest                       SHA-256 of the body
//	"crit"         [string], not empty          optional: names of fields a reader must understand
//
// A digest is "sha256:" followed by the 64 lower-case hex digits of a
// SHA-256 value ([Digest]). Integers are JSON numbers without fraction or
// exponent.
//
// Validation, in this order; the first failure is the error:
//
//  1. The payload is a JSON object; a member name appearing twice is
//     [ErrMalformed]. "v" must be present and be 1, else
//     [ErrUnsupportedVersion]. Each name in "crit" must be a field of this
//     version (listed above), else [ErrUnsupportedVersion]: a writer that
//     adds a field old readers must not ignore names it in "crit". Members
//     not listed above and not named in "crit" are ignored.
//  2. Every field above without "delta only" or "optional" is present; a
//     delta has base_serial, base_digest and removals, and a full
//     snapshot has none of them ([ErrMalformed]).
//  3. Each field has its type and range; list_count, upserts and removals
//     are at most [Limits.MaxEntries] and body_length at most
//     [Limits.MaxBodyBytes] ([ErrTooLarge]), all checked before anything
//     of that size is allocated or read.
//  4. Consistency ([ErrMalformed]): upserts <= list_count; upserts and
//     removals are each at most 8 × body_length; a full snapshot has
//     upserts == list_count and list_digest == body_digest; a delta has
//     base_serial < serial.
//
// Writers emit the members in the order listed, with no white space. The
// header says nothing about the reader's clock, rollback or replay: the
// caller compares serial and next_update with what it holds
// ([ErrRollback], [ErrExpired], [ErrWrongBase], [ErrFastForward]).
//
// # Version rule
//
// A reader accepts exactly version 1: the magic line
// "crlverify-snapshot-v1", "v": 1, and no "crit" name it does not know.
// A compatible addition is a new optional member (old readers ignore it).
// An addition old readers must not ignore is named in "crit". Any other
// change to the header or body layout is a new version: a new magic line,
// which old readers refuse with [ErrUnsupportedVersion].
//
// # Body
//
// The body holds two sections, in this order:
//
//	entry section   the upserts: entries of the list, increasing key order
//	key section     the removals: keys, increasing key order (empty in a full snapshot)
//
// A full snapshot's body is its whole list and an empty key section. A
// delta's upserts are the entries that are new or changed since
// base_serial, its removals the keys no longer in the list; the list at
// serial is the base list with each removed key deleted and each upserted
// entry put in place (replacing the entry with the same key). A key must
// not be in both sections.
//
// An entry (crl.Entry) is a 64-bit key, revoked_at (Unix seconds, int64), a reason code 0..15
// (crl.Reason) and an optional suspension end suspended_until (Unix
// seconds, greater than revoked_at, never 0; 0 in crl.Entry means "not a
// suspension").
//
// The key names the certificate without its id in clear (crl.KeyOf). It
// is computed with SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast
// short-input PRF", 2012), whose 16-byte key is read as two little-endian
// 64-bit words k0, k1:
//
//	k0, k1 = SipHash-2-4-128(key = "crlverify/v1 key" (16 ASCII bytes), message = issuer)
//	key    = SipHash-2-4(key = k0, k1, message = certificate id)
//
// issuer and certificate id are the UTF-8 bytes exactly as the certificate
// carries them. The 128-bit variant's 16 output bytes are k0's 8 bytes then
// k1's, each little-endian (as in the reference implementation); the key is
// the 64-bit value SipHash returns (its 8 output bytes read little-endian).
// For example, issuer "https://cowin.gov.in/" and id "C1000000000" give
// the key 0xf40ad99797457349.
//
// A section is a sequence of blocks of 1..4096 items ([MaxBlock]), ended by
// a single byte 0 (a block count of zero). Keys strictly increase within a
// section, across its blocks too. An entry block is:
//
//	uvarint   n          items in the block, 1..4096
//	8 bytes   key[0]     the first key, big-endian
//	byte      rice_k     Rice parameter for the key gaps, 0..63
//	varint    t_min      revoked-at base (zigzag: (t << 1) ^ (t >> 63), then uvarint)
//	byte      t_width    bits per revoked-at offset, 0..64
//	byte      r_width    bits per reason, 0..4
//	byte      flags      bit 0: the block has suspensions; other bits 0
//	byte      s_width    only if flags bit 0: bits per suspension length, 0..64
//	bit stream           see below
//
// A key block (removals) is:
//
//	uvarint   n          1..4096
//	8 bytes   key[0]     big-endian
//	byte      rice_k     0..63
//	bit stream           the n-1 key gaps only
//
// A uvarint is the LEB128 form of encoding/binary (7 bits per byte, least
// significant group first, high bit set on every byte but the last), at most
// 10 bytes, and minimal: a last byte of 0 after other bytes is [ErrMalformed].
//
// The bit stream is written most significant bit first: the first field's
// top bit is bit 7 of the first byte. It is padded with zero bits to a byte
// boundary (non-zero padding is [ErrMalformed]), and the next block starts
// at the next byte. In an entry block the stream holds, in order:
//
//  1. n-1 key gaps, gap[i] = key[i] - key[i-1] - 1, Rice coded (below);
//  2. n revoked-at offsets revoked_at[i] - t_min, t_width bits each;
//  3. n reasons, r_width bits each;
//  4. if flags bit 0, for each entry in order: one presence bit, and if it
//     is 1, suspended_until - revoked_at - 1 in s_width bits.
//
// A field of width 0 takes no bits and is 0.
//
// Rice code with escape, parameter k: let q = gap >> k. If q < 24, the code
// is q one-bits, one zero-bit, then the k low bits of gap. If q >= 24 the
// code is 24 one-bits followed by the gap as 64 raw bits (no zero-bit and no
// k bits). A decoder reading q < 24 one-bits and a zero computes
// gap = q<<k | low; if that overflows 64 bits, or key[i-1]+gap+1 does, the
// body is [ErrMalformed].
//
// The decoder is strict: every bound above is checked, reason <= 15, a
// block may not take a section past the header's upserts or removals, each
// section must end with exactly that many items, revoked_at and
// suspended_until must fit int64, and suspended_until must not be 0.
// Violations are [ErrMalformed]. The body's length and SHA-256 must equal
// body_length and body_digest ([ErrDigestMismatch]); a reader checks them
// as it reads, and when the decoder finds a fault it reads the rest of the
// body (at most body_length bytes) so that a changed or cut body reports
// [ErrDigestMismatch] and only a signed but faulty body [ErrMalformed].
// Entries a reader has decoded are not genuine until the whole body has
// checked out.
//
// # Canonical encoding
//
// Writers encode canonically, so that a list has exactly one body and
// list_digest can be checked by re-encoding a list (a reader that applied
// a delta feeds its list to a [BodyWriter] and compares the digest):
//
//   - every block but the last of a section has 4096 items;
//   - rice_k is the k in 0..63 that gives the fewest bits for the block's
//     gaps, the smallest such k on a tie (a block of one item has k = 0);
//   - t_min is the smallest revoked_at of the block; t_width, r_width and
//     s_width are the bit lengths of the largest value each field holds
//     (0 when that value is 0);
//   - flags bit 0 is set exactly when an entry of the block is a
//     suspension;
//   - the escape is used exactly when q >= 24.
//
// Readers accept any encoding that follows the layout; list_digest is only
// meaningful with the canonical one.
//
// # Worked example
//
// A delta body with two upserts and one removal:
//
//	key 0x1000000000000000  revoked 2026-01-01T00:00:00Z (1767225600)  superseded (4)
//	key 0x1000000000000100  revoked 2026-01-01T00:01:40Z (1767225700)  dataError (11)  suspended for 3600 s
//	removed key 0x2000000000000000
//
// is these 37 bytes:
//
//	02                          entry block, n = 2
//	10 00 00 00 00 00 00 00     key[0]
//	07                          rice_k = 7 (gap 255: 7 and 8 both take 9 bits; the smaller wins)
//	80 e4 ad 95 0d              t_min = 1767225600 (zigzag 3534451200 as uvarint)
//	07 04 01 0c                 t_width 7, r_width 4, flags = suspensions, s_width 12
//	bf 80 c8 96 f0 78           bit stream (45 bits + 3 zero bits of padding):
//	                              10 1111111      gap 255: q = 1 ("10"), low 7 bits
//	                              0000000 1100100 offsets 0 and 100
//	                              0100 1011       reasons 4 and 11
//	                              0               entry 0: no suspension
//	                              1 111000001111  entry 1: 3599 = 1767229300 - 1767225700 - 1
//	                              000             padding
//	00                          end of the entry section
//	01                          key block, n = 1
//	20 00 00 00 00 00 00 00     key[0]
//	00                          rice_k = 0 (no gaps, empty bit stream)
//	00                          end of the key section
//
// Its header would say "upserts": 2, "removals": 1, "body_length": 37,
// "body_digest":
// "sha256:78b627733a29efc0e19e097b0b812f43d1bffbf46bb3d1c02fc0e715e460413b".
// An empty full snapshot's body is the two bytes 00 00.
//
// # Index
//
// A publication directory holds snapshot files and an index named
// "index.jws" ([IndexName]). Snapshot files are named by serial:
// "full-<serial>.crl" ([FullName]) and "delta-<base>-<serial>.crl"
// ([DeltaName]), each serial as 20 decimal digits with leading zeros. The
// index file is
//
//	"crlverify-index-v1\n" <compact JWS> "\n"
//
// and nothing else, at most 1 MiB ([MaxIndexBytes]). The JWS follows the
// rules of the snapshot header with "typ": "crlverify-index+jws". Its
// payload ([Index]) is a JSON object with "v", "publisher", "issuers",
// "serial", "this_update", "next_update" and "crit" as in the header, and:
//
//	"full"         file    the newest full snapshot; its serial is at most the index's
//	"deltas"       [file]  deltas from recent serials straight to the index's serial,
//	                       at most 4096, each base serial once
//	"list_digest"  digest  optional: list_digest of the index's serial, so a reader
//	                       holding that serial tells from the index alone whether
//	                       its list is the one published (writers from this
//	                       version on include it; older indexes lack it)
//
// where a file is an object:
//
//	"name"         FullName(serial) or DeltaName(base_serial, serial), exactly
//	"kind"         "full" or "delta"
//	"serial"       integer
//	"base_serial"  integer, delta only
//	"length"       integer, size of the whole file, 1..MaxBodyBytes+MaxHeaderBytes+23
//	"digest"       SHA-256 of the whole file
//
// Because names must be exactly the computed ones, a reader can join them to
// the directory's location safely. A verifier holding serial s fetches the
// index, then the delta with base_serial s if there is one, else the full
// snapshot (and, when the full snapshot is older than the index, the delta
// from its serial), checking each file's length and digest against the
// index before reading it. Writers create each file under a temporary name
// and rename it into place, the index last.
//
// # Checkpoint
//
// Beside each serial a publisher writes a checkpoint, "checkpoint-<serial>.jws"
// ([CheckpointName], the serial as 20 decimal digits), that binds the
// serial and its list to the head of the publisher's audit trail (see
// package crl/registry, "Audit trail"): anyone holding the publisher's
// public key can later prove that a trail shown to them is, or is not, the
// one the publication committed to. Checkpoints are a few hundred bytes and
// are kept after the snapshots of their serial are pruned, so every serial
// ever published stays provable. Verifiers that only sync lists need not
// read them. The file is
//
//	"crlverify-checkpoint-v1\n" <compact JWS> "\n"
//
// and nothing else, at most 64 KiB ([MaxCheckpointBytes]). The JWS follows
// the rules of the snapshot header with "typ": "crlverify-checkpoint+jws",
// so that neither a snapshot header nor an index passes as a checkpoint.
// Its payload ([Checkpoint]) is a JSON object with unique member names:
//
//	"v"            1                           format version
//	"publisher"    string, 1..256 bytes UTF-8  as in the header
//	"serial"       integer, 1..2^53-1          the serial published
//	"this_update"  time, as in the header      that serial's this_update
//	"list_digest"  digest                      that serial's list_digest
//	"list_count"   integer, 0..2^53-1          that serial's list_count
//	"audit_seq"    integer, 1..2^53-1          records in the audit trail, the
//	                                           sequence number of the last
//	"audit_head"   digest                      "sha256:" and the hex of the last
//	                                           record's hash
//	"crit"         [string], not empty         optional, as in the header
//
// Validation is that of the header: "v" must be 1 and every "crit" name a
// member listed here ([ErrUnsupportedVersion]); every member but "crit" is
// present with its type and range ([ErrMalformed]); members not listed
// and not named in "crit" are ignored. Writers emit the members in the
// order listed, with no white space. The record at audit_seq is the
// publication's own record (action "publish", naming the serial and its
// list digest), so the checkpoint commits to every change the list was
// made from and to the act of publishing it.
//
// A worked example: serial 2 of "Example Health Authority", made
// 2026-11-22T09:05:00Z, listing two entries with the list digest of the
// delta example above, after an audit trail of 3 records whose last has
// the hash of the worked example in crl/registry, has the payload
//
//	{"v":1,"publisher":"Example Health Authority","serial":2,"this_update":"2026-11-22T09:05:00Z","list_digest":"sha256:78b627733a29efc0e19e097b0b812f43d1bffbf46bb3d1c02fc0e715e460413b","list_count":2,"audit_seq":3,"audit_head":"sha256:0012534820a31fdd36af4c0d5393a4eb14670b457c4e73b43a911dc383ebeac7"}
//
// and, signed with the Ed25519 key testdata/golden-eddsa.jwk (kid
// DpUswXnIHuUnw6NmCJlWOI1PmEOC3H3OPcXIfyjQ8Vk; Ed25519 signatures are
// deterministic), the file checkpoint-00000000000000000002.jws is
//
//	crlverify-checkpoint-v1
//	eyJhbGciOiJFZERTQSIsImtpZCI6IkRwVXN3WG5JSHVVbnc2Tm1DSmxXT0kxUG1FT0MzSDNPUGNYSWZ5alE4VmsiLCJ0eXAiOiJjcmx2ZXJpZnktY2hlY2twb2ludCtqd3MifQ.eyJ2IjoxLCJwdWJsaXNoZXIiOiJFeGFtcGxlIEhlYWx0aCBBdXRob3JpdHkiLCJzZXJpYWwiOjIsInRoaXNfdXBkYXRlIjoiMjAyNi0xMS0yMlQwOTowNTowMFoiLCJsaXN0X2RpZ2VzdCI6InNoYTI1Njo3OGI2Mjc3MzNhMjllZmMwZTE5ZTA5N2IwYjgxMmY0M2QxYmZmYmY0NmJiM2QxYzAyZmMwZTcxNWU0NjA0MTNiIiwibGlzdF9jb3VudCI6MiwiYXVkaXRfc2VxIjozLCJhdWRpdF9oZWFkIjoic2hhMjU2OjAwMTI1MzQ4MjBhMzFmZGQzNmFmNGMwZDUzOTNhNGViMTQ2NzBiNDU3YzRlNzNiNDNhOTExZGMzODNlYmVhYzcifQ.5lIkNHkTonNgFoy9ipmT67eIZl66Kj_CPAvnsvvUfF9uvUjCw1vnJz6_dD7_Q-0cZrQEGcdFJ6VizG6lZyV_DQ
//
// (the JWS on one line, followed by a newline).
//
// # Keys
//
// Publishers sign with an Ed25519 (default) or P-256 key ([GenerateKey]);
// verifiers trust a JWKS of public keys ([PublicSet], [ReadJWKS],
// [KeysFromSet]) in which each key has a "kid". Key rotation is publishing
// a JWKS with both keys, then signing with the new one.
package snapshot

//go:generate go run ./internal/gengolden -out testdata

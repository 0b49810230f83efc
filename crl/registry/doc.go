// Package registry is the issuing authority's side of crlverify: the
// registry of the certificates it issued and of their revocations, kept
// in one bbolt file, with DIVOC's revoke rules, a hash-chained audit
// trail, and the publisher that turns it into a signed publication
// directory of CRL snapshots (package snapshot).
//
// # Certificates
//
// [Registry.ImportCertificates] adds issued certificates from CSV or JSON
// lines: certificate id, issuer, beneficiary id (DIVOC's pre-enrollment
// code), dose, batch, issue time, and optionally a validity end and the
// id of the certificate a row corrects. Issuers and ids are opaque bounded
// strings, so an SHC issuer URL and rid, or an EU DCC country and UVCI,
// serve as well as DIVOC's. A certificate is immutable once imported; a
// correction is a new certificate whose previous certificate is revoked as
// superseded and linked to it. An import is all or nothing (an
// [*ImportError] names the bad rows by line), reports rows that repeat
// earlier ones, and counts certificates already held, so importing the
// same input again changes nothing.
//
// The registry finds certificates by id, by beneficiary (with their doses)
// and by batch: each of the revoke rules below is a lookup.
// [Registry.Certificates] shows what it holds, [Registry.Status] answers
// the online status of one id.
//
// # Revoking
//
// [Registry.Revoke], [Registry.Suspend] and [Registry.Lift] take a
// [Request]: a [Selector] (one certificate id; a beneficiary with doses or
// all doses; a batch), a reason, a note, the actor (a person or a token
// identity; required) and times. The rules:
//
//   - By beneficiary and doses, DIVOC's rule: the doses must have been
//     issued, be consecutive, and include the beneficiary's latest dose
//     (doses 1 to 3 issued: [3], [2 3], [1 2 3] are accepted; [1], [1 3]
//     and [2] are refused), each refusal a [*RuleError] naming the rule;
//     or all doses.
//   - By certificate id, also for ids never imported (an authority need
//     not load its issued certificates to revoke by id).
//   - By batch: every certificate of the batch; the [Outcome] says how
//     many; the reason is faultyBatch unless given.
//   - By correction: [Request.ReplacedBy] revokes a certificate as
//     superseded, linked to the new one (imports do this for rows with a
//     previous certificate).
//   - A suspension ends at its time: verifiers treat the certificate as
//     valid from then, and the first list published after it leaves it
//     out. Lifting ends one early. A certificate revoked for good cannot
//     be suspended.
//   - A lift is a soft delete: the revocation record stays, marked
//     lifted, with its reason and times; the certificate stays in the
//     registry; the audit trail keeps the history.
//   - Every request is idempotent: revoking a revoked certificate again
//     without a time keeps its original revoked-at (and, without a
//     reason, its reason); a request that changes nothing leaves no audit
//     record.
//
// Each request that changes something is one audit record holding who,
// when, why (reason and a note of at most MaxNoteBytes) and what changed.
//
// [Registry.ImportRevocations] applies a file of revocations and
// suspensions (id, issuer, reason, revoked_at, suspended_until), all or
// none, as one bulk operation with one audit record (none when it changes
// nothing).
// [Registry.Revocations] lists the revocations and suspensions in force in
// chronological order, a page at a time.
//
// # Shared commits and bulk operations
//
// Revoke, Suspend and Lift return once their change is durable. A
// goroutine per Registry takes the requests queued by concurrent callers
// and applies them in one bbolt transaction, so they share one commit
// (two fsyncs); a request refused by a rule or as invalid writes nothing
// and fails alone, and if the shared transaction fails for another reason
// each request is retried in a transaction of its own. A caller whose
// context ends before its request is taken gets the context's error and
// the request is dropped.
//
// A request that selects more than 4,096 certificates (a large batch), a
// revocation import, and an import's corrections run as bulk operations,
// which bound a transaction's size: the changes are sorted and checked
// against the registry first (a refused change refuses the whole
// operation), written to a staging table over several transactions, then
// committed in one small transaction that records the operation (meta
// "bulk"). They then apply 32,768 at a time: the revocation records, the
// change log and the audit items, each chunk's changes to the
// chronological index set aside in a second staging table and the applied
// staged changes freed; then the chronological index changes, merged in
// key order so each index block is written once; the last transaction
// appends the audit record. A crash before the commit leaves a staging
// table nothing refers to, removed by the next process that opens the file
// for writing; a crash after it leaves the operation to be finished, first
// thing, by that process (a registry opened read-only does not, and reads
// it half applied).
//
// A revocation import decides its changes (all at one time) while it
// stages them, and stages what they make of each table: the blocks (see
// File layout) of its revocation records, audit items, change log entries
// and chronological index items to add, built in key order, and those of
// index items to remove. A block whose key range its table holds nothing
// in (all of them in a fresh registry; the audit items always) goes into
// the table at once and is listed in the staging table; the others wait
// in the staging table. The commit records the operation with its audit
// record (items root included); the staged blocks then merge into their
// tables, about 32,768 changes' worth per transaction, and the last
// transaction appends the audit record. Before the commit, the blocks
// listed are removed with the staging table: when a row is refused, or
// by the next process to open the file for writing after a crash (one
// opening it read-only before that reads them).
//
// # Sharing the file
//
// The registry does not keep its file locked between operations: each
// operation (a query, a group of requests, an import, a publication) opens
// the bbolt file, which takes bbolt's lock on it, and closes it when done;
// [Open] only checks the file. So "crlverify publish" or "crlverify
// revoke" work while "crlverify serve" runs: they wait for its current
// operation, and it waits for theirs. Beside FILE the registry keeps a
// lock gate, FILE.lock: a process waiting for the file holds the gate, and
// the process that has the file (a server committing group after group)
// sees the gate held and gives the file back after its current group, so
// a waiting command line is not starved. Waiting is bounded by attempts
// ([Options.LockAttempts], 20 ms apart, about 30 seconds by default),
// after which the error wraps [ErrLocked] and says what to do. The long
// parts of an import (reading, checking, sorting the input) do not hold
// the file; writing the sorted rows does, about two microseconds per row,
// and so does a bulk operation while it applies. Within one process,
// operations that overlap share the open file; one alone pays for opening
// it (about a millisecond). Before bbolt maps the file, its meta pages are
// read and a file shorter than they say (a copy cut short) is refused.
//
// # File layout
//
// The file is bbolt; this section describes layout version 3, kept in
// meta "version". Version 2 lacks only the carried table: it is read as
// it is and upgraded (the empty table added) when opened for writing. A
// file of another version is refused ([ErrLayout]); a version 1 file
// (revocations only) is not converted.
//
// Most data lives in packed tables: a table is a bucket whose every
// key/value pair is a block of items sorted by key, keyed by the first
// item's key. An item is
//
//	uvarint shared   bytes its key shares with the previous key
//	uvarint n        length of the rest of the key, then those n bytes
//	uvarint m        length of the value, then those m bytes
//
// where the first item's previous key is the block's key (so it has
// shared = len(block key), n = 0). Keys strictly increase. A block is at
// most (page size − 16)/2 − 16 − len(block key) bytes (about 2 KB for 4 KB
// pages), so that two fill a bbolt leaf page; bbolt's 16-byte element
// header and the key are paid once per block, not per item. Tables
// written in order (runs, logs) fill their blocks; a change elsewhere
// rewrites one block, splitting it in even halves when it overflows.
//
// Numbers below are big-endian unless marked uvarint; "str" is a uvarint
// length and the bytes. The list key is the certificate's [crl.Key]. The
// state key of a certificate is list key (8) || issuer number (2) || id.
//
//	meta       version (1 byte: 2); published, floor: serial counters (8);
//	           publisher: name; audit-head: seq (8) || SHA-256 of the last
//	           record; next-id: counter for runs and staging tables (8);
//	           bulk: the bulk operation being applied (JSON); counts:
//	           certificates, revoked, suspended, lifted (8 each); acked:
//	           the publication the last carry-forward acknowledged, serial
//	           (8) || list digest (32) || audit seq (8) || audit head (32)
//	issuers    issuer number (2, from 1) → name; every issuer is covered
//	           by the published list (at most MaxIssuers)
//	batches    'n' || name → number (4); 'i' || number → name
//	runs       one bucket per run of imported certificates, named by its id
//	           (8), holding "m" (a live byte, then the item count of each
//	           table, uvarints) and three tables:
//	             c  state key → str beneficiary, uvarint dose, uvarint
//	                batch number (0: none), uvarint issued-at, uvarint
//	                valid-until (0: none), str corrected id, uvarint
//	                sequence number of the import's audit record
//	             b  issuer number (2) || beneficiary hash (8) || dose (1) ||
//	                list key (8) → empty
//	             t  issuer number (2) || batch number (4) || list key (8) →
//	                empty
//	state      table: state key → revocation record: status byte (1
//	           revoked, 2 suspended, 3 lifted), reason byte, uvarint
//	           revoked-at, uvarint suspended-until (0: none), uvarint
//	           sequence number of the audit record of its last change, str
//	           id of the superseding certificate
//	chrono     table: revoked-at (8) || list key (8) → empty, for every
//	           record revoked or suspended
//	changes    table: serial (8) || list key (8) → the key's revoked and
//	           suspended records before its first change in that serial:
//	           uvarint n, then n × (status byte, reason byte, uvarint
//	           revoked-at, uvarint suspended-until)
//	audit      table: sequence number (8) → a record, see below
//	items      table: sequence number (8) || index (4) → an item, see below
//	serials    serial (8) → what was published (JSON [Published])
//	carried    table: list key (8) → byte reason, uvarint revoked-at,
//	           uvarint suspended-until (0: none), uvarint sequence number
//	           of the carry-forward record that set it: entries of a
//	           publication the registry did not make, listed like
//	           revocation records of that key (see "Publishing")
//	stage      tables of bulk operations being staged or applied, named by
//	           id (8): the changes, state key → byte action, byte reason,
//	           byte flags, uvarint at, uvarint until, str replacing id,
//	           uvarint line; and the chronological index changes, chunk
//	           number (4) || revoked-at (8) || list key (8) → 1 (add) or
//	           0 (remove). A revocation import's is a bucket of buckets:
//	           state, items, changes and chrono, blocks of those tables;
//	           unchrono, blocks of chronological index keys to remove;
//	           direct, table (1: 0 state, 1 items, 2 changes, 3 chrono)
//	           || block key → empty, for each block put in its table
//	           before the commit
//
// The beneficiary hash is SipHash-2-4 of the beneficiary id under the key
// "crlverify/v1 ben" (two little-endian halves); a collision costs a look
// at one more certificate. Imports write runs: a new run per import, built
// over several transactions and made live by the transaction that appends
// the import's audit record; lookups consult every live run (a certificate
// is in exactly one). The newest run is merged into the one before when it
// has grown as large (or past 12 runs), a bounded slice of blocks per
// transaction: runs double in size from newest to oldest, like the digits
// of a binary counter. A run that is not live when a process opens the
// file for writing was left by an interrupted import and is deleted.
//
// The published list is derived, not stored: at publication time each
// list key's revoked records, and suspended records whose end is after the
// publication time, merge into one [crl.Entry] (two certificates whose
// 64-bit keys collide share an entry, as strong as the stronger). A delta
// from serial s compares the list at s (the "before" records of the first
// change logged after s, else the current records, each judged at the
// this-update of s) with the list now.
//
// # Audit trail
//
// Every change to the registry is one append-only record, chained to the
// previous one by hash. A record holds
//
//	seq             its sequence number, from 1, without gaps
//	time            when (Unix seconds)
//	action          1 import, 2 revoke, 3 suspend, 4 lift, 5 add-issuer,
//	                6 publish, 7 carry-forward
//	actor           who
//	reason          the request's reason code (0 when none was given)
//	note            the request's note
//	source          the input of an import (a file name, "stdin", "api")
//	issuer, certificate_id, beneficiary_id, doses, all_doses, batch,
//	replaced_by     the request's selector, as given
//	at, until       the request's times (0: none)
//	serial, list_digest   what a publication published (for a
//	                carry-forward: the publication carried)
//	item_count, items_root   what changed, below
//	prev_hash       the previous record's hash (32 zero bytes for record 1)
//
// and its hash is SHA-256 of its canonical encoding:
//
//	"crlverify-audit-v1"    18 ASCII bytes
//	u64 seq, i64 time, u8 action, str actor, u8 reason, str note,
//	str source, str issuer, str certificate_id, str beneficiary_id,
//	u32 number of doses, then each dose as u32, u8 all_doses (0 or 1),
//	str batch, str replaced_by, i64 at, i64 until, u64 serial,
//	32 bytes list_digest (zero when none), u64 item_count,
//	32 bytes items_root, 32 bytes prev_hash
//
// where integers are big-endian and str is a u32 length and the UTF-8
// bytes. Every field is always present, in this order.
//
// What changed is a list of items, one per certificate, and items_root is
// the Merkle tree hash of RFC 6962 (section 2.1) over their canonical
// encodings: SHA-256 of the empty string for no items, SHA-256(0x00 ||
// item) for one, SHA-256(0x01 || left || right) above, the left subtree
// the largest power of two of items. For an import the items are the
// certificates imported:
//
//	u8 2, str issuer, str certificate_id, str beneficiary_id, u32 dose,
//	str batch (empty: none), i64 issued_at, i64 valid_until (0: none),
//	str previous_certificate_id (empty: none)
//
// in the order of their state keys (list key, then issuer number, then
// id). For every other change the items are the certificates' revocation
// records after the change:
//
//	u8 1, str issuer, str certificate_id, u8 status (1 revoked, 2
//	suspended, 3 lifted), u8 reason, i64 revoked_at, i64 suspended_until
//	(0: none), str superseded_by (empty: none)
//
// in state key order. For a carry-forward the items are the entries
// carried, in list key order:
//
//	u8 3, u64 list key, u8 reason, i64 revoked_at, i64 suspended_until
//	(0: none)
//
// So one record covers a batch of 100,000
// certificates, and each of them can be proved part of it by a Merkle
// path, for a few bytes per certificate (below): the items are stored
// once, in the items table, not repeated per record. An import's items
// are its certificates themselves (each knows its import's sequence
// number), not stored again. The items root is stored in the record for
// imports and records of more than one item, computed from the item for
// one.
//
// A worked example. Record 3, at 2026-11-22T09:01:00Z, action revoke, actor
// "alice", reason 11 (dataError), note "typo", certificate_id "C1-1", every
// other selector field empty and time zero, one item, after a record whose
// hash is 32 bytes of 0xab. Its item, C1-1 of issuer "did:in:moh" revoked
// for dataError at 2026-11-22T09:00:00Z, encodes as
//
//	010000000a6469643a696e3a6d6f680000000443312d31010b000000006b02af10000000000000000000000000
//
// so items_root is SHA-256(0x00 || item) =
// 8628f86ece17386f7f645d710df9b157092b1bd7233670105b49e80007ebbb29, the
// record encodes as
//
//	63726c7665726966792d61756469742d76310000000000000003000000006b02
//	af4c0200000005616c6963650b000000047479706f0000000000000000000000
//	0443312d31000000000000000000000000000000000000000000000000000000
//	0000000000000000000000000000000000000000000000000000000000000000
//	000000000000000000000000000000000000000000018628f86ece17386f7f64
//	5d710df9b157092b1bd7233670105b49e80007ebbb29abababababababababab
//	abababababababababababababababababababababab
//
// and its hash is
// 0012534820a31fdd36af4c0d5393a4eb14670b457c4e73b43a911dc383ebeac7.
//
// The registry keeps the head, the last record's sequence number and hash
// (meta "audit-head"; [Registry.AuditHead]). "crlverify audit list --json
// --items" prints every field of every record with its items, enough for
// another implementation to recompute the chain.
//
// Records are stored in the audit table under their sequence number,
// compactly: the 32-byte hash, then uvarint time, byte action, str actor,
// byte reason, str note, str source, str issuer, str certificate id, str
// beneficiary id, uvarint count and uvarint doses, byte all-doses, str
// batch, str replaced-by, uvarint at, uvarint until, uvarint serial, str
// list digest (0 or 32 bytes), uvarint item count, and the 32-byte items
// root when the record is an import or has more than one item. A
// revocation item is stored as byte 1, uvarint issuer number, str id, and
// the record's fields as in the state table without the last-change
// number; a carried item as byte 3, the 8-byte list key, the reason byte,
// uvarint revoked-at, uvarint suspended-until.
//
// [Registry.VerifyAudit] proves the chain unbroken: sequence numbers from
// 1 without gaps up to the head, each record's stored hash equal to the
// hash of its canonical encoding with the previous record's hash, each
// record's items hashing to its items root (an import's recomputed from
// the certificates that name it), no items without their record. It then
// replays the trail against the registry: every certificate's revocation
// record must be what the last item that changed it says, every revocation
// record must have been made by a record, the chronological index and the
// counters must agree. The first problem is an [*AuditError] naming the
// record. A record edited, deleted, reordered or appended in the file is
// found; someone who can write the file could still rewrite the whole
// chain consistently, which only a copy of the head kept elsewhere
// reveals: every publication signs one (its checkpoint), and
// [Registry.VerifyCheckpoints] proves the trail consistent with every
// checkpoint of a publication directory, naming the first that does not
// hold and so the stretch of records that changed; the checkpoint of the
// serial its signed index names must be among them (a removed checkpoint
// is a finding, not a pass). [Registry.Audit] walks the chain
// from any record, [Registry.AuditItems] gives a record's items,
// [Registry.AuditList] filters records by time, actor, action and
// certificate.
//
// # Publishing
//
// [Registry.Publish] writes a new serial into a publication directory: in
// one pass over the revocation records and the change log, the full
// snapshot and a delta from each recent published serial straight to the
// new one (omitted when it would be larger than the full); then the serial
// is recorded with an audit record, then the signed checkpoint of the
// serial (its list digest and the audit head after that record:
// checkpoint-<serial>.jws, see package snapshot), then the signed index. Each
// file is written to a temporary name, synced and renamed, the index last:
// a crash at any moment leaves the previous index naming complete files.
// Snapshot files older than [PublishOptions.KeepSerials] serials are
// pruned (checkpoints stay: a few hundred bytes a serial), and so
// is the change log no future delta needs. Changes made while a
// publication runs wait for it and go into the next serial. A new serial
// is always above any serial already in the directory, and a this-update
// never goes back in time.
//
// Publishing never goes backwards. Before it writes anything, Publish
// compares the registry with the newest publication in the directory:
// its signed index, and the checkpoint of its serial. If the directory
// holds a serial the registry did not publish, or a serial the registry
// published with another list digest or over another audit trail (an old
// copy of the registry put back, a second registry writing into the same
// directory), it refuses with a *PublicationConflictError that says what
// differs and how many revocations of the directory's list publishing
// would drop. A publication holds the directory's lock file,
// .crlverify-publish.lock (flock), from reading the directory to writing
// the index, so two registries publishing at the same moment cannot both
// pass that comparison and sign the same serial twice: the second is
// refused with [ErrPublicationBusy], or by the comparison once it reads
// what the first wrote. [Registry.CarryForward] is the way on that keeps every
// published revocation: it reads that publication's full snapshot and
// puts each entry the registry would not list as strongly into the
// carried table, keyed by list key (the certificate ids are not in the
// list), with one audit record (action carry-forward, the publication's
// serial and list digest, the entries as items); it adds the issuers the
// publication covered and acknowledges the publication (meta "acked"),
// so the next Publish goes ahead. Carried entries are listed from then on
// like revocation records of their key (a carried suspension until it
// ends), in full snapshots and in deltas, and cannot be lifted. Restoring
// the registry from a backup that reaches the publication's audit head
// (see "Backups") is the other way on, which keeps the trail whole.
//
// # Backups
//
// [Registry.Backup] writes one backup as a single stream, [Registry.BackupTo]
// into a backup directory; [Restore] and [RestoreStream] put a registry
// back; [PruneBackups] applies a retention policy. A backup is full (the
// registry file) or incremental (the audit records since the backup
// before it, chained to it).
//
// A full backup copies the bbolt file as one read transaction sees it, so
// it holds every change acknowledged before it started and nothing half
// made. It holds the file while it copies it into a temporary file beside
// the registry (about a second per GB): operations of other processes
// (serve) wait that long, those of the process itself go on; compressing,
// encrypting and writing come after. An incremental backup reads the
// records after the base head up to the head when it starts, a few thousand
// records or 65,536 items or certificates per read transaction, giving the
// file back between them: records up to the head never change, so the
// slices are consistent.
//
// The stream is a tar archive (POSIX pax), compressed with gzip, and when
// recipients are given encrypted with age (age-encryption.org/v1, X25519
// recipients) to every one of them. The archive holds exactly two regular
// files, in this order: manifest.json, then the data, registry.db for a full
// backup or increment.bin for an incremental one. The manifest is one
// JSON object (at most 64 KiB; unknown members are refused):
//
//	"format"      "crlverify-backup-v1"
//	"kind"        "full" or "incremental"
//	"created"     RFC 3339 time of the backup
//	"publisher"   the registry's publisher name, if it published
//	"serial"      the registry's last published serial (0: none)
//	"audit_seq"   the audit head the backup restores to: records 1 to audit_seq
//	"audit_head"  the hash of record audit_seq (64 hex digits; zeros for none)
//	"base_seq", "base_head"   incremental only: the head it continues from,
//	              the audit_seq and audit_head of the backup before it
//	"layout"      full only: the registry file's layout version (3)
//	"records", "items"   incremental only: what the increment holds
//	"files"       [{"name", "size", "sha256"}]: the data member, its size and
//	              SHA-256 (64 hex digits)
//
// An increment (increment.bin) is the line "crlverify-increment-v1\n" and
// then frames, each a type byte, a uvarint length and that many bytes:
//
//	'R'  a record: its canonical encoding (see "Audit trail"), at most 16 KiB
//	'I'  an item: its canonical encoding, at most 4 KiB
//	'P'  a publication: the JSON [Published] of a publish record's serial
//	'E'  the end (length 0); nothing may follow it
//
// in the order: for each record from base_seq+1 to audit_seq, its 'R', its
// item_count 'I' frames (an import's certificates, in state key order; the
// revocation records after a change; the entries a carry-forward carried),
// and for a publish record one 'P'; then 'E'. The hash of each record is
// SHA-256 of its 'R' frame's bytes; its prev_hash must be the hash of the
// record before (base_head for the first), its items must hash to its
// items_root. An increment is so self-verifying, and a chain of backups is
// verified link by link.
//
// In a backup directory a backup is named full-<created>-<audit_seq>.crlbackup
// or incr-<created>-<base_seq>-<audit_seq>.crlbackup, the time as
// YYYYMMDDThhmmssZ and the sequence numbers as 20 digits. The backups of a
// directory are ordered by audit_seq, then time: the time in a name is for
// people, and a clock put back between two backups does not reorder them.
// An incremental backup into a directory continues from its newest
// backup's audit_seq; a registry whose trail is shorter than that (an old
// copy put back, another registry) takes no backup there. A restore from a
// directory takes its newest full backup and the incremental backups after
// it, which must chain (each base_seq the audit_seq of the one before;
// where they overlap, the chain reaching the furthest record): a backup
// holding records no chain reaches (one missing, one continuing from
// inside another) is refused, never left out.
//
// Restore checks everything before the registry is replaced: each backup
// decrypts (an encrypted one needs an identity), its archive holds the
// manifest and the data member the manifest names, of its size and SHA-256,
// and nothing after; the full backup's registry opens and reaches its
// manifest's audit head; each increment continues from the head reached, its
// records chain and are replayed as the registry made them (an import's
// certificates as a new run, revocation records and their audit items
// through the same bookkeeping, a publication's serial, a carry-forward's
// entries), each replayed record hashing as recorded, up to the manifest's
// head; then [Registry.VerifyAudit] proves the rebuilt trail. The registry
// is rebuilt in a temporary file beside the target and renamed over it while
// no process is inside an operation on the target. Any failure leaves the
// target untouched and wraps [ErrBackup].
//
// Backups, restores, imports and audit checks keep their temporary files in
// a directory .FILE.tmp-* beside the registry, which their process holds
// locked (flock) until it removes it; one left by a process killed midway
// is unlocked, and the next such operation removes it. A backup into a
// directory writes .crlverify-backup-*.tmp, locked the same way, and
// renames it when complete; [PruneBackups] removes unlocked ones over an
// hour old. A restored registry is the live
// one record for record: audit records, items, certificates, revocation
// records, carried entries, published serials (age encryption is not
// authentication: whoever holds a recipient can make a backup that
// verifies; "crlverify audit verify --publication" then compares the
// restored trail with the signed checkpoints).
//
// [DefaultRetention] is DIVOC's platform policy: full backups kept 14 days
// (the newest always), incremental backups purged once a newer full backup
// exists (those after the newest full are kept: a restore to now needs
// them).
//
// # Scale
//
// Measured with "make bench" on the 2-core reference machine (shared with
// other work; BenchmarkImport10M and BenchmarkImportRevocations1M also
// report rows per CPU second, which does not depend on that): importing
// 10 million generated CoWIN-like certificates with "crlverify registry
// import" runs at about 530,000 rows a second with a peak resident memory
// of about 160 MB (about 155 MB for a tenth of the rows:
// BenchmarkImportCLIPeakRSS10M), and the registry file holds about 79
// bytes per certificate (its record about 50, the beneficiary index about
// 18, the batch index about 10, bbolt's pages the rest). A file of a
// million revocations ("crlverify revoke --from-file") imports at 530,000
// to 670,000 rows a second with the machine otherwise idle, 380,000 to
// 500,000 with other work on its cores (450,000 to 560,000 rows per CPU
// second), with a peak resident memory of about 160 MB (about 170 MB for
// three million), and the file holds about 90 bytes per revocation
// (record 35, audit item 30, chronological index 13, change log 10 until
// a publication prunes it).
// Merging a run into one as large rewrites about 370,000 certificates a
// second, and leaves the pages of the merged run free for later writes
// (the file is then about 105 bytes per certificate until they are
// reused). Group commit acknowledges about 14,000 durable revocations a
// second from 256 concurrent callers, 99% of them within 80 ms
// (BenchmarkGroupCommit); one request alone, its file opening and durable
// commit included, takes 7 to 10 ms on a registry of 10 million
// certificates, a batch of 475 about 95 ms, an online status 1.6 ms
// (BenchmarkRevokeRules10M).
//
// A full backup of the registry of 10 million certificates (a 751 MB
// file) takes about 22 seconds, 526 MB gzip'd and age-encrypted, and
// holds the file 1.4 seconds (what serve waits at most); an incremental
// backup of 1,000 revocations about 60 ms and 300 KB; restoring both,
// verified, about 22 seconds (BenchmarkBackup10M).
//
// Two billion certificates on one machine therefore need about 160 GB of
// registry file, plus up to a third more in free pages left by the last
// merges (reused by the next writes), and temporary space beside it for
// the largest single import (about 90 bytes a row: 9 GB for files of 100
// million rows). Memory stays near 160 MB for an import of any size;
// lookups want the runs' bbolt branch pages in the page cache (about 1 GB
// at two billion; each lookup then reads one leaf page per run, at most
// about a dozen runs). Loading two billion rows as one file writes them
// in about an hour; as 20 files of 100 million, about an hour of writing
// plus about 6 hours of merges (each certificate rewritten about log2(20)
// times). Daily imports of a million certificates take seconds, with a
// merge now and then.
package registry

// Package crlsync keeps a verifier's [store.Store] up to date from a
// publication of signed CRL snapshots: an HTTP(S) base URL or a local
// directory serving an index (snapshot.IndexName) and the snapshot files
// it names, or a single snapshot file (say, on a USB stick).
//
// A [Syncer] fetches the index (with If-None-Match over HTTP), verifies its
// signature, and takes the cheapest path from the stored serial to the
// newest: the one delta whose base is the stored serial when it is smaller
// than the full snapshot, else the full snapshot (followed by its delta to
// the newest serial if the index has one). Every file is checked against
// the index's length and SHA-256 before the store reads it, and the store
// verifies the snapshot's own signature, digest, serial and dates before
// anything persists.
//
// # Bounds
//
// Downloads are bounded (the index by snapshot.MaxIndexBytes, a snapshot by
// the length the index gives), retried with exponential backoff and
// jitter (a server error, a rate limit, a refused connection, a failed
// name lookup or a cut body; at most [Options.Attempts] times), abandoned
// when no byte arrives for [Options.StallTimeout], and resumed with an
// HTTP Range request where the server allows it. A whole sync ends within
// [Options.Timeout] ([ErrTimeout]), however slowly a server sends: the
// stall timer alone restarts with every byte. Errors from the source wrap
// [ErrSource]; a server that answers 304 Not Modified to a request that
// named no version is one.
//
// Downloads go to a temporary file next to the store, named after the
// store file and the snapshot's digest ("<store>-part-<digest>"), kept for
// a later sync to resume when the network failed, removed when the disk
// did (a file that cannot grow helps no later sync), once applied, and
// when the index no longer leads through them.
//
// # Which issuers a publisher answers for
//
// A publication names the issuers its lists cover; the store keeps, per
// publisher, the issuers the verifier allows it to cover (its binding,
// see package store). [Options.Issuers] gives the binding: the index is
// checked against it before anything is downloaded, and a publication
// covering an issuer outside it, or naming one bound to another
// publisher, is refused (store.ErrIssuerNotBound,
// store.ErrIssuerConflict) with the store unchanged. Given no binding,
// the publisher keeps the one it has, and a publisher's first list binds
// it to the issuers that list covers ([Summary.Learned]): a caller
// should say so, and recommend giving the binding.
//
// # What a sync concludes
//
// Nothing is kept from a sync that fails: the store applies a snapshot
// whole or not at all, and nothing of an index is stored. The sync's
// bookkeeping (store.SyncRecord: last attempt, error, ETag) is kept for a
// source that has delivered a list; a source that never has leaves none.
//
// A sync that finds nothing newer than a list already past its next-update
// (plus grace) fails with [ErrStale]: the publisher's feed is frozen, or
// the source serves an old copy, and checks against the list are not
// conclusive.
//
// A publisher's history forks when its registry, restored from a backup,
// publishes serials the store already holds with other entries. A sync
// notices it when the index of the stored serial gives other times than
// the stored list's and its full snapshot holds another list, or when a
// delta from the stored serial starts from another list than the stored
// one; it then replaces the stored list from the full snapshot
// (store.ApplyOptions.Fork for one of the stored serial) and reports it in
// [Summary.Forked]. Without a full snapshot to recover with, it fails with
// [ErrFork]. A fork published with the very times of the stored list is
// noticed at the next serial's delta.
package crlsync

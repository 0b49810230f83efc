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
// Downloads are bounded (the index by snapshot.MaxIndexBytes, a snapshot by
// the length the index gives), retried with exponential backoff and
// jitter, abandoned when no byte arrives for [Options.StallTimeout], and
// resumed with an HTTP Range request where the server allows it. They go
// to a temporary file next to the store, removed once applied.
package crlsync

// Package store is the verifier's offline copy of certificate revocation
// lists: one bbolt file per device holding, for each publisher (an issuing
// authority), the verified header of its current list, the list's entries
// and a Bloom filter over their keys; the bookkeeping of past syncs is
// kept beside it.
//
// # Checking
//
// [Store.Check] finds the list authoritative for a certificate's issuer,
// computes the certificate's [crl.Key] (with the issuer's [crl.Keyer],
// derived once when the list is loaded), and asks the Bloom filter first:
// a negative answer is final (the filter holds every key of the list). A
// positive one is confirmed in bbolt, so a false positive never becomes a
// "revoked". Answering an absent key touches no bbolt page and makes no
// allocation. The [Result] carries the list's serial and dates and a
// [Freshness]; [Result.Conclusive] is what a verdict may call "not revoked"
// without qualification: a fresh list that does not hold the certificate.
//
// # Applying snapshots
//
// [Store.ApplySnapshot] verifies a signed snapshot's header before reading
// its body, and refuses, leaving the store unchanged:
//   - a serial not above the stored one ([snapshot.ErrRollback]), unless
//     it is a fork the caller accepts (below);
//   - a list already past its next-update plus the grace
//     ([snapshot.ErrExpired]), unless [ApplyOptions.AllowExpired]; the time
//     used is the later of the device clock and the publisher's stored
//     this-update, so setting the clock back does not revive a replay;
//   - a delta whose base serial and digest are not the stored list's
//     ([snapshot.ErrWrongBase]);
//   - a serial more than [Options.MaxSerialJump] above the stored one
//     ([snapshot.ErrFastForward]);
//   - an issuer outside its publisher's binding ([ErrIssuerNotBound]),
//     or bound to another publisher ([ErrIssuerConflict]), below;
//   - a signing key that has not signed the publisher's stored lists, when
//     the keys given hold none of those that have ([ErrKeyChange]): one
//     publisher's key cannot replace another publisher's list, while a
//     rotation whose key set carries the old key and the new one goes
//     through; give each publisher its own key set;
//   - a body whose items do not yield the signed entry count.
//
// # Which issuers a publisher answers for
//
// A snapshot names the issuers its list covers, and its publisher
// chooses them: a trusted publisher could name another authority's
// issuer, and its list would then answer for that authority's
// certificates. So the store keeps, with each publisher's list, its
// binding ([List.Bound]): the issuers the verifier allows that publisher
// to answer for. A list covering an issuer outside its publisher's
// binding is refused, and an issuer is bound to one publisher at most:
// a list or a binding naming an issuer bound to another publisher is
// refused, so an issuer never moves from one publisher to another unless
// the verifier forgets the other publisher ([Store.Remove]) or binds it
// without that issuer.
//
// The binding is the verifier's: [ApplyOptions.Issuers] sets it (sync
// --issuers), and [Store.Bind] sets it for a stored list. Given no
// binding, the first list of a publisher binds it to the issuers that
// list covers (trust on first use; [ApplyResult.Learned] says so, for
// the caller to tell the user), and later lists of that publisher keep
// to them: a publisher cannot widen its reach by itself. Bindings are
// kept in the publisher's state, and dropped with its list. A list
// stored by an earlier version has no binding of its own: it is bound to
// the issuers it covers. A program that predates bindings reads the file
// and drops them when it writes it; its lists are then bound to what they
// cover.
//
// The key that verified each list is recorded by its thumbprint
// ([List.SignerKey]) and given with every check ([Result.SignerKey]), so
// that a trust store can name the publisher keys that may answer for an
// issuer (package verify).
//
// A publisher's signed times count for its own list only: a check is
// judged against the list's this-update, and nothing one publisher signs
// (a this-update in the future, say) moves the time by which another's
// lists are judged. An apply that fails leaves nothing behind.
//
// A publisher's history can fork: its registry restored from a backup
// publishes a serial the store already holds, with other entries. With
// [ApplyOptions.Fork], a full snapshot of the stored serial whose list
// differs and that was made after the stored list replaces it; later
// serials then follow as usual.
//
// # Files, and who waits for whom
//
// A store file is never modified once it is in place. A write (an apply,
// a [Store.Remove]) builds the next file beside it, "<store>-new-*": the
// lists it keeps are copied block by block (each block's checksum checked
// on the way, so damage is not carried over), the changed list is written
// from the snapshot, the file is synced once and renamed over the old
// one, and the directory is synced. A reader that opened the old file
// goes on reading it, complete, until it reopens ([Store.Reload]; a Store
// follows the renames of its own writes by itself); a reader that opens
// the path gets the old file or the new one, never a mix. So checks in
// any number of processes never wait for a sync and never fail because
// of one, however long it downloads or applies, and a check running in
// the process that applies answers from the old list or the new one.
//
// Writers take an advisory lock on "<store>-lock" for the short time they
// build, and wait for each other up to [Options.LockTimeout]; readers
// never take it. A process killed while building leaves a temporary
// file, deleted by the next write (or the next open for writing); a full
// disk fails the build and leaves the old file.
//
// This was chosen over sharing one file between a writer and readers in
// other processes. bbolt keeps a process's readers and writer apart only
// within the process; across processes it needs a file lock, exclusive
// for a writer, and then a check would have to wait for a whole apply
// (seconds for millions of entries), while a long-running reader would
// keep a sync from ever applying. Copying costs the apply of a delta a
// pass over the stored list: blocks no change falls in are copied as they
// are (their checksums checked), the others merged, and the new file is
// synced whole. A delta of 10k changes to a list of 1M entries (an 11 MB
// file) takes as long as the former in-place merge, which rewrote most
// blocks anyway (about 0.2 s on a busy two-core machine, both ways); on
// 10M entries it takes about 1.5 times as long (1.1 s against 0.7 s), the
// copy and sync of 110 MB. A full apply writes a new list either way, and
// is no slower. Checks are untouched: an absent key is answered from the
// Bloom filter in memory, a present one from the current file. The disk
// must hold two copies of the store during a write. On Windows a file
// open elsewhere cannot be renamed over, so a write fails while another
// process reads the store.
//
// The bookkeeping of syncs ([SyncRecord]) is kept in "<store>-syncs", a
// small JSON file replaced whole by each write under the same lock, so
// that recording a sync does not rewrite the lists.
//
// # Layout
//
// Entries are stored in sorted runs ("blocks") of about two hundred,
// bit-packed and keyed in bbolt by the first entry's key bytes, two runs to
// a 4 KiB page (about 10.5 bytes per entry). Each list keeps, beside its
// blocks, their first keys (its block index): a lookup finds the block in
// the index, in memory, reads it by its exact key and binary-searches it
// in place. The body is decoded one chunk ahead in a second goroutine
// while the previous chunk is indexed and written. A full snapshot is
// written into a new generation bucket in batches of [Options.BatchEntries]
// entries; a delta of at most 2^18 changes is read into memory and merged
// block by block; a larger one is merged as it streams in, its removals
// applied batch by batch.
//
// # Damage
//
// bbolt checks its meta pages, not the others, and reads the file
// through a memory mapping: a truncated file, or a flipped bit in a page
// number, would send it past the end of the file (a fault that ends the
// process) or into one of its assertions (a panic). A store checks, when
// it opens a file, that the file holds every page its meta page counts;
// every value it stores (a publisher's state, its Bloom filter, its block
// index, each block) ends with a CRC-32C of its content (a block's also
// covering its key), checked when the value is read; and the reads of a
// file run with the runtime's panic-on-fault set and a recover, so that a
// fault or a panic in bbolt becomes an error. Every such error wraps
// [ErrCorrupt] and names the file; the way out is to remove the file and
// sync into a new one.
//
// # Schema versions
//
// Files of schema 2 (this version) carry the checksums and block indexes.
// Files of schema 1 are read as they are (without either: their lookups
// seek in bbolt), and the first write turns them into schema 2. Schema 1
// kept one store-wide "newest signed time seen" that any trusted
// publisher could move into the future, and with it every other
// publisher's checks; it is not read, a publisher's own this-update takes
// its place. Schema 1 kept the sync bookkeeping inside the file; the first
// write moves it to "<store>-syncs".
//
// # Bloom filter
//
// The filter (a bits-and-blooms/bloom/v3 filter sized for the list plus a
// quarter, at [Options.BloomFPRate]) is blocked: the k bits of a key lie in
// one 512-bit block chosen by the key's value, so a check touches one cache
// line and a build from sorted keys walks memory in order. It is stored
// with the list it describes, tagged with the list's generation, and
// loaded on open (a schema 1 file's is rebuilt from the entries if it does
// not match; a schema 2 file's is checked by its checksum). Removed keys
// stay set (the filter may only err towards "maybe");
// it is rebuilt when the keys it holds exceed its capacity.
//
// # Memory
//
// A store keeps its Bloom filters in memory (about 1.7 bytes per entry)
// and reads entries through bbolt's read-only mapping of the file. A
// lookup may map much more of the file than the page it reads: Linux maps
// the neighbouring pages already in its file cache (64 KiB around the
// fault, or a whole 2 MiB huge page), so random checks of a large list
// would end with all of the file counted in the process's resident
// memory. For a store larger than [Options.ResidentLimit], the store
// measures the process's file-backed resident memory every few lookups
// and, once it has grown by more than the limit, releases the mapping's
// pages (madvise MADV_DONTNEED; huge pages are turned off for the
// mapping). They stay in the system's file cache; a later lookup maps its
// page again at the cost of a page fault. The mapping is released also
// after opening (which reads the filters through it), after an apply and
// after [Store.Entries]. This is Linux only; elsewhere there is no limit.
//
// # SMART Health Cards issuers' own lists
//
// A SMART Health Cards issuer publishes, for each of its keys with a
// crlVersion, a revocation list of its own at
// iss + "/.well-known/crl/" + kid + ".json" (see package shc): rids,
// some with a timestamp ("rid.T" revokes only the cards of that rid issued
// before T), and a counter (ctr) that must equal the key's crlVersion.
// [Store.ImportSHCList] keeps such a list in the same file, in a bucket of
// its own ("shc_crls"), one entry per issuer and key holding the list as
// published and its description ([SHCList]), each sealed with its
// checksum. They are not turned into entries of a snapshot list: an entry
// keyed by the rid alone would also revoke the cards the issuer re-issued
// after the timestamp. A verdict asks [Store.SHCList] for the parsed list
// of the card's issuer and key and lets it decide ([shc.CRL.RevokesCard]).
// A list is read from the file and parsed when first asked for.
//
// Imports follow the write discipline of snapshots (the next file is
// built beside the live one and renamed over it; every write copies the
// lists, their checksums checked). A list with a lower counter than the
// stored one is refused ([snapshot.ErrRollback]), one with the same
// counter and other content too ([ErrSHCListConflict]). A store holds at
// most [MaxSHCLists] lists of at most [MaxSHCListBytes] together. A list
// whose stored copy is damaged is an error ([ErrCorrupt]) when it is read
// ([Store.SHCList]) and when a write would copy it; importing the same
// list again replaces the damaged copy, and [Store.RemoveSHCList] drops it,
// neither reading it. These
// lists are not signed: whoever imports one vouches for it, as for the
// issuer's key set in the trust store. A program that predates them reads
// the file without them, and drops them when it writes it.
//
// # Expired snapshots
//
// A snapshot already past its next-update is refused by default even when
// its serial is newer: accepting it would not make any check conclusive,
// and refusing it surfaces a frozen or replayed feed as an error at sync
// time. [ApplyOptions.AllowExpired] accepts it anyway (it may carry
// revocations the stored list lacks); checks then report [Stale].
package store

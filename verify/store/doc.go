// Package store is the verifier's offline copy of certificate revocation
// lists: one bbolt file per device holding, for each publisher (an issuing
// authority), the verified header of its current list, the list's entries,
// a Bloom filter over their keys, and the bookkeeping of past syncs.
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
//   - a serial not above the stored one ([snapshot.ErrRollback]);
//   - a list already past its next-update plus the grace
//     ([snapshot.ErrExpired]), unless [ApplyOptions.AllowExpired]; the time
//     used is the later of the device clock and the newest signed time the
//     store has seen, so setting the clock back does not revive a replay;
//   - a delta whose base serial and digest are not the stored list's
//     ([snapshot.ErrWrongBase]);
//   - a serial more than [Options.MaxSerialJump] above the stored one
//     ([snapshot.ErrFastForward]);
//   - issuers already covered by another publisher's list
//     ([ErrIssuerConflict]);
//   - a signing key that has not signed the publisher's stored lists, when
//     the keys given hold none of those that have ([ErrKeyChange]): one
//     publisher's key cannot replace another's list, while a rotation
//     whose key set carries the old key and the new one goes through;
//     give each publisher its own key set;
//   - a body whose items do not yield the signed entry count.
//
// The body streams into a staging area and becomes the current list in
// one bbolt transaction, only after its digest has been verified, so a
// concurrent Check answers from the old list or the new one, never a mix.
//
// # Layout and crash safety
//
// Entries are stored in sorted runs ("blocks") of about two hundred,
// bit-packed and keyed in bbolt by the first entry's key bytes, two runs to
// a 4 KiB page (about 10.5 bytes per entry); a lookup seeks the run and
// binary-searches it in place. The body is decoded one chunk ahead in a
// second goroutine while the previous chunk is indexed and written. A full
// snapshot is written into a new generation bucket in batches of
// [Options.BatchEntries] entries, each batch a durable transaction; the final
// transaction points the publisher at the new generation, stores the Bloom
// filter and header, and the old generation is then deleted. A small delta
// is merged into the current generation within one transaction; a large
// one builds a new generation like a full snapshot. Generation buckets that
// no publisher points at (left by a crash or a failed apply) are deleted
// when the store is opened for writing.
//
// # Bloom filter
//
// The filter (a bits-and-blooms/bloom/v3 filter sized for the list plus a
// quarter, at [Options.BloomFPRate]) is blocked: the k bits of a key lie in
// one 512-bit block chosen by the key's value, so a check touches one cache
// line and a build from sorted keys walks memory in order. It is stored in
// the same transaction as the list it describes, tagged with the list's
// generation, and loaded on open (rebuilt from the entries if it does not
// match). Removed keys stay set (the filter may only err towards "maybe");
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
// # Expired snapshots
//
// A snapshot already past its next-update is refused by default even when
// its serial is newer: accepting it would not make any check conclusive,
// and refusing it surfaces a frozen or replayed feed as an error at sync
// time. [ApplyOptions.AllowExpired] accepts it anyway (it may carry
// revocations the stored list lacks); checks then report [Stale].
package store

// Package registry is the issuing authority's side of crlverify: a private
// registry of revoked certificates kept in one bbolt file, and the publisher
// that turns it into a signed publication directory of CRL snapshots.
//
// # What the registry holds
//
// A [Registry] keeps, in clear text (it is the authority's private file, never
// published):
//
//   - every revocation, keyed by issuer and certificate id (stored in
//     list-key order, so a bulk import writes sequentially and key
//     collisions sit side by side), with its revoked-at time, [crl.Reason]
//     and, for a suspension, its end;
//   - the public list: one [crl.Entry] per [crl.Key], kept in key order so a
//     full snapshot streams out already sorted;
//   - the set of issuers the list is authoritative for;
//   - an append-only audit trail of every change ([AuditRecord]);
//   - the serial counter, and for each published serial its times, list
//     digest and entry count;
//   - a change log: every change to the public list, filed under the serial
//     it will first be published in, with its state before and after. A delta
//     from serial s to serial t folds the changes filed under s+1 … t.
//
// # Revoking
//
// [Registry.Revoke] records or updates one revocation, [Registry.Unrevoke]
// lifts one. [Registry.RevokeBatch] and [Registry.Import] apply many in one
// transaction: if any row is bad, nothing is applied and the error
// ([*ImportError]) lists the bad rows by line number. Revoking a certificate
// that is already revoked replaces its revoked-at, reason and suspension end;
// within one batch or import the last row for a certificate wins. A bulk
// import keeps its checked rows in memory (under 100 bytes each plus the
// id) and applies them in list-key order: a million rows take seconds.
// [Registry.RevokeDoses] applies DIVOC's rule for revoking a beneficiary's
// certificates by dose ([CheckDoses]).
//
// Two certificates whose 64-bit keys collide share one list entry, which
// stays as strong as the stronger of the two (a permanent revocation beats
// a suspension) until both are lifted.
//
// # Publishing
//
// [Registry.Publish] writes a new serial into a publication directory: the
// full snapshot, a delta from each recent published serial straight to the
// new one (omitted when it would be larger than the full), then the signed
// index, each written to a temporary name, synced and renamed, the index
// last. A crash at any moment leaves the previous index naming complete
// files. Files older than [PublishOptions.KeepSerials] serials are pruned,
// and so is the change log no future delta needs.
//
// Changes made while a publication runs wait for it and go into the next
// serial. A new serial is always above any serial already in the directory
// (as after restoring an old copy of the registry), and a this-update never
// goes back in time. A suspension whose end has passed stays in the list
// until it is lifted; verifiers treat it as over ([crl.Entry.InForce]).
//
// The formats are those of package snapshot.
package registry

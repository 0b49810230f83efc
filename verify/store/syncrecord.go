package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SyncRecord is the bookkeeping of syncs from one source (a URL, a
// directory or a file). It is kept beside the store file, in
// "<store>-syncs" (a JSON file replaced whole by each write), so that
// recording a sync never rewrites the lists.
type SyncRecord struct {
	Source string `json:"source"`
	// Publisher is the publisher the source served last.
	Publisher string `json:"publisher,omitempty"`
	// ETag is the source's last index ETag, valid while the stored list is
	// still at ETagSerial.
	ETag       string `json:"etag,omitempty"`
	ETagSerial uint64 `json:"etag_serial,omitempty"`
	// LastAttempt and LastError describe the latest sync; LastSuccess is
	// the latest that ended without error.
	LastAttempt time.Time `json:"last_attempt"`
	LastError   string    `json:"last_error,omitempty"`
	LastSuccess time.Time `json:"last_success"`
	// BytesFetched by the latest sync.
	BytesFetched int64 `json:"bytes_fetched"`
}

// syncsFile is the form of the bookkeeping file.
type syncsFile struct {
	V       int          `json:"v"`
	Sources []SyncRecord `json:"sources"`
}

// maxSyncsBytes bounds the bookkeeping file.
const maxSyncsBytes = 4 << 20

func syncsPath(path string) string { return path + "-syncs" }

// SyncRecord returns the bookkeeping of source.
func (s *Store) SyncRecord(source string) (SyncRecord, bool, error) {
	recs, err := s.SyncRecords()
	if err != nil {
		return SyncRecord{}, false, err
	}
	for _, r := range recs {
		if r.Source == source {
			return r, true, nil
		}
	}
	return SyncRecord{}, false, nil
}

// SyncRecords returns the bookkeeping of every source, sorted by source.
func (s *Store) SyncRecords() ([]SyncRecord, error) {
	recs, found, err := s.readSyncs()
	if err != nil || found {
		return recs, err
	}
	return s.legacySyncs(s.view.Load())
}

// readSyncs reads the bookkeeping file; found is false when there is none.
func (s *Store) readSyncs() (recs []SyncRecord, found bool, err error) {
	path := syncsPath(s.path)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSyncsBytes+1))
	if err != nil {
		return nil, false, fmt.Errorf("store: %w", err)
	}
	var sf syncsFile
	if len(b) > maxSyncsBytes {
		return nil, true, corruptErr(path, "larger than it can be")
	}
	if err := json.Unmarshal(b, &sf); err != nil {
		return nil, true, corruptErr(path, err.Error())
	}
	if sf.V != 1 {
		return nil, true, fmt.Errorf("%w: %s is of version %d", ErrSchema, path, sf.V)
	}
	slices.SortFunc(sf.Sources, func(a, b SyncRecord) int { return strings.Compare(a.Source, b.Source) })
	return sf.Sources, true, nil
}

// legacySyncs reads the bookkeeping a schema 1 file keeps inside it.
func (s *Store) legacySyncs(v *view) ([]SyncRecord, error) {
	if v.f == nil || v.f.sums {
		return nil, nil
	}
	var out []SyncRecord
	err := v.f.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktSources)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, raw []byte) error {
			var rec SyncRecord
			if err := json.Unmarshal(raw, &rec); err != nil {
				return v.f.corrupt("sync record: %v", err)
			}
			out = append(out, rec)
			return nil
		})
	})
	return out, err
}

// writeSyncs replaces the bookkeeping file with recs. The caller holds
// the writer lock.
func (s *Store) writeSyncs(recs []SyncRecord) error {
	b, err := json.MarshalIndent(syncsFile{V: 1, Sources: recs}, "", "  ")
	if err != nil {
		return err
	}
	tf, err := os.CreateTemp(filepath.Dir(s.path), tempPrefix(s.path)+"syncs-*")
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	_, err = tf.Write(append(b, '\n'))
	if err == nil {
		err = tf.Sync()
	}
	if cerr := tf.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tf.Name(), syncsPath(s.path))
	}
	if err != nil {
		os.Remove(tf.Name())
		return fmt.Errorf("store: recording the sync: %w", err)
	}
	return nil
}

// migrateRecords moves the bookkeeping a schema 1 file keeps inside it to
// the bookkeeping file, before the file is replaced by one without it.
// The caller holds the writer lock.
func (s *Store) migrateRecords(v *view) error {
	if v.f == nil || v.f.sums {
		return nil
	}
	if _, found, err := s.readSyncs(); found || err != nil {
		return err
	}
	recs, err := s.legacySyncs(v)
	if err != nil || len(recs) == 0 {
		return err
	}
	return s.writeSyncs(recs)
}

// editSyncs applies fn to the bookkeeping, with the writer lock held,
// and writes it back if fn reports a change.
func (s *Store) editSyncs(fn func([]SyncRecord) ([]SyncRecord, bool)) error {
	recs, err := s.SyncRecords()
	if err != nil && !errors.Is(err, ErrCorrupt) {
		return err
	}
	// Damaged bookkeeping is started over.
	if recs, changed := fn(recs); changed || err != nil {
		return s.writeSyncs(recs)
	}
	return nil
}

// PutSyncRecord stores rec under rec.Source.
func (s *Store) PutSyncRecord(rec SyncRecord) error {
	return s.write(func(*view) (*view, error) {
		return nil, s.editSyncs(func(recs []SyncRecord) ([]SyncRecord, bool) {
			recs = slices.DeleteFunc(recs, func(r SyncRecord) bool { return r.Source == rec.Source })
			recs = append(recs, rec)
			slices.SortFunc(recs, func(a, b SyncRecord) int { return strings.Compare(a.Source, b.Source) })
			return recs, true
		})
	})
}

// RemoveSyncRecord forgets the bookkeeping of source and reports whether
// there was any. The lists are kept.
func (s *Store) RemoveSyncRecord(source string) (bool, error) {
	var found bool
	err := s.write(func(*view) (*view, error) {
		return nil, s.editSyncs(func(recs []SyncRecord) ([]SyncRecord, bool) {
			n := len(recs)
			recs = slices.DeleteFunc(recs, func(r SyncRecord) bool { return r.Source == source })
			found = len(recs) != n
			return recs, found
		})
	})
	return found, err
}

// removeRecords drops the records for which drop is true. The caller
// holds the writer lock.
func (s *Store) removeRecords(drop func(*SyncRecord) bool) error {
	return s.editSyncs(func(recs []SyncRecord) ([]SyncRecord, bool) {
		n := len(recs)
		recs = slices.DeleteFunc(recs, func(r SyncRecord) bool { return drop(&r) })
		return recs, len(recs) != n
	})
}

package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SyncRecord is the bookkeeping of syncs from one source (a URL, a
// directory or a file), kept in the store next to the lists.
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

// SyncRecord returns the bookkeeping of source.
func (s *Store) SyncRecord(source string) (SyncRecord, bool, error) {
	var rec SyncRecord
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktSources)
		if b == nil {
			return nil
		}
		raw := b.Get([]byte(source))
		if raw == nil {
			return nil
		}
		found = true
		return json.Unmarshal(raw, &rec)
	})
	if err != nil {
		return SyncRecord{}, false, fmt.Errorf("store: sync record: %w", err)
	}
	return rec, found, nil
}

// PutSyncRecord stores rec under rec.Source.
func (s *Store) PutSyncRecord(rec SyncRecord) error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bktSources).Put([]byte(rec.Source), raw)
	})
}

// SyncRecords returns the bookkeeping of every source, sorted by source.
func (s *Store) SyncRecords() ([]SyncRecord, error) {
	var out []SyncRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktSources)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var rec SyncRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("%w: sync record: %v", ErrCorrupt, err)
			}
			out = append(out, rec)
			return nil
		})
	})
	return out, err
}

package store

import (
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// measureEvery is how many lookups in a store larger than its resident
// limit go between two measurements of the process's resident memory.
const measureEvery = 16

// resident keeps the part of the store file mapped into the process, and so
// counted in its resident memory, near Options.ResidentLimit. bbolt reads
// the file through a shared read-only mapping, and a lookup may map much
// more of it than the page it reads: the kernel maps neighbouring pages
// already in its file cache, up to a whole huge page. Every measureEvery
// lookups the process's file-backed resident memory is measured; once it
// has grown by more than the limit since the last release, the mapping's
// pages are released. They stay in the system's file cache: later lookups
// map them again without reading the disk.
type resident struct {
	limit   int64
	meter   *meter // nil: no limit, or none can be kept on this system
	lookups atomic.Uint64

	mu   sync.Mutex // serialises measurements and releases
	base int64      // file-backed resident bytes after the last release
}

func newResident(limit int64) *resident {
	r := &resident{limit: limit}
	if limit > 0 {
		r.meter = openMeter()
	}
	return r
}

func (r *resident) close() {
	if r.meter != nil {
		r.meter.close()
	}
}

// looked records a lookup made in tx, a read transaction (which keeps bbolt
// from remapping the file meanwhile), and releases the mapping when the
// limit is exceeded.
func (r *resident) looked(db *bolt.DB, tx *bolt.Tx) {
	if r.meter == nil || tx.Size() <= r.limit || r.lookups.Add(1)%measureEvery != 0 || !r.mu.TryLock() {
		return
	}
	defer r.mu.Unlock()
	if r.meter.fileResident()-r.base > r.limit {
		releaseMapping(db.Info().Data, tx.Size())
		r.base = r.meter.fileResident()
	}
}

// release releases the mapping of a store larger than the limit, after an
// open, an apply or a full read.
func (r *resident) release(db *bolt.DB) {
	if r.meter == nil {
		return
	}
	_ = db.View(func(tx *bolt.Tx) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		if tx.Size() > r.limit {
			releaseMapping(db.Info().Data, tx.Size())
		}
		r.base = r.meter.fileResident()
		return nil
	})
}

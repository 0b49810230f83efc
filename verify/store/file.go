package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// storeFile is one store file, open read-only. A file is never written
// once it has been renamed into place, so a reader may keep it open for
// as long as it likes while writers replace it.
type storeFile struct {
	path string
	db   *bolt.DB
	info os.FileInfo
	// sums: the file is of schema 2, its values carry checksums and its
	// lists block indexes.
	sums   bool
	closed atomic.Bool
}

// renameNeedsClose: Windows does not rename over a file that is open, so
// a write closes the store's own handle first (and fails while another
// process has the file open).
const renameNeedsClose = runtime.GOOS == "windows"

// minFileSize is the smallest file bbolt can map without reading past its
// end: two meta pages.
var minFileSize = int64(2 * os.Getpagesize())

// openFile opens the store file at path for reading and checks what can
// be checked without reading the lists: bbolt's meta pages, that the file
// holds all the pages its meta page counts, and the schema.
func openFile(path string, timeout time.Duration) (f *storeFile, err error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, err
	}
	switch {
	case !fi.Mode().IsRegular():
		file.Close()
		return nil, fmt.Errorf("store: %s is not a regular file", path)
	case fi.Size() == 0:
		file.Close()
		return nil, corruptErr(path, "the file is empty")
	case fi.Size() < minFileSize:
		file.Close()
		return nil, corruptErr(path, fmt.Sprintf("the file has only %d bytes", fi.Size()))
	}
	defer guard(&err, path, debug.SetPanicOnFault(true))
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		ReadOnly: true,
		Timeout:  timeout,
		// bbolt's own handle is this one, so that fi describes the file
		// it maps even if a writer replaces path meanwhile.
		OpenFile: func(string, int, os.FileMode) (*os.File, error) { return file, nil },
	})
	if err != nil {
		switch {
		case errors.Is(err, bolterrors.ErrTimeout):
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum), errors.Is(err, bolterrors.ErrVersionMismatch):
			return nil, corruptErr(path, err.Error())
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	f = &storeFile{path: path, db: db, info: fi}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	err = db.View(func(tx *bolt.Tx) error {
		if need := tx.Size(); need > fi.Size() {
			return f.corrupt("truncated: the file has %d bytes, its pages need %d", fi.Size(), need)
		}
		meta := tx.Bucket(bktMeta)
		if meta == nil {
			return fmt.Errorf("%w: %s holds no store", ErrSchema, path)
		}
		sv := meta.Get(keySchema)
		if len(sv) != 8 {
			return f.corrupt("schema version of %d bytes", len(sv))
		}
		switch v := binary.BigEndian.Uint64(sv); v {
		case 1:
		case schemaVersion:
			f.sums = true
		default:
			return fmt.Errorf("%w: %s is of schema %d, this version reads 1 and %d", ErrSchema, path, v, schemaVersion)
		}
		if tx.Bucket(bktPubs) == nil || tx.Bucket(bktLists) == nil {
			return f.corrupt("buckets missing")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// close closes the file once the reads in progress have ended.
func (f *storeFile) close() error {
	if f == nil || f.closed.Swap(true) {
		return nil
	}
	return f.db.Close()
}

// view runs fn in a read transaction, reporting a panic or a memory fault
// (bbolt reads through a mapping of the file, and a damaged page can send
// it outside the file or into an assertion) as damage of the file.
func (f *storeFile) view(fn func(*bolt.Tx) error) (err error) {
	defer guard(&err, f.path, debug.SetPanicOnFault(true))
	return f.db.View(fn)
}

// guard turns a panic or a memory fault in the function that defers it
// into an error wrapping ErrCorrupt. It is deferred as
//
//	defer guard(&err, path, debug.SetPanicOnFault(true))
//
// With the flag set, the runtime panics on a fault at a non-nil address
// (such as a page of the mapping past the end of a truncated file, or a
// page number a flipped bit sent outside it) instead of crashing the
// process; guard restores the flag (it applies to the calling goroutine)
// and recovers the panic.
func guard(err *error, path string, old bool) {
	debug.SetPanicOnFault(old)
	if r := recover(); r != nil {
		*err = corruptErr(path, fmt.Sprintf("reading it failed: %v", r))
	}
}

// lockPath is the file a writer locks; tempPrefix starts the names of
// files being built.
func lockPath(path string) string   { return path + "-lock" }
func tempPrefix(path string) string { return filepath.Base(path) + "-new-" }

// lockWriter takes the store's writer lock, waiting up to LockTimeout for
// another process's write to end. Only writers take it: a reader never
// waits.
func (s *Store) lockWriter() (unlock func(), err error) {
	lf, err := os.OpenFile(lockPath(s.path), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	deadline := time.Now().Add(s.opts.LockTimeout)
	pause := 5 * time.Millisecond
	for {
		ok, err := tryLock(lf)
		if err != nil {
			lf.Close()
			return nil, fmt.Errorf("store: lock %s: %w", lockPath(s.path), err)
		}
		if ok {
			return func() { unlockFile(lf); lf.Close() }, nil
		}
		if time.Now().After(deadline) {
			lf.Close()
			return nil, fmt.Errorf("%w: another process has been writing %s for over %v", ErrLocked, s.path, s.opts.LockTimeout)
		}
		time.Sleep(pause)
		pause = min(2*pause, 200*time.Millisecond)
	}
}

// removeTemps deletes files left by builds that did not finish (a crash,
// a full disk). The caller holds the writer lock.
func (s *Store) removeTemps() {
	dir := filepath.Dir(s.path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := tempPrefix(s.path)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}

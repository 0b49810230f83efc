package registry

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt reads its file through a memory mapping larger than the file: a
// page past the end of a truncated file is a fault that kills the
// process. checkIntact reads bbolt's two meta pages (native byte order:
// page header 16 bytes, then magic, version, page size, flags (4 bytes
// each), root page and sequence, freelist page, high-water page, txid,
// checksum (8 bytes each), the checksum FNV-64a of the 56 bytes before
// it) and refuses a file shorter than the pages the newer valid one
// counts.
func checkIntact(path string) error {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil // bbolt creates it
		}
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return err // an empty file is initialised
	}
	const (
		hdr     = 16
		metaLen = 64
		magic   = 0xED0CDAED
	)
	read := func(off int64) (pageSize uint32, pgid, txid uint64, ok bool) {
		var b [hdr + metaLen]byte
		if _, err := f.ReadAt(b[:], off); err != nil && err != io.EOF {
			return 0, 0, 0, false
		}
		m := b[hdr:]
		ne := binary.NativeEndian
		h := fnv.New64a()
		h.Write(m[:56])
		if ne.Uint32(m[0:]) != magic || ne.Uint32(m[4:]) != 2 || ne.Uint64(m[56:]) != h.Sum64() {
			return 0, 0, 0, false
		}
		return ne.Uint32(m[8:]), ne.Uint64(m[40:]), ne.Uint64(m[48:]), true
	}
	ps0, pg0, tx0, ok0 := read(0)
	var ps1 uint32
	var pg1, tx1 uint64
	ok1 := false
	for _, ps := range []int64{int64(ps0), 4096, 8192, 16384, 65536} {
		if ps > 0 {
			if ps1, pg1, tx1, ok1 = read(ps); ok1 {
				break
			}
		}
	}
	var pageSize uint32
	var pgid uint64
	switch {
	case ok0 && (!ok1 || tx0 >= tx1):
		pageSize, pgid = ps0, pg0
	case ok1:
		pageSize, pgid = ps1, pg1
	default:
		return fmt.Errorf("%w: %s is not a bbolt file (or both its meta pages are damaged)", ErrLayout, path)
	}
	if need := int64(pgid) * int64(pageSize); fi.Size() < need {
		return fmt.Errorf("%w: %s is truncated: %d bytes, its pages reach %d; restore it from a backup", errCorrupt, path, fi.Size(), need)
	}
	return nil
}

//go:build linux

package registry

import (
	bolt "go.etcd.io/bbolt"
	xunix "golang.org/x/sys/unix"
)

// releaseMapping drops this process's mapping of the file's pages: bbolt
// reads the file through a shared read-only mapping, and every page a
// long operation reads stays counted in the process's resident memory
// until released. The pages stay in the system's file cache; a later read
// maps them again without reading the disk. It must run while no
// transaction of this process can remap the file (between the
// transactions of an exclusive operation, or inside a write transaction
// before its commit).
func releaseMapping(db *bolt.DB, size int64) {
	addr := db.Info().Data
	if addr == 0 || size <= 0 {
		return
	}
	_, _, _ = xunix.Syscall(xunix.SYS_MADVISE, addr, uintptr(size), xunix.MADV_DONTNEED)
}

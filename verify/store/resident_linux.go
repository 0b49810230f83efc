//go:build linux

package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// releaseMapping drops the process's mapping of the size bytes of the
// store file mapped at addr, and keeps huge pages out of it (one fault
// would map 2 MiB). bbolt maps the file shared and read-only, so no
// content is lost: a later read faults the pages in again from the file
// cache. The caller holds a read transaction, which keeps bbolt from
// remapping meanwhile; size is at most the mapped length. Errors are
// ignored: the pages then simply stay mapped.
func releaseMapping(addr uintptr, size int64) {
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, addr, uintptr(size), unix.MADV_NOHUGEPAGE)
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, addr, uintptr(size), unix.MADV_DONTNEED)
}

// meter reads the process's file-backed resident memory from
// /proc/self/statm, kept open.
type meter struct {
	f    *os.File
	page int64
}

func openMeter() *meter {
	f, err := os.Open("/proc/self/statm")
	if err != nil {
		return nil
	}
	return &meter{f: f, page: int64(os.Getpagesize())}
}

func (m *meter) close() { m.f.Close() }

// fileResident returns the resident bytes backed by files (the third
// field of statm), or 0 if it cannot be read.
func (m *meter) fileResident() int64 {
	var buf [128]byte
	n, _ := m.f.ReadAt(buf[:], 0)
	field, v := 0, int64(0)
	for _, c := range buf[:n] {
		switch {
		case c == ' ':
			if field == 2 {
				return v * m.page
			}
			field, v = field+1, 0
		case field == 2 && c >= '0' && c <= '9':
			v = v*10 + int64(c-'0')
		}
	}
	return 0
}

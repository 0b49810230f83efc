//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package registry

import (
	"errors"
	"os"

	xunix "golang.org/x/sys/unix"
)

// tryLock takes an exclusive advisory lock on f without waiting.
func tryLock(f *os.File) (bool, error) {
	err := xunix.Flock(int(f.Fd()), xunix.LOCK_EX|xunix.LOCK_NB)
	if errors.Is(err, xunix.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

func unlock(f *os.File) { _ = xunix.Flock(int(f.Fd()), xunix.LOCK_UN) }

const haveGate = true

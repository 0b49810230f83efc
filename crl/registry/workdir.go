package registry

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// staleWork is how old an unlocked leftover must be before another
// process removes it where the owner's lock cannot tell (no flock), and
// for a directory killed between being made and being locked.
const staleWork = time.Hour

// workDir is a directory for one operation's temporary files beside the
// registry (.FILE.tmp-*: sort runs, a backup's data, a registry being
// restored), so they are on the registry's file system and as protected
// as the registry.
//
// Its owner holds an exclusive flock on the directory from before it takes
// its name until it is removed: it is made as .FILE.new-*, locked, then
// renamed. A process killed midway leaves it unlocked, and the next work
// directory made beside the same registry removes it; one whose owner is
// alive is locked and never removed, however long the operation runs.
type workDir struct {
	path string
	lock *os.File
}

func workPrefix(registryPath string) string {
	return "." + filepath.Base(registryPath) + ".tmp-"
}

func newPrefix(registryPath string) string {
	return "." + filepath.Base(registryPath) + ".new-"
}

// newWorkDir makes and locks a work directory beside registryPath after
// removing the leftovers of killed operations.
func newWorkDir(registryPath string) (*workDir, error) {
	removeStaleWork(registryPath, time.Now())
	parent := filepath.Dir(registryPath)
	dir, err := os.MkdirTemp(parent, newPrefix(registryPath))
	if err != nil {
		return nil, err
	}
	final := filepath.Join(parent, workPrefix(registryPath)+strings.TrimPrefix(filepath.Base(dir), newPrefix(registryPath)))
	w := &workDir{path: final}
	if haveGate {
		f, err := os.Open(dir)
		if err != nil {
			os.Remove(dir)
			return nil, err
		}
		if ok, err := tryLock(f); !ok || err != nil {
			f.Close()
			os.Remove(dir)
			if err == nil {
				err = os.ErrExist
			}
			return nil, err
		}
		w.lock = f
	}
	if err := os.Rename(dir, final); err != nil {
		if w.lock != nil {
			w.lock.Close()
		}
		os.Remove(dir)
		return nil, err
	}
	return w, nil
}

// newPrivateWorkDir makes a work directory (mode 0700) under
// os.TempDir, for a read-only registry whose own directory cannot be
// written.
func newPrivateWorkDir() (*workDir, error) {
	dir, err := os.MkdirTemp("", "crlverify-")
	if err != nil {
		return nil, err
	}
	return &workDir{path: dir}, nil
}

// remove deletes the directory and what it holds, then gives up the lock.
func (w *workDir) remove() {
	if w == nil {
		return
	}
	os.RemoveAll(w.path)
	if w.lock != nil {
		w.lock.Close() // closing releases the flock
		w.lock = nil
	}
}

// removeStaleWork removes the work directories beside registryPath that
// no process holds: with flock, every unlocked .FILE.tmp-* at once (a live
// owner locked it before it took that name), and .FILE.new-* older than
// staleWork; without flock, both only when older than staleWork.
func removeStaleWork(registryPath string, now time.Time) {
	parent := filepath.Dir(registryPath)
	des, _ := os.ReadDir(parent)
	for _, de := range des {
		name := de.Name()
		work := strings.HasPrefix(name, workPrefix(registryPath))
		if !de.IsDir() || !work && !strings.HasPrefix(name, newPrefix(registryPath)) {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue
		}
		if now.Sub(fi.ModTime()) <= staleWork && (!haveGate || !work) {
			continue
		}
		p := filepath.Join(parent, name)
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		if ok, err := tryLock(f); ok && err == nil {
			os.RemoveAll(p)
		}
		f.Close()
	}
}

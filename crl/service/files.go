package service

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/crlverify/crlverify/snapshot"
)

// publicationName matches the only names served: the index, the
// snapshot files and the signed checkpoints a publication writes.
var publicationName = regexp.MustCompile(`^(index\.jws|full-[0-9]{20}\.crl|delta-[0-9]{20}-[0-9]{20}\.crl|checkpoint-[0-9]{20}\.jws)$`)

// fileServer serves the publication directory: only regular files at its
// top whose names a publication writes, never a symbolic link, never a
// listing.
type fileServer struct {
	root         *os.Root
	maxAge       time.Duration
	writeTimeout time.Duration
	now          func() time.Time
	index        atomic.Pointer[indexInfo]
}

// indexInfo caches the next-update of the index file last read.
type indexInfo struct {
	fi         os.FileInfo
	nextUpdate time.Time // zero if the index could not be read
}

func newFileServer(dir string, maxAge, writeTimeout time.Duration, now func() time.Time) (*fileServer, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &fileServer{root: root, maxAge: maxAge, writeTimeout: writeTimeout, now: now}, nil
}

func (fs *fileServer) serve(w *response, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use GET"})
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/")
	if name == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		fmt.Fprintf(w, "crlverify publication directory: start at /%s\n", snapshot.IndexName)
		return
	}
	f, fi, ok := fs.open(name)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not found"})
		return
	}
	defer f.Close()
	h := w.Header()
	// Files are replaced by rename, never rewritten in place: size and
	// modification time identify a version.
	h.Set("ETag", fmt.Sprintf(`"%x-%x"`, fi.Size(), fi.ModTime().UnixNano()))
	h.Set("Content-Type", "application/octet-stream")
	if name == snapshot.IndexName {
		h.Set("Cache-Control", fs.indexCacheControl(f, fi))
	} else {
		// A snapshot file's name carries its serials: its content never
		// changes.
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	// A large snapshot to a slow verifier may take longer than the API's
	// write timeout; it gets its own.
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(fs.writeTimeout))
	http.ServeContent(w, r, name, fi.ModTime(), f)
}

// open opens name inside the directory if it is a publication file and a
// regular file, not a link, and is still the same file once open.
func (fs *fileServer) open(name string) (*os.File, os.FileInfo, bool) {
	if !publicationName.MatchString(name) {
		return nil, nil, false
	}
	lfi, err := fs.root.Lstat(name)
	if err != nil || !lfi.Mode().IsRegular() {
		return nil, nil, false
	}
	f, err := fs.root.Open(name)
	if err != nil {
		return nil, nil, false
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || !os.SameFile(fi, lfi) {
		f.Close()
		return nil, nil, false
	}
	return f, fi, true
}

// indexCacheControl lets caches keep the index until its signed
// next-update, at most maxAge (so a revocation published early reaches
// verifiers within maxAge), and not at all once the next-update is past.
func (fs *fileServer) indexCacheControl(f *os.File, fi os.FileInfo) string {
	info := fs.index.Load()
	if info == nil || !os.SameFile(info.fi, fi) || info.fi.Size() != fi.Size() || !info.fi.ModTime().Equal(fi.ModTime()) {
		info = &indexInfo{fi: fi}
		if ix, err := snapshot.ReadIndexUnverified(f, nil); err == nil {
			info.nextUpdate = ix.NextUpdate
		}
		fs.index.Store(info)
		if _, err := f.Seek(0, 0); err != nil {
			return "no-cache"
		}
	}
	left := info.nextUpdate.Sub(fs.now())
	if info.nextUpdate.IsZero() || left < time.Second {
		return "no-cache"
	}
	age := min(left, fs.maxAge)
	return fmt.Sprintf("public, max-age=%d, must-revalidate", int64(age/time.Second))
}

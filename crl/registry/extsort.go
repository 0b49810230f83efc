package registry

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"unsafe"
)

// sorter sorts key/value records in bounded memory: records gather in a
// buffer of at most memBytes; a full buffer is sorted and written to a
// temporary file (in the background, while the next one fills); the
// files are then merged. Records with equal keys keep the order they were
// added in.
type sorter struct {
	dir      string
	memBytes int

	cur   *sortBuf
	spill chan *sortBuf
	free  chan *sortBuf // written buffers, reused: memory stays flat
	ended bool
	wg    sync.WaitGroup
	mu    sync.Mutex
	files []string
	err   error
	n     int64
}

type sortBuf struct {
	arena []byte
	recs  []sortRec
	tmp   []sortRec // the radix sort's other half
}

type sortRec struct {
	k    uint64 // the key's first 8 bytes, big-endian, zero-padded
	off  uint32
	klen uint16
	vlen uint16
}

// maxSortField bounds a sorted key or value (they are far smaller).
const maxSortField = 1<<16 - 1

// maxMergeFanIn bounds the files merged at once.
const maxMergeFanIn = 64

func newSorter(dir string, memBytes int) *sorter {
	s := &sorter{dir: dir, memBytes: memBytes, spill: make(chan *sortBuf), free: make(chan *sortBuf, 1)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for b := range s.spill {
			s.write(b)
		}
	}()
	return s
}

// newBuf makes a buffer: two thirds of the memory for the records' bytes,
// one third for their index; either full ends the buffer.
func (s *sorter) newBuf() *sortBuf {
	select {
	case b := <-s.free:
		b.arena, b.recs = b.arena[:0], b.recs[:0]
		return b
	default:
	}
	return &sortBuf{arena: make([]byte, 0, s.memBytes*2/3), recs: make([]sortRec, 0, s.memBytes/3/int(unsafe.Sizeof(sortRec{})))}
}

func prefix8(k []byte) uint64 {
	if len(k) >= 8 {
		return binary.BigEndian.Uint64(k)
	}
	var b [8]byte
	copy(b[:], k)
	return binary.BigEndian.Uint64(b[:])
}

// add adds a record; the sorter copies key and value.
func (s *sorter) add(key, val []byte) error {
	if len(key) > maxSortField || len(val) > maxSortField {
		return fmt.Errorf("registry: sort record of %d+%d bytes", len(key), len(val))
	}
	if s.cur == nil {
		s.cur = s.newBuf()
	}
	b := s.cur
	if (len(b.arena)+len(key)+len(val) > cap(b.arena) || len(b.recs) == cap(b.recs)) && len(b.recs) > 0 {
		if err := s.flush(); err != nil {
			return err
		}
		s.cur = s.newBuf()
		b = s.cur
	}
	off := len(b.arena)
	b.arena = append(b.arena, key...)
	b.arena = append(b.arena, val...)
	b.recs = append(b.recs, sortRec{k: prefix8(key), off: uint32(off), klen: uint16(len(key)), vlen: uint16(len(val))})
	s.n++
	return nil
}

// flush hands the current buffer to the spiller.
func (s *sorter) flush() error {
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if s.cur != nil && len(s.cur.recs) > 0 {
		s.spill <- s.cur
	}
	s.cur = nil
	return nil
}

func (b *sortBuf) key(r *sortRec) []byte { return b.arena[r.off : r.off+uint32(r.klen)] }
func (b *sortBuf) val(r *sortRec) []byte {
	return b.arena[r.off+uint32(r.klen) : r.off+uint32(r.klen)+uint32(r.vlen)]
}

// sort orders the records by key, keeping the order they were added in
// among equal keys: a stable radix sort on the first 8 key bytes, then a
// comparison sort of each run that shares them (rare but for keys that
// share a prefix: those compare in full).
func (b *sortBuf) sort() {
	recs := b.recs
	if cap(b.tmp) < len(recs) {
		b.tmp = make([]sortRec, len(recs))
	}
	tmp := b.tmp[:len(recs)]
	for shift := uint(0); shift < 64; shift += 8 {
		var count [256]int
		for i := range recs {
			count[byte(recs[i].k>>shift)]++
		}
		if count[byte(recs[0].k>>shift)] == len(recs) {
			continue // every record has the same byte here
		}
		pos := 0
		for i, c := range count {
			count[i] = pos
			pos += c
		}
		for i := range recs {
			d := byte(recs[i].k >> shift)
			tmp[count[d]] = recs[i]
			count[d]++
		}
		recs, tmp = tmp, recs
	}
	b.tmp = tmp
	for i := 0; i < len(recs); {
		j := i + 1
		for j < len(recs) && recs[j].k == recs[i].k {
			j++
		}
		if j-i > 1 {
			slices.SortStableFunc(recs[i:j], func(x, y sortRec) int {
				return bytes.Compare(b.key(&x), b.key(&y))
			})
		}
		i = j
	}
	b.recs = recs
}

func (s *sorter) write(b *sortBuf) {
	b.sort()
	f, err := os.CreateTemp(s.dir, "sort-*.tmp")
	if err == nil {
		w := bufio.NewWriterSize(f, 256<<10)
		var hdr [2 * binary.MaxVarintLen32]byte
		for i := range b.recs {
			r := &b.recs[i]
			n := binary.PutUvarint(hdr[:], uint64(r.klen))
			n += binary.PutUvarint(hdr[n:], uint64(r.vlen))
			w.Write(hdr[:n])
			if _, err = w.Write(b.arena[r.off : r.off+uint32(r.klen)+uint32(r.vlen)]); err != nil {
				break
			}
		}
		if err == nil {
			err = w.Flush()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	select {
	case s.free <- b:
	default:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f != nil {
		s.files = append(s.files, f.Name())
	}
	if err != nil && s.err == nil {
		s.err = fmt.Errorf("registry: sorting: %w", err)
	}
}

// sorted ends the input and returns an iterator over the records in
// order. The sorter must be closed afterwards.
func (s *sorter) sorted() (*mergeIter, error) {
	// The last buffer stays in memory: it merges as one more source.
	last := s.cur
	s.cur = nil
	s.end()
	if s.err != nil {
		return nil, s.err
	}
	select {
	case <-s.free: // no more buffers to fill: let it go
	default:
	}
	files := s.files
	for len(files) > maxMergeFanIn {
		var next []string
		for i := 0; i < len(files); i += maxMergeFanIn {
			group := files[i:min(i+maxMergeFanIn, len(files))]
			name, err := s.mergeToFile(group)
			if err != nil {
				return nil, err
			}
			next = append(next, name)
		}
		files = next
	}
	s.files = files
	it := &mergeIter{}
	for i, name := range files {
		src, err := openRunFile(name, i)
		if err != nil {
			it.close()
			return nil, err
		}
		it.srcs = append(it.srcs, src)
	}
	if last != nil && len(last.recs) > 0 {
		last.sort()
		it.srcs = append(it.srcs, &runSrc{mem: last, idx: len(files)})
	}
	for _, src := range it.srcs {
		if src.next() {
			heap.Push(&it.h, src)
		} else if src.err != nil {
			it.close()
			return nil, src.err
		}
	}
	return it, nil
}

func (s *sorter) mergeToFile(files []string) (string, error) {
	it := &mergeIter{}
	for i, name := range files {
		src, err := openRunFile(name, i)
		if err != nil {
			it.close()
			return "", err
		}
		it.srcs = append(it.srcs, src)
		if src.next() {
			heap.Push(&it.h, src)
		} else if src.err != nil {
			it.close()
			return "", src.err
		}
	}
	defer it.close()
	f, err := os.CreateTemp(s.dir, "sort-*.tmp")
	if err != nil {
		return "", err
	}
	s.files = append(s.files, f.Name())
	w := bufio.NewWriterSize(f, 256<<10)
	var hdr [2 * binary.MaxVarintLen32]byte
	for it.next() {
		n := binary.PutUvarint(hdr[:], uint64(len(it.key)))
		n += binary.PutUvarint(hdr[n:], uint64(len(it.val)))
		w.Write(hdr[:n])
		w.Write(it.key)
		if _, err := w.Write(it.val); err != nil {
			f.Close()
			return "", err
		}
	}
	if it.err != nil {
		f.Close()
		return "", it.err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return "", err
	}
	for _, name := range files {
		os.Remove(name)
	}
	return f.Name(), f.Close()
}

// end stops the spiller.
func (s *sorter) end() {
	if !s.ended {
		s.ended = true
		close(s.spill)
		s.wg.Wait()
	}
}

// close removes the sorter's files.
func (s *sorter) close() {
	s.end()
	s.mu.Lock()
	files := s.files
	s.files = nil
	s.mu.Unlock()
	for _, name := range files {
		os.Remove(name)
	}
}

// runSrc reads one sorted run: a file, or the last buffer in memory.
type runSrc struct {
	r        *bufio.Reader
	f        *os.File
	mem      *sortBuf
	memPos   int
	idx      int
	key, val []byte
	k8       uint64 // the key's first 8 bytes, as prefix8: most compares end there
	buf      []byte
	err      error
}

func openRunFile(name string, idx int) (*runSrc, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return &runSrc{f: f, r: bufio.NewReaderSize(f, 128<<10), idx: idx}, nil
}

func (s *runSrc) next() bool {
	if s.mem != nil {
		if s.memPos >= len(s.mem.recs) {
			return false
		}
		r := &s.mem.recs[s.memPos]
		s.memPos++
		s.key, s.val, s.k8 = s.mem.key(r), s.mem.val(r), r.k
		return true
	}
	kl, err := binary.ReadUvarint(s.r)
	if err != nil {
		if err != io.EOF {
			s.err = err
		}
		return false
	}
	vl, err := binary.ReadUvarint(s.r)
	if err != nil || kl > 1<<20 || vl > 1<<20 {
		s.err = errors.New("registry: corrupt sort file")
		return false
	}
	if need := int(kl + vl); cap(s.buf) < need {
		s.buf = make([]byte, need)
	}
	s.buf = s.buf[:kl+vl]
	if _, err := io.ReadFull(s.r, s.buf); err != nil {
		s.err = err
		return false
	}
	s.key, s.val = s.buf[:kl], s.buf[kl:]
	s.k8 = prefix8(s.key)
	return true
}

type srcHeap []*runSrc

func (h srcHeap) Len() int { return len(h) }
func (h srcHeap) Less(i, j int) bool {
	if h[i].k8 != h[j].k8 {
		return h[i].k8 < h[j].k8
	}
	if c := bytes.Compare(h[i].key, h[j].key); c != 0 {
		return c < 0
	}
	return h[i].idx < h[j].idx
}
func (h srcHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *srcHeap) Push(x any)   { *h = append(*h, x.(*runSrc)) }
func (h *srcHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// mergeIter merges sorted runs. key and val are valid until the next call.
type mergeIter struct {
	srcs     []*runSrc
	h        srcHeap
	top      *runSrc
	key, val []byte
	err      error
}

func (it *mergeIter) next() bool {
	if it.top != nil {
		if it.top.next() {
			heap.Fix(&it.h, 0)
		} else {
			if it.top.err != nil {
				it.err = it.top.err
				return false
			}
			heap.Pop(&it.h)
		}
		it.top = nil
	}
	if len(it.h) == 0 {
		return false
	}
	// The source keeps key and value until it advances, in the next call.
	it.top = it.h[0]
	it.key, it.val = it.top.key, it.top.val
	return true
}

func (it *mergeIter) close() {
	for _, s := range it.srcs {
		if s.f != nil {
			s.f.Close()
		}
	}
	it.srcs = nil
}

package registry

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// The sorter orders records by key, equal keys in the order added,
// whether they fit in memory, spill to files, or need merge passes.
func TestSorter(t *testing.T) {
	for _, c := range []struct {
		n, mem int
	}{{0, 1 << 20}, {1000, 1 << 20}, {20000, 4096}, {200000, 4096}} {
		t.Run(fmt.Sprint(c.n, "/", c.mem), func(t *testing.T) {
			s := newSorter(t.TempDir(), c.mem)
			defer s.close()
			rng := rand.New(rand.NewPCG(1, uint64(c.n)))
			type rec struct {
				k   []byte
				seq int
			}
			var want []rec
			for i := range c.n {
				// Short keys, long keys, keys sharing their first 8 bytes.
				var k []byte
				switch i % 3 {
				case 0:
					k = binary.BigEndian.AppendUint32(nil, uint32(rng.IntN(50)))
				case 1:
					k = binary.BigEndian.AppendUint64([]byte("prefix.."), rng.Uint64()%100)
				default:
					k = binary.BigEndian.AppendUint64(nil, rng.Uint64())
				}
				want = append(want, rec{k, i})
				if err := s.add(k, binary.BigEndian.AppendUint32(nil, uint32(i))); err != nil {
					t.Fatal(err)
				}
			}
			slices.SortStableFunc(want, func(a, b rec) int { return bytes.Compare(a.k, b.k) })
			it, err := s.sorted()
			if err != nil {
				t.Fatal(err)
			}
			defer it.close()
			i := 0
			for it.next() {
				if i >= len(want) || !bytes.Equal(it.key, want[i].k) || int(binary.BigEndian.Uint32(it.val)) != want[i].seq {
					t.Fatalf("record %d: %x/%x, want %x/%d", i, it.key, it.val, want[i].k, want[i].seq)
				}
				i++
			}
			if it.err != nil || i != len(want) {
				t.Fatalf("%d records of %d: %v", i, len(want), it.err)
			}
		})
	}
}

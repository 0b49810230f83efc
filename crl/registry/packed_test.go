package registry

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// A table behaves as a sorted map through random puts and deletes, small
// and large values, appends and splits, in one transaction and across
// several.
func TestTableAgainstMap(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "t.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := map[string]string{}
	rng := rand.New(rand.NewPCG(7, 8))
	key := func() []byte {
		switch rng.IntN(3) {
		case 0:
			return binary.BigEndian.AppendUint64(nil, rng.Uint64()%5000)
		case 1:
			return binary.BigEndian.AppendUint64([]byte("same-prefix/"), rng.Uint64()%2000)
		default:
			return []byte(fmt.Sprintf("z%09d", rng.IntN(100000)))
		}
	}
	for round := range 40 {
		err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("t"))
			if err != nil {
				return err
			}
			tb := newTable(b, 4096)
			for range 20 {
				seen := map[string]bool{}
				var muts []mut
				for range 1 + rng.IntN(300) {
					k := key()
					if seen[string(k)] {
						continue
					}
					seen[string(k)] = true
					if rng.IntN(4) == 0 {
						muts = append(muts, mut{key: k, del: true})
						delete(want, string(k))
					} else {
						v := bytes.Repeat([]byte{byte(round)}, rng.IntN(200))
						if rng.IntN(50) == 0 {
							v = bytes.Repeat([]byte("big"), 1000) // larger than a block
						}
						muts = append(muts, mut{key: k, val: v})
						want[string(k)] = string(v)
					}
				}
				slices.SortFunc(muts, func(a, b mut) int { return bytes.Compare(a.key, b.key) })
				if _, _, err := tb.apply(muts); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		db.View(func(tx *bolt.Tx) error {
			tb := newTable(tx.Bucket([]byte("t")), 4096)
			keys := slices.Sorted(maps.Keys(want))
			it := tb.iter(nil)
			i := 0
			for it.next() {
				if i >= len(keys) || string(it.key()) != keys[i] || string(it.val()) != want[keys[i]] {
					t.Fatalf("round %d: item %d is %q, want %q", round, i, it.key(), keys[min(i, len(keys)-1)])
				}
				i++
			}
			if it.err != nil || i != len(keys) {
				t.Fatalf("round %d: %d items, want %d (%v)", round, i, len(keys), it.err)
			}
			for _, k := range keys[:min(50, len(keys))] {
				if v, ok, err := tb.get([]byte(k)); err != nil || !ok || string(v) != want[k] {
					t.Fatalf("get %q: %v %v", k, ok, err)
				}
			}
			if _, ok, _ := tb.get([]byte("absent")); ok {
				t.Fatal("get of an absent key found it")
			}
			return nil
		})
	}
	// deleteBefore drops exactly the items below a limit.
	db.Update(func(tx *bolt.Tx) error {
		tb := newTable(tx.Bucket([]byte("t")), 4096)
		limit := []byte("same-prefix/")
		n, err := tb.deleteBefore(limit)
		if err != nil {
			t.Fatal(err)
		}
		gone := 0
		for k := range want {
			if k < string(limit) {
				delete(want, k)
				gone++
			}
		}
		if n != gone {
			t.Errorf("deleteBefore removed %d, want %d", n, gone)
		}
		if c, _ := tb.count(); c != len(want) {
			t.Errorf("%d items left, want %d", c, len(want))
		}
		return nil
	})
}

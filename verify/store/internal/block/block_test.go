package block

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/crlverify/crlverify/crl"
)

func randomEntries(r *rand.Rand, n int, extreme bool) []crl.Entry {
	seen := map[crl.Key]bool{}
	var es []crl.Entry
	for len(es) < n {
		k := crl.Key(r.Uint64())
		if seen[k] {
			continue
		}
		seen[k] = true
		e := crl.Entry{Key: k, RevokedAt: 1_700_000_000 + r.Int64N(63_000_000), Reason: crl.Reason(r.IntN(14))}
		if r.IntN(10) == 0 {
			e.SuspendedUntil = e.RevokedAt + 1 + r.Int64N(1e7)
		}
		if extreme {
			switch r.IntN(4) {
			case 0:
				e.RevokedAt = math.MinInt64
			case 1:
				e.RevokedAt = math.MaxInt64
			}
			if r.IntN(3) == 0 {
				e.SuspendedUntil = []int64{math.MinInt64, math.MaxInt64, -1}[r.IntN(3)]
			}
			e.Reason = crl.MaxReason
		}
		es = append(es, e)
	}
	if extreme {
		es = append(es, crl.Entry{Key: 0}, crl.Entry{Key: math.MaxUint64})
	}
	slices.SortFunc(es, func(a, b crl.Entry) int {
		if a.Key < b.Key {
			return -1
		} else if a.Key > b.Key {
			return 1
		}
		return 0
	})
	return slices.CompactFunc(es, func(a, b crl.Entry) bool { return a.Key == b.Key })
}

func TestRoundTripAndLookup(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, extreme := range []bool{false, true} {
		for _, n := range []int{1, 2, 3, 100, 5000} {
			es := randomEntries(r, n, extreme)
			var got []crl.Entry
			var blocks [][]byte
			var firsts []crl.Key
			bl := Builder{Emit: func(first crl.Key, b []byte) error {
				if len(b) > DefaultMax {
					t.Fatalf("block of %d bytes", len(b))
				}
				var err error
				got, err = Decode(got, first, b)
				blocks = append(blocks, slices.Clone(b))
				firsts = append(firsts, first)
				return err
			}}
			for _, e := range es {
				if err := bl.Add(e); err != nil {
					t.Fatal(err)
				}
			}
			if err := bl.Flush(); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, es) {
				t.Fatalf("n=%d extreme=%v: round trip differs", n, extreme)
			}
			// every key is found in its block, neighbours are not
			bi := 0
			for _, e := range es {
				for bi+1 < len(firsts) && firsts[bi+1] <= e.Key {
					bi++
				}
				g, ok, err := Lookup(firsts[bi], blocks[bi], e.Key)
				if err != nil || !ok || g != e {
					t.Fatalf("lookup %v: %v %v %v", e.Key, g, ok, err)
				}
				if e.Key < math.MaxUint64 && !slices.ContainsFunc(es, func(x crl.Entry) bool { return x.Key == e.Key+1 }) {
					if _, ok, _ := Lookup(firsts[bi], blocks[bi], e.Key+1); ok {
						t.Fatalf("absent key %v found", e.Key+1)
					}
				}
			}
		}
	}
}

func TestCorruptBlocksAreRefused(t *testing.T) {
	es := randomEntries(rand.New(rand.NewPCG(3, 4)), 50, false)
	b := Encode(nil, es)
	for i := range len(b) {
		if _, err := Decode(nil, es[0].Key, b[:i]); err == nil {
			t.Fatalf("truncated block of %d bytes decoded", i)
		}
	}
}

func FuzzDecode(f *testing.F) {
	es := randomEntries(rand.New(rand.NewPCG(5, 6)), 20, false)
	f.Add(uint64(es[0].Key), Encode(nil, es))
	f.Add(uint64(0), Encode(nil, randomEntries(rand.New(rand.NewPCG(7, 8)), 10, true)))
	f.Fuzz(func(t *testing.T, first uint64, b []byte) {
		es, err := Decode(nil, crl.Key(first), b)
		if err != nil {
			return
		}
		for _, e := range es {
			if _, ok, err := Lookup(crl.Key(first), b, e.Key); !ok || err != nil {
				t.Fatalf("decoded key %v not found: %v", e.Key, err)
			}
		}
	})
}

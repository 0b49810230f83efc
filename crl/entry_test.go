package crl

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"
)

// keyVectors pin KeyOf: snapshot files, registries and stores hold these
// values, so the function must never change its output.
var keyVectors = []struct {
	issuer, id string
	want       Key
}{
	{"", "", 0xddb34dd2f26cebfd},
	{"https://cowin.gov.in/", "C1000000000", 0x65b4fc2e68186288},
	{"https://cowin.gov.in/", "DEMO-BATCH-0001", 0x990c69e56c54dd61},
	{"did:web:example.org", "urn:uuid:0d3e0f6a-2c64-4f7b-9d0c-2b6a1f8e5a11", 0x264871e30028f038},
	{"issuer", "", 0xcb597602e54de0f9},
	{"", "id", 0xfbc081e4052c6395},
	{"ünïcødé issuer", "证书-42", 0xfd560739f7ace415},
	{"a\x00b", "c\x00", 0x6208bb09ba5cf316},
	// Lengths of 127 and 128 bytes take one and two varint bytes.
	{strings.Repeat("i", 127), strings.Repeat("x", 128), 0x4bbd301c452a5436},
	{strings.Repeat("I", 300), strings.Repeat("y", 5000), 0x4e784fbba748c3b2},
}

func TestKeyOfVectors(t *testing.T) {
	for _, v := range keyVectors {
		if got := KeyOf(v.issuer, v.id); got != v.want {
			t.Errorf("KeyOf(%.20q, %.20q) = %v, want %v", v.issuer, v.id, got, v.want)
		}
	}
}

// keyOfSpec computes a key exactly as the Key documentation defines it.
func keyOfSpec(issuer, id string) Key {
	var msg []byte
	msg = append(msg, keyDomain...)
	msg = binary.AppendUvarint(msg, uint64(len(issuer)))
	msg = append(msg, issuer...)
	msg = binary.AppendUvarint(msg, uint64(len(id)))
	msg = append(msg, id...)
	sum := sha256.Sum256(msg)
	return Key(binary.BigEndian.Uint64(sum[:]))
}

// TestKeyOfSpec compares KeyOf with the definition for inputs of every
// length around the internal buffer sizes, including multi-byte lengths.
func TestKeyOfSpec(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	str := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return string(b)
	}
	lengths := []int{0, 1, 2, 30, 127, 128, 200, 16383, 16384, 20000}
	for n := 0; n <= 320; n++ {
		lengths = append(lengths, n)
	}
	for _, li := range lengths {
		for _, lj := range []int{0, 1, 11, 40, 63, 64, 127, 128, 250, li} {
			is, id := str(li), str(lj)
			if got, want := KeyOf(is, id), keyOfSpec(is, id); got != want {
				t.Fatalf("KeyOf(len %d, len %d) = %v, want %v", li, lj, got, want)
			}
		}
	}
}

func TestKeyOfDoesNotAllocate(t *testing.T) {
	long := strings.Repeat("x", 5000)
	for _, v := range [][2]string{{"https://cowin.gov.in/", "C1000000001"}, {long, "C1"}, {"https://cowin.gov.in/", long}} {
		if n := testing.AllocsPerRun(50, func() { KeyOf(v[0], v[1]) }); n != 0 {
			t.Errorf("KeyOf(len %d, len %d) makes %v allocations", len(v[0]), len(v[1]), n)
		}
	}
}

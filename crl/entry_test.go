package crl

import (
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/dchest/siphash"
)

// keyVectors pin KeyOf: snapshot files, registries and stores hold these
// values, so the function must never change its output. They were checked
// against a second SipHash-2-4 implementation, written from the SipHash
// paper.
var keyVectors = []struct {
	issuer, id string
	want       Key
}{
	{"", "", 0xe79729f2fa8096cf},
	{"https://cowin.gov.in/", "C1000000000", 0xf40ad99797457349},
	{"https://cowin.gov.in/", "DEMO-BATCH-0001", 0xd146c33c732f979b},
	{"did:web:example.org", "urn:uuid:0d3e0f6a-2c64-4f7b-9d0c-2b6a1f8e5a11", 0xe4be1e94b2b84acc},
	{"issuer", "", 0x083c214c622ec38c},
	{"", "id", 0x85ae8cd7d825ec1a},
	{"ünïcødé issuer", "证书-42", 0x04f1e36c96dbabab},
	{"a\x00b", "c\x00", 0xff8dc107dd133299},
	// Lengths of 127 and 128 bytes take one and two varint bytes.
	{strings.Repeat("i", 127), strings.Repeat("x", 128), 0x4a40a16f49e90e27},
	{strings.Repeat("I", 300), strings.Repeat("y", 5000), 0x722992d641d36870},
}

func TestKeyOfVectors(t *testing.T) {
	for _, v := range keyVectors {
		if got := KeyOf(v.issuer, v.id); got != v.want {
			t.Errorf("KeyOf(%.20q, %.20q) = %v, want %v", v.issuer, v.id, got, v.want)
		}
	}
}

// keyOfSpec computes a key exactly as the Key documentation defines it,
// through the library's streaming interface.
func keyOfSpec(issuer, id string) Key {
	h128 := siphash.New128([]byte("crlverify/v1 key"))
	h128.Write([]byte(issuer))
	ik := h128.Sum(nil) // k0 then k1, each little-endian: the key bytes as they are
	h := siphash.New(ik)
	h.Write([]byte(id))
	return Key(h.Sum64())
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

// TestSipHashReference checks the SipHash library against the test vector
// of the SipHash paper (Aumasson and Bernstein, appendix A): key 00..0f,
// message 00..0e.
func TestSipHashReference(t *testing.T) {
	key, msg := make([]byte, 16), make([]byte, 15)
	for i := range key {
		key[i] = byte(i)
	}
	for i := range msg {
		msg[i] = byte(i)
	}
	h := siphash.New(key)
	h.Write(msg)
	if got := h.Sum64(); got != 0xa129ca6149be45e5 {
		t.Fatalf("SipHash-2-4 reference vector = %#x, want 0xa129ca6149be45e5", got)
	}
	// The 128-bit variant, empty message: bytes a3 81 7f 04 ba 25 a8 e6
	// 6d f6 72 14 c7 55 02 93.
	k0, k1 := binary.LittleEndian.Uint64(key), binary.LittleEndian.Uint64(key[8:])
	if a, b := siphash.Hash128(k0, k1, nil); a != 0xe6a825ba047f81a3 || b != 0x930255c71472f66d {
		t.Fatalf("SipHash-2-4-128 reference vector = %#x %#x", a, b)
	}
}

// TestKeySeparatesIssuerAndID: moving bytes between issuer and id, or
// between issuers, gives another key.
func TestKeySeparatesIssuerAndID(t *testing.T) {
	seen := map[Key][2]string{}
	for _, p := range [][2]string{{"ab", "c"}, {"a", "bc"}, {"abc", ""}, {"", "abc"}, {"ab", "c\x00"}, {"ab\x00", "c"}} {
		k := KeyOf(p[0], p[1])
		if q, dup := seen[k]; dup {
			t.Errorf("KeyOf%q = KeyOf%q", p, q)
		}
		seen[k] = p
		if kr := KeyerOf(p[0]); kr.Key(p[1]) != k {
			t.Errorf("KeyerOf(%q).Key(%q) != KeyOf", p[0], p[1])
		}
	}
}

func TestKeyOfDoesNotAllocate(t *testing.T) {
	for _, v := range [][2]string{{"https://cowin.gov.in/", "C1000000001"}, {"did:web:example.org", strings.Repeat("x", 5000)}} {
		if n := testing.AllocsPerRun(50, func() { KeyOf(v[0], v[1]) }); n != 0 {
			t.Errorf("KeyOf(len %d, len %d) makes %v allocations", len(v[0]), len(v[1]), n)
		}
	}
}

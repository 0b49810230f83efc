package crl

import (
	"strconv"
	"strings"
	"testing"
)

var sinkKey Key

// BenchmarkKeyOf hashes (issuer, certificate id) pairs as every check and
// every revocation does: a DIVOC-like pair (58 bytes hashed, two SHA-256
// blocks) and, for the streamed path, a 300-byte issuer.
func BenchmarkKeyOf(b *testing.B) {
	for _, c := range []struct{ name, issuer string }{
		{"short", "https://cowin.gov.in/"},
		{"long", "https://" + strings.Repeat("x", 292)},
	} {
		b.Run(c.name, func(b *testing.B) {
			ids := make([]string, 1024)
			for i := range ids {
				ids[i] = "C" + strconv.Itoa(1_000_000_000+i)
			}
			i := 0
			for b.Loop() {
				sinkKey = KeyOf(c.issuer, ids[i&1023])
				i++
			}
		})
	}
}

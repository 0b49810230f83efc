package crl

import (
	"strconv"
	"strings"
	"testing"
)

var sinkKey Key

// BenchmarkKeyOf hashes (issuer, certificate id) pairs as a revocation
// does: a DIVOC-like pair and one with a 300-byte issuer; and, as a
// verifier's check does, the id alone under a Keyer derived beforehand.
func BenchmarkKeyOf(b *testing.B) {
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = "C" + strconv.Itoa(1_000_000_000+i)
	}
	for _, c := range []struct{ name, issuer string }{
		{"short", "https://cowin.gov.in/"},
		{"long", "https://" + strings.Repeat("x", 292)},
	} {
		b.Run(c.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				sinkKey = KeyOf(c.issuer, ids[i&1023])
				i++
			}
		})
	}
	b.Run("keyer", func(b *testing.B) {
		kr := KeyerOf("https://cowin.gov.in/")
		i := 0
		for b.Loop() {
			sinkKey = kr.Key(ids[i&1023])
			i++
		}
	})
}

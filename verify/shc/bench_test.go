package shc

import (
	"testing"
	"time"
)

// BenchmarkVerifyPayload measures one certificate from its numeric QR text
// to a verified card: numeric decoding, base64url, inflate, claims, key
// lookup, ES256 and the validity dates. The target is well under 1 ms.
func BenchmarkVerifyPayload(b *testing.B) {
	run := func(b *testing.B, payload []byte, d *Directory, at time.Time) {
		b.ReportAllocs()
		start := cpuTime()
		for b.Loop() {
			c, _, err := ParsePayload(payload)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := Verify(c, d, at); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, start)
	}
	b.Run("fixture", func(b *testing.B) {
		d := NewDirectory()
		if err := d.AddJWKS("https://shc.example.org/issuer", fixture(b, "issuer/.well-known/jwks.json")); err != nil {
			b.Fatal(err)
		}
		run(b, TrimNewline(fixture(b, "valid.txt")), d, time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC))
	})
	b.Run("spec-example-00", func(b *testing.B) {
		run(b, example(b, "00", "f-qr-code-numeric-value-0.txt"), specDirectory(b), specAt)
	})
}

// BenchmarkParsePayload is the key-free part of BenchmarkVerifyPayload.
func BenchmarkParsePayload(b *testing.B) {
	payload := TrimNewline(fixture(b, "valid.txt"))
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if _, _, err := ParsePayload(payload); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

// BenchmarkJoinChunks joins the specification's three-chunk example.
func BenchmarkJoinChunks(b *testing.B) {
	var parts [][]byte
	for _, i := range []string{"0", "1", "2"} {
		parts = append(parts, example(b, "02", "f-qr-code-numeric-value-"+i+".txt"))
	}
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if _, err := JoinChunks(parts); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

// reportCPU reports the process CPU time per operation since start: a
// figure that holds up when other work shares the machine, where ns/op
// does not.
func reportCPU(b *testing.B, start time.Duration) {
	if cpu := cpuTime() - start; cpu > 0 && b.N > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

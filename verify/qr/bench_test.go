package qr

import (
	"image"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func loadFixture(b *testing.B, name string) (image.Image, []byte) {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		b.Fatal(err)
	}
	img, err := decodeImage(raw, nil)
	if err != nil {
		b.Fatal(err)
	}
	return img, raw
}

// BenchmarkScan measures the QR scan of each committed fixture, image file
// already decoded (the part this package adds to the image codecs).
func BenchmarkScan(b *testing.B) {
	for _, f := range fixtureFiles {
		b.Run(f.name, func(b *testing.B) {
			img, _ := loadFixture(b, f.name)
			for b.Loop() {
				_, _ = Scan(img, nil)
			}
		})
	}
	// The issuer-style version 40 at 3.05 pixels a module, which needs the
	// second attempt.
	b.Run("v40-fractional-pitch.png", func(b *testing.B) {
		img, _ := loadFixture(b, "v40-fractional-pitch.png")
		for b.Loop() {
			if _, err := Scan(img, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The real DIVOC-style QR (version 33, 2 pixels per module), when the
	// outside vectors are present.
	b.Run("divoc-vector", func(b *testing.B) {
		raw, err := os.ReadFile(filepath.Join(vectorsDir, "divoc", "qr", "divoc-dev-rsa2018.divoc-node-style.png"))
		if err != nil {
			b.Skipf("outside test vectors not available: %v", err)
		}
		img, err := decodeImage(raw, nil)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := Scan(img, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkScanFile is BenchmarkScan from the file bytes, including PNG,
// JPEG or GIF decoding.
func BenchmarkScanFile(b *testing.B) {
	for _, f := range fixtureFiles {
		b.Run(f.name, func(b *testing.B) {
			_, raw := loadFixture(b, f.name)
			for b.Loop() {
				_, _ = ScanBytes(raw, nil)
			}
		})
	}
}

// BenchmarkScanMedian scans every fixture holding a code once per
// iteration and reports the median and the maximum over the images of
// their mean time, with and without file decoding. The target is a median
// of at most 2 ms.
func BenchmarkScanMedian(b *testing.B) {
	type item struct {
		img image.Image
		raw []byte
	}
	var items []item
	for _, f := range fixtureFiles {
		if f.hasQR {
			img, raw := loadFixture(b, f.name)
			items = append(items, item{img, raw})
		}
	}
	scan := make([]time.Duration, len(items))
	file := make([]time.Duration, len(items))
	n := 0
	for b.Loop() {
		for i, it := range items {
			t0 := time.Now()
			_, _ = Scan(it.img, nil)
			t1 := time.Now()
			_, _ = ScanBytes(it.raw, nil)
			scan[i] += t1.Sub(t0)
			file[i] += time.Since(t1)
		}
		n++
	}
	report := func(d []time.Duration, unit string) {
		ms := make([]float64, len(d))
		for i := range d {
			ms[i] = float64(d[i]) / float64(n) / 1e6
		}
		slices.Sort(ms)
		median := ms[len(ms)/2]
		if len(ms)%2 == 0 {
			median = (ms[len(ms)/2-1] + median) / 2
		}
		b.ReportMetric(median, "median-"+unit)
		b.ReportMetric(ms[len(ms)-1], "max-"+unit)
	}
	report(scan, "ms/scan")
	report(file, "ms/file")
}

// BenchmarkLargeSixteenBitPNG reads a 12000×3333 16-bit RGBA PNG (some 300
// KB on disk, 320 MB decoded) with the memory bound raised to admit it,
// and reports the estimate the bound is checked against; B/op (with
// -benchmem) is what one read allocates in all. Peak memory of the command
// line on such files: /usr/bin/time -v crlverify scan --max-image-memory
// 1GiB DIR.
func BenchmarkLargeSixteenBitPNG(b *testing.B) {
	raw := newSixteenBitPNG(b, []byte("HC1:LARGE SIXTEEN BIT"), 12000, 3333)
	opts := &Options{MaxMemory: 1 << 30}
	_, c, err := readHeader(raw, opts)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := ScanBytes(raw, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(c.bytes(symQR))/(1<<20), "estimate-MiB")
	b.ReportMetric(float64(len(raw))/1000, "file-kB")
}

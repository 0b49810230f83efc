package qr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// An issuer's version-40 code drawn at 3.05 pixels a module: the detector
// misjudges its size from the module width (3.0 or 3.14 pixels as the
// edges fall), so no attempt of the detector alone reads it; counting the
// size on the timing pattern does, on the second attempt.
func TestLargeVersionAtFractionalPitch(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "payload-v40.bin"))
	if err != nil {
		t.Fatalf("payload (run go generate): %v", err)
	}
	res, err := ScanFile(filepath.Join("testdata", "v40-fractional-pitch.png"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Payload, want) {
		t.Fatalf("payload differs: %d bytes, want %d", len(res.Payload), len(want))
	}
	if res.Strategy != "finder-grid" || res.Attempts != 2 {
		t.Errorf("decoded by %q after %d attempts, want finder-grid after 2", res.Strategy, res.Attempts)
	}
}

// updated-new.png holds a pattern in its data that reads like a finder
// pattern; the detector stops at it and takes it for a corner. Searching
// every row and trying every square trio reads it on the second attempt.
func TestFinderLikePatternInData(t *testing.T) {
	res, err := ScanFile(filepath.Join("..", "..", "testdata", "divoc", "qr", "updated-new.png"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts > 2 {
		t.Errorf("decoded by %q after %d attempts, want at most 2", res.Strategy, res.Attempts)
	}
}

// scanAllFixtures scans every committed image of this package with
// workers goroutines and describes each result. (The CLI's tests do the
// same with the DIVOC fixtures.)
func scanAllFixtures(t *testing.T, workers int) map[string]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", "*.*"))
	var (
		mu  sync.Mutex
		out = map[string]string{}
		wg  sync.WaitGroup
		ch  = make(chan string)
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range ch {
				res, err := ScanFile(f, nil)
				s := fmt.Sprint(err)
				if err == nil {
					s = fmt.Sprintf("%s after %d attempts, %d pixels: %x", res.Strategy, res.Attempts, res.Work, res.Payload[:min(16, len(res.Payload))])
				}
				mu.Lock()
				out[f] = s
				mu.Unlock()
			}
		}()
	}
	for _, f := range files {
		if !strings.HasSuffix(f, ".bin") {
			ch <- f
		}
	}
	close(ch)
	wg.Wait()
	return out
}

// The same image gives the same result, down to the attempt and the pixels
// looked at, whether the machine is quiet or every core is busy and
// scans run side by side.
func TestResultsDoNotDependOnLoad(t *testing.T) {
	quiet := scanAllFixtures(t, 1)
	stop := make(chan struct{})
	var spin sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		spin.Add(1)
		go func() {
			defer spin.Done()
			for x := 0; ; x++ {
				if x%1024 == 0 {
					select {
					case <-stop:
						return
					default:
					}
				}
			}
		}()
	}
	busy := scanAllFixtures(t, runtime.GOMAXPROCS(0)+1)
	close(stop)
	spin.Wait()
	if len(quiet) < 12 {
		t.Fatalf("only %d images", len(quiet))
	}
	for f, q := range quiet {
		if busy[f] != q {
			t.Errorf("%s:\n quiet: %s\n busy:  %s", f, q, busy[f])
		}
	}
}

// MaxAttempts and MaxWork stop the ladder at the same point every time.
func TestWorkBounds(t *testing.T) {
	path := filepath.Join("testdata", "not-qr.png")
	full, err := ScanFile(path, nil)
	if !errors.Is(err, ErrNoQRCode) || full != nil {
		t.Fatalf("not-qr.png: %v", err)
	}
	noisy := filepath.Join("testdata", "noisy.png")
	res, err := ScanFile(noisy, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Just enough work for the attempts that read it: the same result.
	again, err := ScanFile(noisy, &Options{MaxWork: res.Work})
	if err != nil || again.Attempts != res.Attempts || again.Work != res.Work {
		t.Errorf("MaxWork %d: %+v, %v; want %d attempts", res.Work, again, err, res.Attempts)
	}
	// The first attempt always runs; with no work left, every other one is
	// skipped, and the error says why the ladder stopped.
	_, err = ScanFile(noisy, &Options{MaxWork: 1})
	if !errors.Is(err, ErrNoQRCode) || !strings.Contains(err.Error(), "1 attempt;") || !strings.Contains(err.Error(), "skipped to keep within 1 pixels of work") {
		t.Errorf("MaxWork 1: %v", err)
	}
	_, err = ScanFile(noisy, &Options{MaxAttempts: res.Attempts - 1})
	if !errors.Is(err, ErrNoQRCode) || !strings.Contains(err.Error(), fmt.Sprintf("%d attempts, the most allowed", res.Attempts-1)) {
		t.Errorf("MaxAttempts %d: %v", res.Attempts-1, err)
	}
}

// countdown is a context that ends after its Err has been asked n times:
// a deadline that passes at a chosen point of the ladder.
type countdown struct {
	context.Context
	n atomic.Int32
}

func (c *countdown) Err() error {
	if c.n.Add(-1) < 0 {
		return context.DeadlineExceeded
	}
	return nil
}

// A scan whose context ends stops between attempts with the context's
// error, never ErrNoQRCode; one that finished stays finished.
func TestScanContext(t *testing.T) {
	path := filepath.Join("testdata", "not-qr.png")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, scan := range map[string]func(context.Context) error{
		"ScanFileContext": func(ctx context.Context) error { _, err := ScanFileContext(ctx, path, nil); return err },
		"ReadPayloadFileContext": func(ctx context.Context) error {
			_, _, err := ReadPayloadFileContext(ctx, path, nil)
			return err
		},
	} {
		if err := scan(ctx); !errors.Is(err, context.Canceled) || errors.Is(err, ErrNoQRCode) {
			t.Errorf("%s cancelled: got %v, want context.Canceled", name, err)
		}
	}
	// A deadline that passes once the ladder has begun.
	cd := &countdown{Context: context.Background()}
	cd.n.Store(5)
	_, err := ScanFileContext(cd, path, nil)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrNoQRCode) || !strings.Contains(err.Error(), "scan stopped after") {
		t.Errorf("deadline mid-ladder: %v", err)
	}
	res, err := ScanFileContext(ctx, filepath.Join("testdata", "clean.png"), &Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("clean image, cancelled context: %+v, %v", res, err)
	}
}

package snapshot_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"testing"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
)

// goldenFiles are the seeds of the fuzz targets.
var goldenFiles = []string{
	"golden/" + snapshot.FullName(2),
	"golden/" + snapshot.DeltaName(1, 2),
	"golden-es256-full.crl",
}

// fuzzLimits keep the fuzzers' memory small; the code paths are the same.
var fuzzLimits = &snapshot.Limits{MaxHeaderBytes: 8 << 10, MaxBodyBytes: 1 << 20, MaxEntries: 1 << 16}

// knownErr reports whether err wraps one of the package's sentinels.
func knownErr(err error) bool {
	for _, s := range []error{snapshot.ErrBadSignature, snapshot.ErrUnknownKey, snapshot.ErrDigestMismatch,
		snapshot.ErrUnsupportedVersion, snapshot.ErrTooLarge, snapshot.ErrMalformed} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// FuzzReadHeader feeds arbitrary files to ReadHeader and, when the header
// verifies, the body to a BodyReader. Every refusal must be one of the
// package's typed errors.
func FuzzReadHeader(f *testing.F) {
	for _, name := range append(goldenFiles, "golden/"+snapshot.IndexName) {
		f.Add(readTestdata(f, name))
	}
	keys := loadKeys(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := decode(data, keys.trusted, fuzzLimits)
		if err != nil && !knownErr(err) {
			t.Fatalf("untyped error: %v", err)
		}
	})
}

// FuzzBody decodes arbitrary bytes as the body of a fixed header that
// signs exactly those bytes, so the decoder's own checks are what the
// fuzzer meets. A body that decodes must re-encode to the same items.
func FuzzBody(f *testing.F) {
	keys := loadKeys(f)
	for _, name := range goldenFiles {
		d := mustDecode(f, readTestdata(f, name), keys.trusted)
		_, _, body := parts(f, readTestdata(f, name))
		f.Add(body, uint16(d.h.Upserts), uint16(d.h.Removals))
	}
	f.Add([]byte{0, 0}, uint16(0), uint16(0))
	f.Fuzz(func(t *testing.T, body []byte, ups, rems uint16) {
		h := &snapshot.Header{
			Version: snapshot.Version, Kind: snapshot.KindDelta,
			Upserts: uint64(ups), Removals: uint64(rems), ListCount: uint64(ups),
			BodyLength: int64(len(body)), BodyDigest: sha256.Sum256(body),
		}
		br := snapshot.NewBodyReader(bytes.NewReader(body), h, fuzzLimits)
		var es []crl.Entry
		var ks []crl.Key
		for {
			e, removed, err := br.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if !knownErr(err) || errors.Is(err, snapshot.ErrDigestMismatch) {
					t.Fatalf("body with a matching digest: %v", err)
				}
				return
			}
			if removed {
				ks = append(ks, e.Key)
			} else {
				es = append(es, e)
			}
		}
		// Whatever decodes is a valid list the writer accepts.
		bw := snapshot.NewBodyWriter(io.Discard)
		for _, e := range es {
			if err := bw.Upsert(e); err != nil {
				t.Fatalf("decoded entry the writer refuses: %v", err)
			}
		}
		for _, k := range ks {
			if err := bw.Remove(k); err != nil {
				t.Fatalf("decoded removal the writer refuses: %v", err)
			}
		}
		if _, err := bw.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzReadIndex feeds arbitrary files to ReadIndex.
func FuzzReadIndex(f *testing.F) {
	f.Add(readTestdata(f, "golden/"+snapshot.IndexName))
	f.Add(readTestdata(f, goldenFiles[0]))
	keys := loadKeys(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, err := snapshot.ReadIndex(bufio.NewReader(bytes.NewReader(data)), keys.trusted, fuzzLimits)
		if err != nil {
			if !knownErr(err) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if ix.Full.Name != snapshot.FullName(ix.Full.Serial) {
			t.Fatalf("accepted file name %q", ix.Full.Name)
		}
	})
}

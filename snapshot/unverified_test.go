package snapshot_test

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/crlverify/crlverify/snapshot"
)

func TestUnverifiedReadsSkipOnlyTheSignature(t *testing.T) {
	full, err := os.ReadFile(filepath.Join("testdata", "golden", snapshot.FullName(2)))
	if err != nil {
		t.Fatal(err)
	}
	h, err := snapshot.ReadHeaderUnverified(bufio.NewReader(bytes.NewReader(full)), nil)
	if err != nil || h.Serial != 2 || h.KeyID == "" {
		t.Fatalf("header %+v, %v", h, err)
	}
	// A changed signature is not noticed, but a changed format still is.
	forged := bytes.Replace(full, []byte("crlverify-snapshot-v1"), []byte("crlverify-snapshot-v2"), 1)
	if _, err := snapshot.ReadHeaderUnverified(bufio.NewReader(bytes.NewReader(forged)), nil); !errors.Is(err, snapshot.ErrUnsupportedVersion) {
		t.Fatalf("v2 file: %v", err)
	}
	ix, err := os.ReadFile(filepath.Join("testdata", "golden", snapshot.IndexName))
	if err != nil {
		t.Fatal(err)
	}
	if x, err := snapshot.ReadIndexUnverified(bytes.NewReader(ix), nil); err != nil || x.Serial != 2 {
		t.Fatalf("index %+v, %v", x, err)
	}
	if _, err := snapshot.ReadIndex(bytes.NewReader(ix), snapshot.KeysFunc(func(string) (jwk.Key, error) { return nil, snapshot.ErrUnknownKey }), nil); !errors.Is(err, snapshot.ErrUnknownKey) {
		t.Fatalf("ReadIndex with no keys: %v", err)
	}
}

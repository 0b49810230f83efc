package snapshot_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/snapshot/internal/golden"
)

// TestGolden re-encodes every golden file and compares it with the
// committed one byte for byte (Ed25519 signatures are deterministic); the
// ES256 file is compared but for its signature, which must verify. After
// a deliberate format change, run `go generate ./snapshot`.
func TestGolden(t *testing.T) {
	files, err := golden.Build()
	must(t, err)
	keys := loadKeys(t)
	for name, want := range files {
		got := readTestdata(t, name)
		if name == golden.ES256Full {
			if !golden.SameButSignature(got, want) {
				t.Errorf("%s differs from what the encoder makes now (beyond its signature)", name)
			}
			mustDecode(t, got, keys.trusted)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the encoder makes now; run go generate ./snapshot if the change is intended", name)
		}
	}

	full := mustDecode(t, readTestdata(t, "golden/"+snapshot.FullName(2)), keys.trusted)
	if !slices.Equal(full.upserts, golden.List2()) {
		t.Errorf("golden full snapshot decodes to %v", full.upserts)
	}
	delta := mustDecode(t, readTestdata(t, "golden/"+snapshot.DeltaName(1, 2)), keys.trusted)
	ups, rems := golden.Changes2()
	if !slices.Equal(delta.upserts, ups) || !slices.Equal(delta.removals, rems) {
		t.Errorf("golden delta decodes to %v %v", delta.upserts, delta.removals)
	}
}

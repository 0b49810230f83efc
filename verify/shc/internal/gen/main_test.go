package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// committedDir is verify/shc/testdata.
const committedDir = "../../testdata"

// TestReproducesCommittedFixtures checks that the generator writes exactly
// the committed files, byte for byte, and that testdata holds no other
// file; a second write over its own output changes nothing.
func TestReproducesCommittedFixtures(t *testing.T) {
	files, err := Fixtures()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range files {
		want = append(want, f.path)
		got, err := os.ReadFile(filepath.Join(committedDir, filepath.FromSlash(f.path)))
		if err != nil {
			t.Errorf("committed fixture missing (run go generate ./verify/shc): %v", err)
			continue
		}
		if !bytes.Equal(got, f.data) {
			t.Errorf("%s differs from what the generator writes (run go generate ./verify/shc)", f.path)
		}
	}
	var have []string
	err = filepath.WalkDir(committedDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(committedDir, p)
		have = append(have, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	slices.Sort(have)
	if !slices.Equal(want, have) {
		t.Errorf("testdata holds %v, the generator writes %v", have, want)
	}

	dir := t.TempDir()
	if err := write(dir, files); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "valid.txt")
	before, _ := os.Stat(p)
	if err := os.Chtimes(p, before.ModTime().Add(-3600e9), before.ModTime().Add(-3600e9)); err != nil {
		t.Fatal(err)
	}
	old, _ := os.Stat(p)
	if err := write(dir, files); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.Stat(p); !again.ModTime().Equal(old.ModTime()) {
		t.Error("a second run rewrote an unchanged file")
	}
}

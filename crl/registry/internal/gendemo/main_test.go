package main

import (
	"bytes"
	"os"
	"testing"
)

// The committed file is what the generator writes.
func TestCommittedFileReproduced(t *testing.T) {
	want, err := os.ReadFile("../../testdata/demo/certificates.csv")
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := write(&got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatal("testdata/demo/certificates.csv differs from the generator's output: run go generate ./crl/registry")
	}
}

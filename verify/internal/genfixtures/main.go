// Command genfixtures writes the repository's shared test fixtures for
// scanning DIVOC certificates into testdata/ (see testdata/README.md):
// credentials minted with DIVOC's published development keys, their
// payloads in every form DIVOC uses, QR images from clean to photographed,
// a trust store, a signed revocation list from a fixed test publisher key,
// demo revocation files, and the expected verdict of every file at one
// fixed check time.
//
// It runs from the verify directory (go generate ./verify):
//
//	go run ./internal/genfixtures [-out ../testdata] [-vectors ../../shared/vectors/divoc]
//
// The development keys and credential templates are read from the DIVOC
// test vectors beside the repository, never copied into it. Output is
// deterministic; RSA-signed credentials keep their committed file when only
// the (randomised) signature would change. Every image is decoded back with
// the QR decoder before the command succeeds.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	out := flag.String("out", "../testdata", "the repository's testdata directory")
	vectors := flag.String("vectors", "../../shared/vectors/divoc", "the DIVOC test vectors (development keys and credential templates)")
	flag.Parse()
	g := newGenerator(*out, *vectors, os.Stdout)
	if err := g.run(); err != nil {
		fmt.Fprintln(os.Stderr, "genfixtures:", err)
		os.Exit(1)
	}
}

// Command gengolden writes the snapshot package's golden files (see
// package golden) into the directory given by -out (default testdata).
// Run it with `go generate ./snapshot`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/crlverify/crlverify/snapshot/internal/golden"
)

func main() {
	out := flag.String("out", "testdata", "directory to write the golden files to")
	flag.Parse()
	files, err := golden.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gengolden:", err)
		os.Exit(1)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(*out, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "gengolden:", err)
			os.Exit(1)
		}
		// An ES256 signature differs on every run: keep the committed file
		// when only its signature would change.
		if old, err := os.ReadFile(p); err == nil && n == golden.ES256Full && golden.SameButSignature(old, files[n]) {
			fmt.Println("kept", p)
			continue
		}
		if err := os.WriteFile(p, files[n], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gengolden:", err)
			os.Exit(1)
		}
		fmt.Println("wrote", p)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/crlverify/crlverify/verify/qr"
	"github.com/crlverify/crlverify/verify/trust"
)

func divocVectorsDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "vectors", "divoc")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("DIVOC test vectors not found at %s (clone with ../shared beside the repository): %v", dir, err)
	}
	return dir
}

// scanLine is the part of scan's JSON output the tests look at.
type scanLine struct {
	Input       string `json:"input"`
	Status      string `json:"status"`
	PayloadForm string `json:"payload_form"`
	Revocation  struct {
		Known  bool   `json:"known"`
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"revocation"`
}

func TestScanVectorsWithoutStore(t *testing.T) {
	v := divocVectorsDir(t)
	dir := t.TempDir()
	trustFile := filepath.Join(dir, "trust.json")
	if code, _, stderr := runCLIStdin(t, "", "trust", "add", "--trust", trustFile, "did:india", filepath.Join(v, "keys", "divoc-dev-rsa.pub.pem")); code != 0 {
		t.Fatalf("trust add: %d %s", code, stderr)
	}
	png := filepath.Join(v, "qr", "divoc-dev-rsa2018.divoc-node-style.png")
	store := filepath.Join(dir, "absent.db")
	at := "--at=2026-06-01T00:00:00Z"

	// Genuine, but no list: valid with revocation status unknown, exit 3.
	code, stdout, stderr := runCLIStdin(t, "", "scan", "--trust", trustFile, "--store", store, at, png)
	if code != ExitUnknown || !strings.Contains(stdout, "VALID, REVOCATION STATUS UNKNOWN") || !strings.Contains(stderr, "run crlverify sync") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	// JSON lines, the payload on standard input, and a bad signature (the
	// Ed25519 vector, whose key is not trusted): exit 1, a tally on stderr.
	zip, err := os.ReadFile(filepath.Join(v, "qr", "divoc-dev-rsa2018.divoc-node-style.zip"))
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLIStdin(t, string(zip), "scan", "--json", "--trust", trustFile, "--store", store, at,
		"-", filepath.Join(v, "certs", "divoc-dev-ed25519-2018.json"))
	if code != ExitInvalid {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitInvalid, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 JSON lines, got:\n%s", stdout)
	}
	var got []scanLine
	for _, l := range lines {
		var r scanLine
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		got = append(got, r)
	}
	if got[0].Input != "-" || got[0].Status != "VALID" || got[0].PayloadForm != "raw-zip" || got[0].Revocation.Known {
		t.Errorf("stdin result %+v", got[0])
	}
	if got[1].Status != "BAD_SIGNATURE" {
		t.Errorf("ed25519 vector with an RSA key: %+v", got[1])
	}
	if !strings.Contains(stderr, "scanned 2: 1 VALID (1 with revocation status unknown), 1 BAD_SIGNATURE") {
		t.Errorf("tally missing from stderr:\n%s", stderr)
	}
}

func TestScanUsageErrors(t *testing.T) {
	dir := t.TempDir()
	trustFile := filepath.Join(dir, "trust.json")
	for name, args := range map[string][]string{
		"no trust store": {"scan", "--trust", trustFile, "x.png"},
		"bad --at":       {"scan", "--at", "yesterday", "x.png"},
		"no inputs":      {"scan"},
		"bad --color":    {"scan", "--color", "pink", "x.png"},
	} {
		code, stdout, stderr := runCLIStdin(t, "", args...)
		if code != ExitError || stdout != "" || stderr == "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", name, code, stdout, stderr)
		}
	}
}

func TestScanUnreadableInputIsAnIOError(t *testing.T) {
	dir := t.TempDir()
	trustFile := filepath.Join(dir, "trust.json")
	if err := trust.New().Save(trustFile); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "absent.png")
	code, stdout, stderr := runCLI(t, "scan", "--trust", trustFile, "--store", filepath.Join(dir, "crl.db"), missing)
	if code != ExitError || !strings.Contains(stdout, "absent.png: UNREADABLE\n  error:") || !strings.Contains(stderr, "absent.png: no such file") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// An empty file or empty standard input is an input error (exit 2) that
// says so, like an unreadable file, never a verdict about a certificate.
func TestScanEmptyInput(t *testing.T) {
	dir := t.TempDir()
	trustFile := filepath.Join(dir, "trust.json")
	if err := trust.New().Save(trustFile); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "photos", "empty.png")
	if err := os.MkdirAll(filepath.Dir(empty), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "crl.db")
	for name, args := range map[string][]string{
		"file":      {empty},
		"directory": {filepath.Dir(empty)},
	} {
		code, stdout, stderr := runCLI(t, append([]string{"scan", "--trust", trustFile, "--store", store}, args...)...)
		if code != ExitError || !strings.Contains(stdout, "empty.png: UNREADABLE\n") || !strings.Contains(stdout, "empty.png: empty file") ||
			!strings.Contains(stderr, "empty.png: empty file") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", name, code, stdout, stderr)
		}
	}
	code, stdout, stderr := runCLIStdin(t, "", "scan", "--trust", trustFile, "--store", store, "-")
	if code != ExitError || !strings.Contains(stdout, "-: UNREADABLE") || !strings.Contains(stderr, "standard input: empty") {
		t.Errorf("stdin: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// One input that cannot be read (missing, empty, a directory that cannot
// be listed) is a result of its own in a batch, not the end of it: every
// other input gets its verdict. The exit code is the worst input's, in the
// order 1, 2, 3, 0: a certificate not valid is never hidden behind an
// unreadable input, and an unreadable one behind a revocation status
// unknown.
func TestScanBatchWithUnreadableInputs(t *testing.T) {
	dir := t.TempDir()
	qrDir := filepath.Join(fixtureDir, "divoc", "qr")
	trustFile := filepath.Join(fixtureDir, "trust.json")
	store := filepath.Join(dir, "absent.db") // no list: VALID is "unknown", exit 3
	at := "--at=2026-06-01T00:00:00Z"
	photos := filepath.Join(dir, "photos")
	if err := os.MkdirAll(photos, 0o755); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(photos, "empty.png")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(qrDir, "valid.png"), filepath.Join(photos, "valid.png"))
	missing := filepath.Join(dir, "absent.png")
	valid := filepath.Join(qrDir, "valid.png")
	tampered := filepath.Join(qrDir, "tampered.png")

	type line struct {
		Input  string `json:"input"`
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	scan := func(inputs ...string) (int, []line, string) {
		t.Helper()
		code, stdout, stderr := runCLI(t, append([]string{"scan", "--json", "--trust", trustFile, "--store", store, at}, inputs...)...)
		var got []line
		for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
			var r line
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatalf("%v: %q", err, l)
			}
			got = append(got, r)
		}
		return code, got, stderr
	}

	// A missing file, a directory holding an empty file and a valid one,
	// and a valid photo: every input has its line, in order.
	code, got, stderr := scan(missing, photos, valid)
	want := []line{
		{missing, "UNREADABLE", "stat " + missing + ": no such file or directory"},
		{empty, "UNREADABLE", empty + ": empty file"},
		{filepath.Join(photos, "valid.png"), "VALID", ""},
		{valid, "VALID", ""},
	}
	if code != ExitError || !slices.Equal(got, want) {
		t.Fatalf("exit %d, want %d\n got %+v\nwant %+v\n%s", code, ExitError, got, want, stderr)
	}
	if !strings.Contains(stderr, "scanned 4: 2 VALID (2 with revocation status unknown), 2 UNREADABLE") {
		t.Errorf("tally: %s", stderr)
	}
	// A certificate not valid outranks an unreadable input.
	if code, got, _ := scan(missing, tampered, valid); code != ExitInvalid || len(got) != 3 || got[1].Status != "BAD_SIGNATURE" {
		t.Errorf("with a tampered certificate: exit %d, %+v", code, got)
	}
	// Valid only, revocation unknown: 3.
	if code, _, _ := scan(valid); code != ExitUnknown {
		t.Errorf("valid only: exit %d", code)
	}

	// A directory that cannot be listed is a result, and the walk goes on.
	if os.Getuid() != 0 {
		locked := filepath.Join(photos, "locked")
		if err := os.Mkdir(locked, 0o000); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(locked, 0o755) })
		code, got, _ = scan(photos)
		if code != ExitError || len(got) != 3 || got[1].Input != locked || got[1].Status != "UNREADABLE" ||
			!strings.Contains(got[1].Error, "permission denied") || got[2].Status != "VALID" {
			t.Errorf("unlistable directory: exit %d, %+v", code, got)
		}
	}

	// Text output: the unreadable input's line, then the verdicts.
	code, stdout, _ := runCLI(t, "scan", "--trust", trustFile, "--store", store, at, "--color", "never", missing, valid)
	if code != ExitError || !strings.HasPrefix(stdout, missing+": UNREADABLE\n  error:       stat "+missing+": no such file or directory\n"+valid+": VALID, REVOCATION STATUS UNKNOWN\n") ||
		!strings.Contains(stdout, "scanned 2: 1 VALID (1 with revocation status unknown), 1 UNREADABLE") {
		t.Errorf("text: exit %d\n%s", code, stdout)
	}
}

// The image bounds are flags: an image needing more memory than
// --max-image-memory, or more pixels than --max-pixels, is refused from
// its header, and the verdict says which flag changes the bound.
func TestScanImageBounds(t *testing.T) {
	dir := t.TempDir()
	trustFile := filepath.Join(dir, "trust.json")
	if err := trust.New().Save(trustFile); err != nil {
		t.Fatal(err)
	}
	code, err := qr.Encode([]byte("HC1:SIXTEEN BIT"), &qr.EncodeOptions{ModuleSize: 6})
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewNRGBA64(image.Rect(0, 0, 1600, 450))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(img, code.Bounds().Add(image.Pt(500, 20)), code, image.Point{}, draw.Src)
	img.SetNRGBA64(0, 0, color.NRGBA64{0xffff, 0xffff, 0xffff, 0xfff0}) // keep the alpha channel
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	photo := filepath.Join(dir, "wide.png")
	if err := os.WriteFile(photo, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "crl.db")
	for _, c := range []struct {
		flags []string
		want  []string
	}{
		{[]string{"--max-image-memory", "4MiB"}, []string{"16-bit RGBA PNG of 1600x450 pixels needs about", "more than the limit of 4.0 MiB", "--max-image-memory"}},
		{[]string{"--max-pixels", "500000"}, []string{"1600x450 pixels, more than 500000", "--max-pixels"}},
	} {
		args := append([]string{"scan", "--json", "--trust", trustFile, "--store", store}, c.flags...)
		code, stdout, stderr := runCLI(t, append(args, photo)...)
		var r struct {
			Status string `json:"status"`
			Detail string `json:"detail"`
		}
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("%v: %v\n%s", c.flags, err, stdout)
		}
		if code != ExitInvalid || r.Status != "MALFORMED" || !strings.Contains(r.Detail, "image too large") {
			t.Errorf("%v: exit %d, %+v, stderr %q", c.flags, code, r, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(r.Detail, w) {
				t.Errorf("%v: detail %q does not say %q", c.flags, r.Detail, w)
			}
		}
	}
	// Within the default bounds it is read (and is no certificate: its
	// "HC1:" text is no base45).
	_, stdout, _ := runCLI(t, "scan", "--trust", trustFile, "--store", store, photo)
	if !strings.Contains(stdout, "MALFORMED") || !strings.Contains(stdout, "invalid base45") {
		t.Errorf("default bounds: %s", stdout)
	}
	for _, bad := range []string{"0", "-5MiB", "lots", "12XB"} {
		if code, _, stderr := runCLI(t, "scan", "--trust", trustFile, "--max-image-memory", bad, photo); code != ExitError || !strings.Contains(stderr, "max-image-memory") {
			t.Errorf("--max-image-memory %s: exit %d, %s", bad, code, stderr)
		}
	}
	code2, help, _ := runCLI(t, "scan", "--help")
	for _, flag := range []string{"--max-image-memory", "--max-pixels", "--workers", "never by time"} {
		if code2 != 0 || !strings.Contains(help, flag) {
			t.Errorf("scan --help does not mention %s", flag)
		}
	}
}

// The committed photos give the same verdicts run after run, on a quiet
// machine and with every core kept busy, with fewer or more workers than
// cores: decoding is bounded by work, not time.
func TestScanVerdictsDoNotDependOnLoad(t *testing.T) {
	fixtures := filepath.Join("..", "..", "testdata")
	qrDir := filepath.Join(fixtures, "divoc", "qr")
	trustFile := filepath.Join(fixtures, "trust.json")
	store := filepath.Join(t.TempDir(), "absent.db")
	scan := func(workers string) string {
		t.Helper()
		_, stdout, stderr := runCLI(t, "scan", "--json", "--workers", workers, "--at", "2026-06-01T00:00:00Z",
			"--trust", trustFile, "--store", store, qrDir)
		if stdout == "" {
			t.Fatalf("no output: %s", stderr)
		}
		return stdout
	}
	quiet := scan("1")

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() { // a CPU-bound loop, as another process would be
			defer wg.Done()
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
	busy := scan("8")
	close(stop)
	wg.Wait()

	if busy != quiet {
		t.Fatalf("verdicts differ between runs\nquiet:\n%s\nbusy:\n%s", quiet, busy)
	}
	// Every photo was read: the only MALFORMED inputs are the one whose
	// payload is a cut ZIP and the credential with a term no context
	// defines, which are MALFORMED for what they hold.
	lines := strings.Split(strings.TrimSpace(quiet), "\n")
	for _, l := range lines {
		var r scanLine
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		base := filepath.Base(r.Input)
		malformed := base == "truncated-zip.png" || strings.HasPrefix(base, "undefined-term")
		if (r.Status == "MALFORMED") != malformed {
			t.Errorf("%s: %s", r.Input, l)
		}
	}
	if len(lines) < 20 {
		t.Errorf("only %d results", len(lines))
	}
}

// A scan whose context ends (the program embedding the command is shutting
// down) gives no verdicts and exits 2, rather than reporting the photos it
// did not finish as MALFORMED.
func TestScanInterrupted(t *testing.T) {
	fixtures := filepath.Join("..", "..", "testdata")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	root := NewRootCommand()
	root.SetContext(ctx)
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	code := execute(root, []string{"scan", "--trust", filepath.Join(fixtures, "trust.json"), "--store", filepath.Join(t.TempDir(), "absent.db"),
		filepath.Join(fixtures, "divoc", "qr")}, &errb)
	if code != ExitError || out.Len() != 0 || !strings.Contains(errb.String(), "scan interrupted: context canceled") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

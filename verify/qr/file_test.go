package qr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pngHeader returns a PNG signature and IHDR chunk declaring w×h 8-bit
// grey pixels, and nothing else: decoding its pixels would fail, so
// ErrTooLarge proves the bound was checked first.
func pngHeader(w, h uint32) []byte { return pngHeaderOf(w, h, 8, 0) }

// pngHeaderOf is pngHeader for any bit depth and colour type.
func pngHeaderOf(w, h uint32, depth, colour byte) []byte {
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = depth, colour // no interlace
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr[:]...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// gifHeader declares a w×h logical screen and stops.
func gifHeader(w, h uint16) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, w)
	b = binary.LittleEndian.AppendUint16(b, h)
	return append(b, 0, 0, 0) // no colour table, background, aspect
}

// jpegHeader is SOI, a JFIF marker and a baseline SOF0 frame header declaring w×h, three
// components, and nothing after it.
func jpegHeader(w, h uint16) []byte {
	b := []byte{0xff, 0xd8}
	// APP0 JFIF: without it the config reader looks on for an Adobe marker.
	b = append(b, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0)
	b = append(b, 0xff, 0xc0, 0, 17, 8)
	b = binary.BigEndian.AppendUint16(b, h)
	b = binary.BigEndian.AppendUint16(b, w)
	return append(b, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1)
}

func TestDimensionBoundsCheckedBeforeDecoding(t *testing.T) {
	cases := []struct {
		name string
		b    []byte
		opts *Options
	}{
		{"PNG 100000x100000", pngHeader(100000, 100000), nil},
		{"PNG side over 12000", pngHeader(12001, 10), nil},
		{"PNG 7000x7000 = 49 Mpx", pngHeader(7000, 7000), nil},
		{"PNG over a custom MaxPixels", pngHeader(2000, 2000), &Options{MaxPixels: 1_000_000}},
		{"PNG over a custom MaxSide", pngHeader(500, 20), &Options{MaxSide: 400}},
		{"GIF 65535x65535", gifHeader(65535, 65535), nil},
		{"JPEG 65535x65535", jpegHeader(65535, 65535), nil},
		{"JPEG 13000x100", jpegHeader(13000, 100), nil},
	}
	for _, c := range cases {
		_, err := DecodeBytes(c.b, c.opts)
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: got %v, want ErrTooLarge", c.name, err)
		}
	}
	// The same header within bounds gets as far as the missing pixels.
	if _, err := DecodeBytes(pngHeader(100, 100), nil); !errors.Is(err, ErrCorruptImage) {
		t.Errorf("header-only PNG within bounds: got %v, want ErrCorruptImage", err)
	}
}

func TestInMemoryImageBounds(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 300, 200))
	if _, err := Decode(img, &Options{MaxSide: 250}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("side bound: got %v, want ErrTooLarge", err)
	}
	if _, err := Decode(img, &Options{MaxPixels: 50_000}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("pixel bound: got %v, want ErrTooLarge", err)
	}
	if _, err := Decode(image.NewGray(image.Rect(0, 0, 0, 0)), nil); !errors.Is(err, ErrNoQRCode) {
		t.Errorf("empty image: got %v, want ErrNoQRCode", err)
	}
	if _, err := Decode(nil, nil); !errors.Is(err, ErrNoQRCode) {
		t.Errorf("nil image: got %v, want ErrNoQRCode", err)
	}
}

func TestFileSizeBound(t *testing.T) {
	path := filepath.Join("testdata", "clean.png")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	small := &Options{MaxFileSize: int64(len(b)) - 1}
	if _, err := DecodeFile(path, small); !errors.Is(err, ErrTooLarge) {
		t.Errorf("DecodeFile: got %v, want ErrTooLarge", err)
	}
	if _, err := DecodeReader(bytes.NewReader(b), small); !errors.Is(err, ErrTooLarge) {
		t.Errorf("DecodeReader: got %v, want ErrTooLarge", err)
	}
	if _, err := DecodeBytes(b, small); !errors.Is(err, ErrTooLarge) {
		t.Errorf("DecodeBytes: got %v, want ErrTooLarge", err)
	}
	if _, _, err := ReadPayload(bytes.NewReader(b), small); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadPayload: got %v, want ErrTooLarge", err)
	}
	exact := &Options{MaxFileSize: int64(len(b))}
	if _, err := DecodeReader(bytes.NewReader(b), exact); err != nil {
		t.Errorf("file of exactly MaxFileSize: %v", err)
	}
}

func TestTruncatedFiles(t *testing.T) {
	for _, name := range []string{"clean.png", "clean.jpg", "clean.gif"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 3, 10, 30, len(b) / 4, len(b) / 2, len(b) * 3 / 4} {
			_, err := DecodeBytes(b[:n], nil)
			if err == nil {
				t.Errorf("%s cut to %d bytes: decoded", name, n)
				continue
			}
			if n >= 10 && !errors.Is(err, ErrCorruptImage) {
				t.Errorf("%s cut to %d bytes: got %v, want ErrCorruptImage", name, n, err)
			}
		}
		_, err = DecodeBytes(b[:len(b)/2], nil)
		if !strings.Contains(err.Error(), "corrupt or truncated image") {
			t.Errorf("%s cut in half: error %q does not say what is wrong", name, err)
		}
		t.Logf("%s cut in half: %v", name, err)
	}
}

func TestUnsupportedInputs(t *testing.T) {
	cases := map[string][]byte{
		"text":      []byte("HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH-R6"),
		"zip":       []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"),
		"json":      []byte(`{"@context":["https://www.w3.org/2018/credentials/v1"]}`),
		"webp":      []byte("RIFF\x24\x00\x00\x00WEBPVP8 "),
		"heic":      []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00"),
		"tiff":      []byte("II*\x00\x08\x00\x00\x00"),
		"bmp":       []byte("BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00\x00\x00"),
		"not a png": []byte("\x89PNX\r\n\x1a\n"),
	}
	for name, b := range cases {
		_, err := DecodeBytes(b, nil)
		if !errors.Is(err, ErrUnsupportedImage) {
			t.Errorf("%s: got %v, want ErrUnsupportedImage", name, err)
		}
	}
	_, err := DecodeBytes(cases["webp"], nil)
	if err == nil || !strings.Contains(err.Error(), "webp") {
		t.Errorf("webp: error %v does not name the format", err)
	}
}

// An empty file or stream says so, whichever way it is read.
func TestEmptyInput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.png")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := DecodeFile(path, nil)
	if !errors.Is(err, ErrEmpty) || !strings.Contains(err.Error(), "empty.png: qr: empty file") {
		t.Errorf("DecodeFile: got %v, want the path and ErrEmpty", err)
	}
	if _, _, err := ReadPayloadFile(path, nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("ReadPayloadFile: got %v, want ErrEmpty", err)
	}
	if _, _, err := ReadPayload(strings.NewReader(""), nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("ReadPayload: got %v, want ErrEmpty", err)
	}
	if _, err := DecodeBytes(nil, nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("DecodeBytes: got %v, want ErrEmpty", err)
	}
}

func TestIsImage(t *testing.T) {
	for _, name := range []string{"clean.png", "clean.jpg", "clean.gif"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if !IsImage(b) || !IsImage(b[:16]) {
			t.Errorf("%s: not recognised as an image", name)
		}
	}
	yes := []string{"RIFF\x24\x00\x00\x00WEBPVP8 ", "\x00\x00\x00\x1cftypavif", "MM\x00*\x00\x00\x00\x08", "BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00\x00\x00"}
	no := []string{
		"", "PK\x03\x04\x14\x00", "{\"credentialSubject\":{}}", "HC1:NCFOXN%TS3DH3ZSUZK",
		"shc:/56762909524320603460292437404460", "\x89PN", "GIF8", "BMW diesel manual 2021",
		// DIVOC 2.x ZIP after UTF-8 expansion still starts "PK\x03\x04".
		"PK\x03\x04\n\x00\x00\x00\x08\x00\xc2\x80",
	}
	for _, s := range yes {
		if !IsImage([]byte(s)) {
			t.Errorf("IsImage(%q) = false", s)
		}
	}
	for _, s := range no {
		if IsImage([]byte(s)) {
			t.Errorf("IsImage(%q) = true", s)
		}
	}
}

func TestReadPayload(t *testing.T) {
	want := fixturePayload(t)
	got, fromImage, err := ReadPayloadFile(filepath.Join("testdata", "clean.png"), nil)
	if err != nil || !fromImage || !bytes.Equal(got, want) {
		t.Errorf("image file: fromImage %v, err %v, payload equal %v", fromImage, err, bytes.Equal(got, want))
	}
	text := []byte("HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH-R6\n")
	got, fromImage, err = ReadPayload(bytes.NewReader(text), nil)
	if err != nil || fromImage || !bytes.Equal(got, text) {
		t.Errorf("text on a reader: got %q, fromImage %v, err %v; want the bytes unchanged", got, fromImage, err)
	}
	dir := t.TempDir()
	zip := filepath.Join(dir, "cert.zip")
	zipBytes := []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00\x00\xff\x01")
	if err := os.WriteFile(zip, zipBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	got, fromImage, err = ReadPayloadFile(zip, nil)
	if err != nil || fromImage || !bytes.Equal(got, zipBytes) {
		t.Errorf("zip file: got %q, fromImage %v, err %v", got, fromImage, err)
	}
	_, fromImage, err = ReadPayloadFile(filepath.Join("testdata", "not-qr.png"), nil)
	if !fromImage || !errors.Is(err, ErrNoQRCode) {
		t.Errorf("image without a code: fromImage %v, err %v; want true, ErrNoQRCode", fromImage, err)
	}
	if _, _, err := ReadPayloadFile(filepath.Join(dir, "missing.png"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want os.ErrNotExist", err)
	}
}

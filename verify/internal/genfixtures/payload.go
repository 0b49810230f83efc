package main

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"io"
	"unicode/utf8"
)

// zipPayload returns the ZIP a DIVOC QR code holds: one deflated entry,
// certificate.json, with a fixed modification time.
func zipPayload(credential []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "certificate.json", Method: zip.Deflate, Modified: zipTime})
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(credential); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// expandUTF8 writes each byte as the UTF-8 encoding of the code point of
// the same value, as DIVOC 2.x's Node service does when it puts a ZIP
// (a JavaScript binary string) into a QR code: bytes >= 0x80 become two.
func expandUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b)*3/2)
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}

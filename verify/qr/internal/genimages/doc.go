// Command genimages writes the QR test images of package qr into its
// testdata directory. Output is deterministic: run it again and the files
// do not change (for a given Go release's image encoders).
//
//	go generate ./verify/qr    (runs: go run ./internal/genimages -out testdata)
//
// The payload is 480 pseudo-random bytes from a fixed seed that include
// every value 0x00-0xFF, so a decoder that guesses a character set or
// stops at a zero byte fails on it. It is written next to the images as
// payload.bin. The version-40 image holds 2200 such bytes, payload-v40.bin.
package main

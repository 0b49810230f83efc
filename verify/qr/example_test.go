package qr_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/crlverify/crlverify/verify/qr"
)

// A payload rendered with Encode decodes to the same bytes, binary included.
func ExampleEncode() {
	payload := []byte("PK\x03\x04\x00\xff binary survives")
	img, err := qr.Encode(payload, &qr.EncodeOptions{Level: "M", ModuleSize: 4})
	if err != nil {
		log.Fatal(err)
	}
	got, err := qr.Decode(img, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(bytes.Equal(got, payload), img.Bounds().Dx())
	// Output: true 132
}

func ExampleScanFile() {
	res, err := qr.ScanFile("testdata/inverted.png", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(res.Payload), res.Strategy)
	// Output: 480 inverted
}

func ExampleDecodeFile_noCode() {
	_, err := qr.DecodeFile("testdata/not-qr.png", nil)
	fmt.Println(errors.Is(err, qr.ErrNoQRCode))
	// Output: true
}

// A scan input can be an image or the payload itself, for example an EU
// certificate string piped on standard input.
func ExampleReadPayload() {
	stdin := strings.NewReader("HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH-R6\n")
	payload, fromImage, err := qr.ReadPayload(stdin, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q from image: %v\n", bytes.TrimSpace(payload), fromImage)
	// Output: "HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH-R6" from image: false
}

// A scan bounded by a context: the caller's deadline or cancellation stops
// it between attempts; otherwise the result is the same as ScanFile's on
// any machine.
func ExampleScanFileContext() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // e.g. when the user closes the camera view
	res, err := qr.ScanFileContext(ctx, "testdata/v40-fractional-pitch.png", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(res.Payload), res.Strategy, res.Attempts)
	// Output: 2200 finder-grid 2
}

// Command genfixtures writes the committed EU DCC fixtures of package dcc
// (see testdata/README.md there). Its output is deterministic:
//
//	go generate ./verify/dcc
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"log"
	"os"
	"path/filepath"
	"sort"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/aztec"

	"github.com/crlverify/crlverify/verify/dcc/internal/gen"
	"github.com/crlverify/crlverify/verify/qr"
)

func main() {
	out := flag.String("out", "testdata", "directory to write the fixtures to")
	flag.Parse()
	if err := run(*out); err != nil {
		log.Fatal(err)
	}
}

func run(out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	cert := gen.ExampleDSC()
	files := map[string][]byte{
		"example-dsc.pem":       gen.CertPEM(cert),
		"example-dsc-list.json": gen.DSCList(gen.ExampleCountry, cert),
	}
	certs := gen.ExampleCertificates()
	for stem, payload := range certs {
		files[stem+".hc1"] = []byte(payload + "\n")
	}
	qrImg, err := qr.Encode([]byte(certs["vaccination"]), nil)
	if err != nil {
		return err
	}
	if files["vaccination-qr.png"], err = encodePNG(qrImg); err != nil {
		return err
	}
	az, err := aztecImage(certs["vaccination"])
	if err != nil {
		return err
	}
	if files["vaccination-aztec.png"], err = encodePNG(az); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(out, name), files[name], 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", filepath.Join(out, name))
	}
	return nil
}

// aztecImage renders payload as an Aztec code (23% error correction, the
// usual minimum), four pixels a module, on a white margin.
func aztecImage(payload string) (image.Image, error) {
	code, err := aztec.Encode([]byte(payload), 23, 0)
	if err != nil {
		return nil, err
	}
	side := code.Bounds().Dx() * 4
	scaled, err := barcode.Scale(code, side, side)
	if err != nil {
		return nil, err
	}
	margin := 16
	img := image.NewGray(image.Rect(0, 0, side+2*margin, side+2*margin))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(margin, margin, margin+side, margin+side), scaled, scaled.Bounds().Min, draw.Src)
	return img, nil
}

func encodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

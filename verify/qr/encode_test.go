package qr

import (
	"bytes"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

func TestEncodeRoundTrip(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	reversed := make([]byte, 256)
	for i := range reversed {
		reversed[i] = byte(255 - i)
	}
	cases := map[string][]byte{
		"every byte value 0x00-0xFF":   all,
		"every byte value, reversed":   reversed,
		"zeros":                        make([]byte, 40),
		"one byte 0x00":                {0},
		"one byte 0xFF":                {0xff},
		"UTF-8 text with non-ASCII":    []byte("{\"name\":\"श्री राम\",\"city\":\"Colombo ශ්\u200dරී\"}"),
		"DIVOC UTF-8-expanded bytes":   []byte("PK\x03\x04\x14\x00\x08\x00\xc2\x80\xc3\xbf"),
		"ZIP, not valid UTF-8":         []byte("PK\x03\x04\x14\x00\x08\x00\x80\xff\x00"),
		"alphanumeric (EU DCC)":        []byte("HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH-R6"),
		"digits only":                  []byte("0123456789012345678901234567890"),
		"lower-case ASCII":             []byte("shc:/567629095243206034602924374044603122295953265460346029254077280433602870286471674522280928613331456437653141590640220306450459085643550341424541364037063665417137241236380304375622046737407532323925433443326057360106452931531270742428395038692212766728666731266342087422573776302062041022437658685343255820002167287607585708105505622752282407670809680507692361773323356634342439664440596761410443377667202663224433674530596175400038397052612140292974753658337372662132066669047253044469405210524536242721550377673434280323045475690310233670562227414567090555653507636250537239522776211205312561442568282012726838630039087127042463716936535535602928393065580072763158437500341209546904210458383257586630101033123422114008776058732325243541683750663224742542"),
		"a DIVOC-sized binary ZIP":     bytes.Repeat([]byte{0x50, 0x4b, 0x00, 0x9c, 0xff, 0x7f}, 150),
		"structure-like bytes in text": []byte("\x00\x1d%%\xff\xfe"),
	}
	for name, payload := range cases {
		for _, level := range []string{"L", "M", "Q", "H"} {
			img, err := Encode(payload, &EncodeOptions{Level: level, ModuleSize: 3})
			if err != nil {
				t.Errorf("%s, level %s: %v", name, level, err)
				continue
			}
			res, err := Scan(img, nil)
			if err != nil {
				t.Errorf("%s, level %s: decode: %v", name, level, err)
				continue
			}
			if res.Attempts > 1 {
				t.Logf("%s, level %s: decoded by %q after %d attempts", name, level, res.Strategy, res.Attempts)
			}
			if got := res.Payload; !bytes.Equal(got, payload) {
				t.Errorf("%s, level %s: got %q, want %q", name, level, head(got), head(payload))
			}
		}
	}
}

// Binary goes in byte mode, one segment, bytes unchanged: the decoder's own
// byte-segment metadata must hold exactly the payload.
func TestEncodeUsesByteMode(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for name, payload := range map[string][]byte{
		"binary": all,
		"UTF-8":  []byte("certificate.json ✓ ä"),
	} {
		img, err := Encode(payload, nil)
		if err != nil {
			t.Fatal(err)
		}
		bmp, err := gozxing.NewBinaryBitmapFromImage(img)
		if err != nil {
			t.Fatal(err)
		}
		res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		segs, _ := res.GetResultMetadata()[gozxing.ResultMetadataType_BYTE_SEGMENTS].([][]byte)
		if len(segs) != 1 || !bytes.Equal(segs[0], payload) {
			t.Errorf("%s: byte segments %d, first %q; want one segment with the payload", name, len(segs), segs)
		}
	}
}

func TestEncodeGeometry(t *testing.T) {
	payload := []byte("geometry")
	// Version 1 is 21 modules.
	img, err := Encode(payload, &EncodeOptions{Version: 1, ModuleSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := img.Bounds().Dx(), (21+8)*5; got != want {
		t.Errorf("width %d, want %d (21 modules + 2x4 quiet zone, 5 px each)", got, want)
	}
	img, err = Encode(payload, &EncodeOptions{Version: 1, ModuleSize: 2, QuietZone: NoQuietZone})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := img.Bounds().Dx(), 21*2; got != want {
		t.Errorf("without quiet zone: width %d, want %d", got, want)
	}
	if img.GrayAt(0, 0).Y != 0 {
		t.Error("without quiet zone the top-left finder pattern should touch the corner")
	}
	if got, err := Decode(img, nil); err != nil || !bytes.Equal(got, payload) {
		t.Errorf("decode without quiet zone: %q, %v", got, err)
	}
}

func TestEncodeErrors(t *testing.T) {
	cases := []struct {
		name    string
		payload []byte
		opts    *EncodeOptions
		want    string
	}{
		{"empty payload", nil, nil, "empty"},
		{"too much data", bytes.Repeat([]byte{0xff}, 3000), nil, "encoding"},
		{"too much for the version", bytes.Repeat([]byte("a"), 100), &EncodeOptions{Version: 2}, "encoding"},
		{"bad level", []byte("x"), &EncodeOptions{Level: "X"}, "level"},
		{"bad version", []byte("x"), &EncodeOptions{Version: 41}, "version"},
		{"bad quiet zone", []byte("x"), &EncodeOptions{QuietZone: -2}, "quiet zone"},
		{"bad module size", []byte("x"), &EncodeOptions{ModuleSize: -1}, "module size"},
	}
	for _, c := range cases {
		_, err := Encode(c.payload, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error about %q", c.name, err, c.want)
		}
	}
}

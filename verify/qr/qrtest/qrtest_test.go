package qrtest

import (
	"bytes"
	"image"
	"image/color"
	"testing"
)

func checker(n, cell int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, n, n))
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if (x/cell+y/cell)%2 == 0 {
				img.Pix[y*n+x] = 255
			}
		}
	}
	return img
}

func TestSeededHelpersAreDeterministic(t *testing.T) {
	src := checker(64, 8)
	if !bytes.Equal(Noise(src, 20, 7).Pix, Noise(src, 20, 7).Pix) {
		t.Error("Noise differs between runs with the same seed")
	}
	if bytes.Equal(Noise(src, 20, 7).Pix, Noise(src, 20, 8).Pix) {
		t.Error("Noise ignores its seed")
	}
	if !bytes.Equal(SaltAndPepper(src, 0.1, 3).Pix, SaltAndPepper(src, 0.1, 3).Pix) {
		t.Error("SaltAndPepper differs between runs with the same seed")
	}
	if !bytes.Equal(Place(src, 200, 150, 10, 20, 1).Pix, Place(src, 200, 150, 10, 20, 1).Pix) {
		t.Error("Place differs between runs with the same seed")
	}
}

func TestGeometry(t *testing.T) {
	src := checker(100, 10)
	if b := Rotate(src, 90, color.White).Bounds(); b.Dx() != 100 || b.Dy() != 100 {
		t.Errorf("Rotate 90: %v", b)
	}
	if b := Rotate(src, 45, color.White).Bounds(); b.Dx() != 142 || b.Dy() != 142 {
		t.Errorf("Rotate 45: %v, want 142x142", b)
	}
	if b := Scale(src, 0.5).Bounds(); b.Dx() != 50 || b.Dy() != 50 {
		t.Errorf("Scale 0.5: %v", b)
	}
	if b := Scale(src, 2).Bounds(); b.Dx() != 200 {
		t.Errorf("Scale 2: %v", b)
	}
	if b := Shear(src, 0.2, 0, color.White).Bounds(); b.Dx() != 120 || b.Dy() != 100 {
		t.Errorf("Shear: %v, want 120x100", b)
	}
	if b := Crop(src, image.Rect(-5, 10, 30, 500)).Bounds(); b.Dx() != 30 || b.Dy() != 90 {
		t.Errorf("Crop clipped: %v", b)
	}
	// Rotating a quarter turn maps pixels exactly (no blending).
	r := Rotate(src, 90, color.White)
	for y := 0; y < 100; y++ {
		for x := 0; x < 100; x++ {
			want := src.GrayAt(99-y, x).Y // counter-clockwise: (x, y) comes from (w-1-y, x)
			if got := Gray(r).GrayAt(x, y).Y; got != want {
				t.Fatalf("Rotate 90 at (%d,%d): %d, want %d", x, y, got, want)
			}
		}
	}
	// The identity quadrilateral leaves the image as it was.
	w := Warp(src, [4][2]float64{{0, 0}, {100, 0}, {100, 100}, {0, 100}}, 100, 100, color.White)
	if !bytes.Equal(Gray(w).Pix, src.Pix) {
		t.Error("Warp onto its own frame changed the image")
	}
}

func TestTonal(t *testing.T) {
	src := checker(32, 4)
	inv := Gray(Invert(src))
	for i := range src.Pix {
		if inv.Pix[i] != 255-src.Pix[i] {
			t.Fatal("Invert")
		}
	}
	dark := Gray(Shade(src, 0.5, 0.5))
	if dark.Pix[0] != 128 {
		t.Errorf("Shade 0.5 of white: %d", dark.Pix[0])
	}
	flat := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range flat.Pix {
		flat.Pix[i] = 90
	}
	if b := Gray(Blur(flat, 3)); b.Pix[0] != 90 || b.Pix[200] != 90 {
		t.Error("Blur changed a flat image")
	}
	p := Paletted(src)
	if len(p.Palette) != 2 || p.Pix[0] != 1 {
		t.Errorf("Paletted: %d colours, first index %d", len(p.Palette), p.Pix[0])
	}
	if _, err := Recompress(src, 50); err != nil {
		t.Error(err)
	}
}

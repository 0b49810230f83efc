package shc

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/crlverify/crlverify/verify/shc/internal/shctest"
)

// TestReadFileSharesInflateBound reads a .smart-health-card file of 100
// small cards, each inflating to almost MaxInflatedSize: 220 kB on disk
// that, read card by card within the per-card bound alone, took 100 MiB of
// payloads (and as much again of display text) and seconds of JSON
// parsing before any signature was checked. The cards of a file share
// MaxFileInflatedSize: the first ones are read, the rest are too large,
// and what was inflated stays within the bound.
func TestReadFileSharesInflateBound(t *testing.T) {
	big := signTest(testCard(func(c *shctest.Card) {
		c.Doses[0].Performer = strings.Repeat("A", MaxInflatedSize-4096)
	}))
	small := signTest(testCard(nil))
	if len(big) > 4096 {
		t.Fatalf("the big card takes %d characters; it should compress to a few kB", len(big))
	}
	list := make([]string, MaxFileCards)
	for i := range list {
		list[i] = big
	}
	list[3] = small
	file, err := json.Marshal(map[string]any{"verifiableCredential": list})
	if err != nil {
		t.Fatal(err)
	}

	cards, err := ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != MaxFileCards {
		t.Fatalf("%d cards, want %d", len(cards), MaxFileCards)
	}
	inflated, read := 0, 0
	for i, fc := range cards {
		if fc.Err != nil {
			if !errors.Is(fc.Err, ErrTooLarge) || !errors.Is(fc.Err, ErrMalformed) || !strings.Contains(fc.Err.Error(), "together") {
				t.Errorf("card %d: %v, want too large for the file", i+1, fc.Err)
			}
			continue
		}
		read++
		inflated += len(fc.Card.Payload)
	}
	if inflated > MaxFileInflatedSize {
		t.Errorf("the cards read inflate to %d bytes, more than %d", inflated, MaxFileInflatedSize)
	}
	// The big ones that fit, with the small one among them; the rest
	// fail, even a small card after one that did not fit.
	want := MaxFileInflatedSize/MaxInflatedSize + 1
	if read != want || cards[3].Err != nil {
		t.Errorf("%d cards read (the small one: %v), want %d", read, cards[3].Err, want)
	}

	// Payloads that inflate and then turn out not to be cards count too:
	// parsing a megabyte of JSON costs the same either way.
	junk := shctest.SignParts(shctest.Header(testKID),
		shctest.Deflate([]byte(`{"x":[`+strings.Repeat(`{},`, (MaxInflatedSize-4096)/3)+`{}]}`)), testKey)
	for i := range list {
		list[i] = junk
	}
	file, err = json.Marshal(map[string]any{"verifiableCredential": list})
	if err != nil {
		t.Fatal(err)
	}
	if cards, err = ReadFile(file); err != nil {
		t.Fatal(err)
	}
	parsed := 0
	for i, fc := range cards {
		switch {
		case fc.Err == nil:
			t.Fatalf("card %d read", i+1)
		case !errors.Is(fc.Err, ErrTooLarge):
			parsed++ // inflated whole, then refused as no card
		}
	}
	if max := MaxFileInflatedSize/(MaxInflatedSize-4096) + 1; parsed > max {
		t.Errorf("%d payloads inflated whole and parsed, want at most %d", parsed, max)
	}

	// A file of ordinary cards is read whole, and its cards are Parse's.
	cards, err = ReadFile(fixture(t, "cards.smart-health-card"))
	if err != nil || len(cards) != 2 {
		t.Fatalf("fixture: %d cards, %v", len(cards), err)
	}
	for i, fc := range cards {
		if fc.Err != nil {
			t.Errorf("fixture card %d: %v", i+1, fc.Err)
		}
	}
	// A file that is not one fails as ParseFile does.
	if _, err := ReadFile([]byte(`{"verifiableCredential":[]}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("empty file: %v", err)
	}
}

package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// IndexName is the file name of the index in a publication directory.
const IndexName = "index.jws"

// MaxIndexBytes bounds an index file.
const MaxIndexBytes = 1 << 20

// MaxIndexDeltas bounds the deltas an index lists.
const MaxIndexDeltas = 4096

// FullName returns the file name of the full snapshot at serial:
// "full-<serial>.crl" with the serial zero-padded to 20 digits, so names
// sort by serial.
func FullName(serial uint64) string { return fmt.Sprintf("full-%020d.crl", serial) }

// DeltaName returns the file name of the delta from base to serial:
// "delta-<base>-<serial>.crl", both zero-padded to 20 digits.
func DeltaName(base, serial uint64) string {
	return fmt.Sprintf("delta-%020d-%020d.crl", base, serial)
}

// IndexFile describes one snapshot file of a publication directory.
type IndexFile struct {
	// Name is [FullName] or [DeltaName] of the serials; a reader may join
	// it to the directory's location without further checks.
	Name string
	// Kind, Serial and BaseSerial repeat the file's header.
	Kind       Kind
	Serial     uint64
	BaseSerial uint64
	// Length and Digest are the size and SHA-256 of the whole file.
	Length int64
	Digest Digest
}

// Index is the small signed file that names the newest full snapshot and
// the deltas that lead to the newest serial. A reader fetches the index,
// then the one delta whose BaseSerial is the serial it holds, or else the
// full snapshot.
type Index struct {
	// Version is [Version].
	Version int
	// Publisher and Issuers are as in the [Header].
	Publisher string
	Issuers   []string
	// Serial is the newest serial; ThisUpdate and NextUpdate are those of
	// the newest snapshot.
	Serial     uint64
	ThisUpdate time.Time
	NextUpdate time.Time
	// Full is the newest full snapshot (Serial at most the index's).
	Full IndexFile
	// Deltas lead from recent serials straight to Serial, one hop each.
	Deltas []IndexFile
	// ListDigest, when not zero, is the list_digest of Serial: a reader
	// holding Serial can tell from the index alone whether its list is
	// the one published (a publisher restored from a backup may publish
	// another list under a serial it had used). Optional: indexes written
	// before it lack it.
	ListDigest Digest
	// KeyID and Algorithm come from the JWS protected header.
	KeyID     string
	Algorithm string
}

type wireIndexFile struct {
	Name       string `json:"name"`
	Kind       Kind   `json:"kind"`
	Serial     uint64 `json:"serial"`
	BaseSerial uint64 `json:"base_serial,omitempty"`
	Length     int64  `json:"length"`
	Digest     Digest `json:"digest"`
}

type wireIndex struct {
	V          int             `json:"v"`
	Publisher  string          `json:"publisher"`
	Issuers    []string        `json:"issuers"`
	Serial     uint64          `json:"serial"`
	ThisUpdate wireTime        `json:"this_update"`
	NextUpdate wireTime        `json:"next_update"`
	Full       wireIndexFile   `json:"full"`
	Deltas     []wireIndexFile `json:"deltas"`
	ListDigest *Digest         `json:"list_digest,omitempty"`
	Crit       *[]string       `json:"crit,omitempty"`
}

var indexFields = map[string]bool{
	"v": true, "publisher": true, "issuers": true, "serial": true,
	"this_update": true, "next_update": true, "full": true, "deltas": true, "list_digest": true, "crit": true,
}

var requiredIndexFields = []string{"v", "publisher", "issuers", "serial", "this_update", "next_update", "full", "deltas"}

// WriteIndex writes ix signed by key: the magic line "crlverify-index-v1",
// then the compact JWS and a newline. It sets ix.Version (when 0),
// ix.KeyID and ix.Algorithm, and truncates the times to whole seconds.
func WriteIndex(w io.Writer, ix *Index, key jwk.Key) error {
	if ix == nil {
		return errors.New("snapshot: nil index")
	}
	if ix.Version == 0 {
		ix.Version = Version
	}
	ix.ThisUpdate = ix.ThisUpdate.UTC().Truncate(time.Second)
	ix.NextUpdate = ix.NextUpdate.UTC().Truncate(time.Second)
	if err := ix.validate(noLimits); err != nil {
		return fmt.Errorf("snapshot: refusing to write an invalid index: %w", err)
	}
	wi := wireIndex{
		V: ix.Version, Publisher: ix.Publisher, Issuers: ix.Issuers, Serial: ix.Serial,
		ThisUpdate: wireTime{ix.ThisUpdate}, NextUpdate: wireTime{ix.NextUpdate},
		Full: wireIndexFile(ix.Full), Deltas: make([]wireIndexFile, len(ix.Deltas)),
	}
	if wi.Issuers == nil {
		wi.Issuers = []string{}
	}
	for i, d := range ix.Deltas {
		wi.Deltas[i] = wireIndexFile(d)
	}
	if !ix.ListDigest.IsZero() {
		ld := ix.ListDigest
		wi.ListDigest = &ld
	}
	payload, err := json.Marshal(wi)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	compact, kid, alg, err := sign(payload, typIndex, key)
	if err != nil {
		return err
	}
	ix.KeyID, ix.Algorithm = kid, alg
	var b bytes.Buffer
	b.WriteString(magicIndex)
	b.Write(compact)
	b.WriteByte('\n')
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("snapshot: writing index: %w", err)
	}
	return nil
}

// ReadIndex reads an index file (at most [MaxIndexBytes]), verifies its
// signature with keys and validates it; lim (nil means [DefaultLimits])
// bounds the file lengths it may name. Errors wrap the same sentinels as
// [ReadHeader].
func ReadIndex(r io.Reader, keys Keys, lim *Limits) (*Index, error) {
	l := lim.withDefaults()
	b, err := io.ReadAll(io.LimitReader(r, MaxIndexBytes+1))
	if err != nil {
		return nil, fmt.Errorf("snapshot: reading index: %w", err)
	}
	if len(b) > MaxIndexBytes {
		return nil, fmt.Errorf("%w: index is larger than %d bytes", ErrTooLarge, MaxIndexBytes)
	}
	if err := readMagic(bytes.NewReader(b), magicIndex); err != nil {
		return nil, err
	}
	line, ok := bytes.CutSuffix(b[len(magicIndex):], []byte("\n"))
	if !ok {
		return nil, malformed("index does not end with a newline")
	}
	if bytes.IndexByte(line, '\n') >= 0 {
		return nil, malformed("data follows the index's signed line")
	}
	payload, kid, alg, err := verify(line, typIndex, keys)
	if err != nil {
		return nil, err
	}
	ix, err := parseIndexPayload(payload, l)
	if err != nil {
		return nil, err
	}
	ix.KeyID, ix.Algorithm = kid, alg
	return ix, nil
}

// parseIndexPayload decodes and validates an index payload.
func parseIndexPayload(payload []byte, l Limits) (*Index, error) {
	fields, err := checkObject(payload, indexFields)
	if err != nil {
		return nil, err
	}
	for _, f := range requiredIndexFields {
		if !fields[f] {
			return nil, malformed("index lacks %q", f)
		}
	}
	var wi wireIndex
	if err := json.Unmarshal(payload, &wi); err != nil {
		return nil, jsonError("index", err)
	}
	ix := &Index{
		Version: wi.V, Publisher: wi.Publisher, Issuers: wi.Issuers, Serial: wi.Serial,
		ThisUpdate: wi.ThisUpdate.t, NextUpdate: wi.NextUpdate.t,
		Full: IndexFile(wi.Full),
	}
	for _, d := range wi.Deltas {
		ix.Deltas = append(ix.Deltas, IndexFile(d))
	}
	if wi.ListDigest != nil {
		if wi.ListDigest.IsZero() {
			return nil, malformed("index: list_digest is zero")
		}
		ix.ListDigest = *wi.ListDigest
	}
	if err := ix.validate(l); err != nil {
		return nil, err
	}
	return ix, nil
}

func (ix *Index) validate(lim Limits) error {
	if ix.Version != Version {
		return fmt.Errorf("%w: format version %d", ErrUnsupportedVersion, ix.Version)
	}
	if err := checkNames(ix.Publisher, ix.Issuers); err != nil {
		return err
	}
	if err := checkSerial("serial", ix.Serial); err != nil {
		return err
	}
	if err := checkDates(ix.ThisUpdate, ix.NextUpdate); err != nil {
		return err
	}
	if len(ix.Deltas) > MaxIndexDeltas {
		return fmt.Errorf("%w: index lists %d deltas (at most %d)", ErrTooLarge, len(ix.Deltas), MaxIndexDeltas)
	}
	maxFile := lim.MaxBodyBytes + int64(lim.MaxHeaderBytes) + int64(len(magicSnapshot)) + 1
	if maxFile < 0 {
		maxFile = 1<<63 - 1
	}
	f := ix.Full
	if f.Kind != KindFull || f.BaseSerial != 0 {
		return malformed("index: the full snapshot entry has kind %q", clip(string(f.Kind)))
	}
	if err := checkSerial("full serial", f.Serial); err != nil {
		return err
	}
	if f.Serial > ix.Serial {
		return malformed("index: full snapshot serial %d is above the index serial %d", f.Serial, ix.Serial)
	}
	if err := checkIndexFile(f, FullName(f.Serial), maxFile); err != nil {
		return err
	}
	bases := map[uint64]bool{}
	for _, d := range ix.Deltas {
		if d.Kind != KindDelta || d.Serial != ix.Serial {
			return malformed("index: delta %q is not a delta to serial %d", clip(d.Name), ix.Serial)
		}
		if err := checkSerial("delta base serial", d.BaseSerial); err != nil {
			return err
		}
		if d.BaseSerial >= d.Serial {
			return malformed("index: delta base %d is not below %d", d.BaseSerial, d.Serial)
		}
		if bases[d.BaseSerial] {
			return malformed("index: two deltas from serial %d", d.BaseSerial)
		}
		bases[d.BaseSerial] = true
		if err := checkIndexFile(d, DeltaName(d.BaseSerial, d.Serial), maxFile); err != nil {
			return err
		}
	}
	return nil
}

func checkIndexFile(f IndexFile, name string, maxFile int64) error {
	if f.Name != name {
		return malformed("index: file name %q, want %q", clip(f.Name), name)
	}
	if f.Length <= 0 {
		return malformed("index: %s has length %d", name, f.Length)
	}
	if f.Length > maxFile {
		return fmt.Errorf("%w: index names %s of %d bytes (limit %d)", ErrTooLarge, name, f.Length, maxFile)
	}
	return nil
}

package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// MaxCheckpointBytes bounds a checkpoint file.
const MaxCheckpointBytes = 64 << 10

// CheckpointName returns the file name of the checkpoint of serial:
// "checkpoint-<serial>.jws" with the serial zero-padded to 20 digits.
func CheckpointName(serial uint64) string { return fmt.Sprintf("checkpoint-%020d.jws", serial) }

// ParseCheckpointName returns the serial of a file named by
// [CheckpointName], and whether name is one.
func ParseCheckpointName(name string) (uint64, bool) {
	rest, ok := strings.CutPrefix(name, "checkpoint-")
	if !ok {
		return 0, false
	}
	rest, ok = strings.CutSuffix(rest, ".jws")
	if !ok || len(rest) != 20 {
		return 0, false
	}
	s, err := strconv.ParseUint(rest, 10, 64)
	if err != nil || CheckpointName(s) != name || s < 1 || s > MaxSerial {
		return 0, false
	}
	return s, true
}

// Checkpoint is the small signed file a publisher writes beside each
// serial: it binds the serial and its list to the head of the publisher's
// audit trail at publication time, so that a later rewrite of the trail
// is provable from the published files alone.
type Checkpoint struct {
	// Version is [Version].
	Version int
	// Publisher, Serial, ThisUpdate, ListDigest and ListCount are those
	// of the snapshots of the serial.
	Publisher  string
	Serial     uint64
	ThisUpdate time.Time
	ListDigest Digest
	ListCount  uint64
	// AuditSeq is the number of records in the publisher's audit trail
	// (the sequence number of the last), AuditHead the last record's hash.
	AuditSeq  uint64
	AuditHead Digest
	// KeyID and Algorithm come from the JWS protected header.
	KeyID     string
	Algorithm string
}

type wireCheckpoint struct {
	V          int       `json:"v"`
	Publisher  string    `json:"publisher"`
	Serial     uint64    `json:"serial"`
	ThisUpdate wireTime  `json:"this_update"`
	ListDigest Digest    `json:"list_digest"`
	ListCount  uint64    `json:"list_count"`
	AuditSeq   uint64    `json:"audit_seq"`
	AuditHead  Digest    `json:"audit_head"`
	Crit       *[]string `json:"crit,omitempty"`
}

var checkpointFields = map[string]bool{
	"v": true, "publisher": true, "serial": true, "this_update": true, "list_digest": true,
	"list_count": true, "audit_seq": true, "audit_head": true, "crit": true,
}

var requiredCheckpointFields = []string{"v", "publisher", "serial", "this_update", "list_digest", "list_count", "audit_seq", "audit_head"}

// CheckpointPayload returns the JSON payload WriteCheckpoint signs for c
// (members in the specified order, no white space).
func CheckpointPayload(c *Checkpoint) ([]byte, error) {
	if c == nil {
		return nil, errors.New("snapshot: nil checkpoint")
	}
	if c.Version == 0 {
		c.Version = Version
	}
	c.ThisUpdate = c.ThisUpdate.UTC().Truncate(time.Second)
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("snapshot: refusing to write an invalid checkpoint: %w", err)
	}
	return json.Marshal(wireCheckpoint{
		V: c.Version, Publisher: c.Publisher, Serial: c.Serial, ThisUpdate: wireTime{c.ThisUpdate},
		ListDigest: c.ListDigest, ListCount: c.ListCount, AuditSeq: c.AuditSeq, AuditHead: c.AuditHead,
	})
}

// WriteCheckpoint writes c signed by key: the magic line
// "crlverify-checkpoint-v1", then the compact JWS and a newline. It sets
// c.Version (when 0), c.KeyID and c.Algorithm, and truncates the time to
// whole seconds.
func WriteCheckpoint(w io.Writer, c *Checkpoint, key jwk.Key) error {
	payload, err := CheckpointPayload(c)
	if err != nil {
		return err
	}
	compact, kid, alg, err := sign(payload, typCheckpoint, key)
	if err != nil {
		return err
	}
	c.KeyID, c.Algorithm = kid, alg
	var b bytes.Buffer
	b.WriteString(magicCheckpoint)
	b.Write(compact)
	b.WriteByte('\n')
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("snapshot: writing checkpoint: %w", err)
	}
	return nil
}

// ReadCheckpoint reads a checkpoint file (at most [MaxCheckpointBytes]),
// verifies its signature with keys and validates it. Errors wrap the same
// sentinels as [ReadIndex].
func ReadCheckpoint(r io.Reader, keys Keys) (*Checkpoint, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxCheckpointBytes+1))
	if err != nil {
		return nil, fmt.Errorf("snapshot: reading checkpoint: %w", err)
	}
	if len(b) > MaxCheckpointBytes {
		return nil, fmt.Errorf("%w: checkpoint is larger than %d bytes", ErrTooLarge, MaxCheckpointBytes)
	}
	if err := readMagic(bytes.NewReader(b), magicCheckpoint); err != nil {
		return nil, err
	}
	line, ok := bytes.CutSuffix(b[len(magicCheckpoint):], []byte("\n"))
	if !ok {
		return nil, malformed("checkpoint does not end with a newline")
	}
	if bytes.IndexByte(line, '\n') >= 0 {
		return nil, malformed("data follows the checkpoint's signed line")
	}
	payload, kid, alg, err := verify(line, typCheckpoint, keys)
	if err != nil {
		return nil, err
	}
	c, err := parseCheckpointPayload(payload)
	if err != nil {
		return nil, err
	}
	c.KeyID, c.Algorithm = kid, alg
	return c, nil
}

func parseCheckpointPayload(payload []byte) (*Checkpoint, error) {
	fields, err := checkObject(payload, checkpointFields)
	if err != nil {
		return nil, err
	}
	for _, f := range requiredCheckpointFields {
		if !fields[f] {
			return nil, malformed("checkpoint lacks %q", f)
		}
	}
	var wc wireCheckpoint
	if err := json.Unmarshal(payload, &wc); err != nil {
		return nil, jsonError("checkpoint", err)
	}
	c := &Checkpoint{
		Version: wc.V, Publisher: wc.Publisher, Serial: wc.Serial, ThisUpdate: wc.ThisUpdate.t,
		ListDigest: wc.ListDigest, ListCount: wc.ListCount, AuditSeq: wc.AuditSeq, AuditHead: wc.AuditHead,
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Checkpoint) validate() error {
	if c.Version != Version {
		return fmt.Errorf("%w: format version %d", ErrUnsupportedVersion, c.Version)
	}
	if err := checkName("publisher", c.Publisher); err != nil {
		return err
	}
	if err := checkSerial("serial", c.Serial); err != nil {
		return err
	}
	if t := c.ThisUpdate; t.Year() < 1 || t.Year() > 9999 || t.Nanosecond() != 0 {
		return malformed("time %v is not a whole second in years 1..9999", t)
	}
	if err := checkSerial("audit_seq", c.AuditSeq); err != nil {
		return err
	}
	if c.ListCount > MaxSerial {
		return malformed("list_count %d is outside 0..2^53-1", c.ListCount)
	}
	return nil
}

package registry

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/crlverify/crlverify/snapshot"
)

// MaxCheckpoints bounds how many checkpoint files [Registry.VerifyCheckpoints]
// reads from one directory.
const MaxCheckpoints = 1 << 20

// CheckpointResult is one signed checkpoint compared with the audit trail.
type CheckpointResult struct {
	Name      string          `json:"name"`
	Serial    uint64          `json:"serial"`
	AuditSeq  uint64          `json:"audit_seq"`
	AuditHead snapshot.Digest `json:"audit_head"`
	// OK: the trail's record AuditSeq hashes to AuditHead.
	OK bool `json:"ok"`
}

// CheckpointReport says what [Registry.VerifyCheckpoints] checked.
type CheckpointReport struct {
	Checkpoints []CheckpointResult `json:"checkpoints"`
}

// ReadCheckpoints reads every checkpoint file ("checkpoint-<serial>.jws")
// in the publication directory dir, verifying each with keys, oldest
// serial first. A checkpoint that does not verify is an error naming it.
func ReadCheckpoints(dir string, keys snapshot.Keys) ([]*snapshot.Checkpoint, []string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("registry: publication directory: %w", err)
	}
	type named struct {
		serial uint64
		name   string
	}
	var files []named
	for _, de := range des {
		if s, ok := snapshot.ParseCheckpointName(de.Name()); ok && de.Type().IsRegular() {
			if len(files) >= MaxCheckpoints {
				return nil, nil, fmt.Errorf("registry: %s holds more than %d checkpoints", dir, MaxCheckpoints)
			}
			files = append(files, named{s, de.Name()})
		}
	}
	slices.SortFunc(files, func(a, b named) int { return cmpU64(a.serial, b.serial) })
	out := make([]*snapshot.Checkpoint, 0, len(files))
	names := make([]string, 0, len(files))
	for _, f := range files {
		c, err := readCheckpointFile(filepath.Join(dir, f.name), keys)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f.name, err)
		}
		if c.Serial != f.serial {
			return nil, nil, fmt.Errorf("%s: %w: it is the checkpoint of serial %d", f.name, snapshot.ErrMalformed, c.Serial)
		}
		out = append(out, c)
		names = append(names, f.name)
	}
	return out, names, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// readDirIndex reads the signed index of the publication directory dir,
// verified with keys; nil when there is none.
func readDirIndex(dir string, keys snapshot.Keys) (*snapshot.Index, error) {
	f, err := os.Open(filepath.Join(dir, snapshot.IndexName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	defer f.Close()
	ix, err := snapshot.ReadIndex(f, keys, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", snapshot.IndexName, err)
	}
	return ix, nil
}

func readCheckpointFile(path string, keys snapshot.Keys) (*snapshot.Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return snapshot.ReadCheckpoint(f, keys)
}

// VerifyCheckpoints proves the audit trail consistent with every signed
// checkpoint in the publication directory dir: for each, the trail has at
// least audit_seq records and the hash of record audit_seq, recomputed
// along the chain from record 1, is the checkpoint's audit_head. Keys are
// the publisher's public keys (a checkpoint that does not verify is an
// error wrapping a snapshot error). The first checkpoint that does not
// hold is an *AuditError naming its record: the trail was rewritten at or
// before it, after the record of the last checkpoint that holds. The
// checkpoint of the serial of dir's signed index must be there (it is
// written before the index; an index without a list digest predates
// checkpoints). Run
// [Registry.VerifyAudit] too: it proves the records consistent with their
// items and the registry's state, which this check does not.
func (r *Registry) VerifyCheckpoints(dir string, keys snapshot.Keys) (CheckpointReport, error) {
	var rep CheckpointReport
	cps, names, err := ReadCheckpoints(dir, keys)
	if err != nil {
		return rep, err
	}
	// The signed index is written after its serial's checkpoint: an index
	// naming its list digest (one a publisher writing checkpoints made)
	// without that checkpoint beside it means the checkpoint was removed,
	// and with it the proof this check looks for.
	if ix, err := readDirIndex(dir, keys); err != nil {
		return rep, err
	} else if ix != nil && !ix.ListDigest.IsZero() {
		found := false
		for i, c := range cps {
			if c.Serial == ix.Serial {
				found = true
				if c.ListDigest != ix.ListDigest {
					return rep, auditBroken(c.AuditSeq, "%s does not sign the list the index of serial %d names", names[i], ix.Serial)
				}
			}
		}
		if !found {
			return rep, auditBroken(0, "the signed index of %s is of serial %d, and its checkpoint %s is missing (removed?): the trail cannot be compared with what that publication signed",
				dir, ix.Serial, snapshot.CheckpointName(ix.Serial))
		}
	}
	if len(cps) == 0 {
		return rep, nil
	}
	err = r.view(func(t *txc) error {
		publisher := string(t.meta.Get(metaPublisher))
		head, err := t.auditHead()
		if err != nil {
			return err
		}
		// The hashes of the checkpointed records, recomputed along the chain.
		want := map[uint64]bool{}
		var maxSeq uint64
		for _, c := range cps {
			want[c.AuditSeq] = true
			maxSeq = max(maxSeq, c.AuditSeq)
		}
		got := map[uint64]Hash{}
		var prev Hash
		var next uint64 = 1
		if err := t.walkAudit(1, func(rec *AuditRecord) error {
			if rec.Seq != next {
				return auditBroken(next, "record %d is missing", next)
			}
			next++
			rec.PrevHash = prev
			prev = rec.ComputeHash()
			if want[rec.Seq] {
				got[rec.Seq] = prev
			}
			if rec.Seq >= maxSeq {
				return errStopWalk
			}
			return nil
		}); err != nil && err != errStopWalk {
			return err
		}
		lastOK := uint64(0)
		for i, c := range cps {
			res := CheckpointResult{Name: names[i], Serial: c.Serial, AuditSeq: c.AuditSeq, AuditHead: c.AuditHead}
			h, have := got[c.AuditSeq]
			res.OK = have && snapshot.Digest(h) == c.AuditHead && (publisher == "" || publisher == c.Publisher)
			rep.Checkpoints = append(rep.Checkpoints, res)
			if res.OK {
				lastOK = c.AuditSeq
				continue
			}
			since := "from record 1"
			if lastOK > 0 {
				since = fmt.Sprintf("after record %d (the last signed head that holds)", lastOK)
			}
			switch {
			case publisher != "" && publisher != c.Publisher:
				return auditBroken(c.AuditSeq, "%s was signed for publisher %q, this registry publishes as %q", names[i], c.Publisher, publisher)
			case !have:
				return auditBroken(head.seq+1, "publication of serial %d (%s) committed to %d audit records; the registry has %d: its trail lacks records %d to %d (restored from an older copy?)",
					c.Serial, names[i], c.AuditSeq, head.seq, head.seq+1, c.AuditSeq)
			default:
				return auditBroken(c.AuditSeq, "the trail is not the one publication of serial %d signed (%s): record %d hashes to %s, the checkpoint says %s; a record %s up to this one was changed",
					c.Serial, names[i], c.AuditSeq, h, c.AuditHead, since)
			}
		}
		return nil
	})
	return rep, err
}

var errStopWalk = errors.New("registry: stop")

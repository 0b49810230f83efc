package trust

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// registryEntry is one issuer of a PathCheck trust registry ("DIVOC"
// section of github.com/Path-Check/trust-registry).
type registryEntry struct {
	DisplayName map[string]string `json:"displayName"`
	Status      string            `json:"status"`
	DIDDocument string            `json:"didDocument"`
}

// ImportRegistry adds the issuers of a PathCheck trust registry's DIVOC
// section (verification method -> displayName, status, didDocument with a
// PEM key) and returns the verification methods imported, sorted. An
// issuer whose status is not "current" is imported terminated.
//
// The registry's validFromDT is not used as a key window: it is when the
// key was listed, and issuers signed with these keys long before.
func (s *Store) ImportRegistry(b []byte) ([]string, error) {
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%w: registry is %d bytes, the limit is %d", ErrTooLarge, len(b), MaxFileSize)
	}
	var reg map[string]registryEntry
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&reg); err != nil {
		return nil, fmt.Errorf("%w: registry: %v", ErrMalformed, err)
	}
	// Check everything before changing anything.
	for vm, e := range reg {
		if err := checkVM(vm); err != nil {
			return nil, err
		}
		if _, _, err := ParseKey([]byte(e.DIDDocument)); err != nil {
			return nil, fmt.Errorf("registry: %s: %w", vm, err)
		}
	}
	var vms []string
	for vm, e := range reg {
		st := StatusActive
		if e.Status != "current" {
			st = StatusTerminated
		}
		if _, _, err := s.Add(vm, []byte(e.DIDDocument), &KeyOptions{Status: st}); err != nil {
			return nil, fmt.Errorf("registry: %s: %w", vm, err)
		}
		if name := e.DisplayName["en"]; name != "" {
			if err := s.SetName(vm, name); err != nil {
				return nil, err
			}
		}
		vms = append(vms, vm)
	}
	slices.Sort(vms)
	return vms, nil
}

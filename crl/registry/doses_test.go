package registry

import (
	"errors"
	"testing"

	"github.com/crlverify/crlverify/crl"
)

func TestCheckDoses(t *testing.T) {
	for _, c := range []struct {
		doses  []int
		latest int
		ok     bool
	}{
		{[]int{2}, 2, true},
		{[]int{1, 2}, 2, true},
		{[]int{3, 2}, 3, true},
		{[]int{1}, 2, false},    // leaves dose 2 standing
		{[]int{1, 3}, 3, false}, // not consecutive
		{[]int{2, 2}, 2, false},
		{[]int{0, 1}, 1, false},
		{nil, 1, false},
	} {
		err := CheckDoses(c.doses, c.latest)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrDoses)) {
			t.Errorf("CheckDoses(%v, %d) = %v", c.doses, c.latest, err)
		}
	}
}

func TestRevokeDoses(t *testing.T) {
	r, _ := openTest(t)
	certs := map[int]string{1: "C-1", 2: "C-2", 3: "C-3"}
	if _, err := r.RevokeDoses(DoseRevocation{Issuer: "moh", Certificates: certs, Doses: []int{1, 2}}); !errors.Is(err, ErrDoses) {
		t.Fatalf("revoking doses 1-2 of 3: %v", err)
	}
	res, err := r.RevokeDoses(DoseRevocation{Issuer: "moh", Certificates: certs, Doses: []int{2, 3}, Reason: crl.ReasonFaultyBatch})
	if err != nil || res.Changed != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	if _, ok, _ := r.Lookup("moh", "C-1"); ok {
		t.Error("dose 1 revoked")
	}
	if res, err = r.RevokeDoses(DoseRevocation{Issuer: "moh", Certificates: certs, All: true}); err != nil || res.Changed != 3 {
		t.Fatalf("all doses: %+v %v", res, err)
	}
}

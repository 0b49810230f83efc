package dcc

// base45Alphabet is the alphabet of RFC 9285, in value order: the 45
// characters of QR code alphanumeric mode.
const base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// base45Value maps a byte to its base45 value, or 0xff for a byte outside
// the alphabet (lower-case letters included).
var base45Value = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(base45Alphabet); i++ {
		t[base45Alphabet[i]] = byte(i)
	}
	return t
}()

// EncodeBase45 encodes b as RFC 9285 base45: each pair of bytes becomes
// three characters (least significant first), a last single byte two.
func EncodeBase45(b []byte) []byte {
	out := make([]byte, 0, len(b)/2*3+2)
	for len(b) >= 2 {
		n := int(b[0])<<8 | int(b[1])
		out = append(out, base45Alphabet[n%45], base45Alphabet[n/45%45], base45Alphabet[n/2025])
		b = b[2:]
	}
	if len(b) == 1 {
		n := int(b[0])
		out = append(out, base45Alphabet[n%45], base45Alphabet[n/45])
	}
	return out
}

// DecodeBase45 decodes RFC 9285 base45 strictly: only the 45 characters of
// the alphabet (upper case, no white space other than the alphabet's space),
// a length of 3k or 3k+2, every group of three at most 65535 and a final
// group of two at most 255. Errors wrap [ErrBase45]; an input longer than
// [MaxPayloadSize] fails with [ErrTooLarge].
func DecodeBase45(s []byte) ([]byte, error) {
	if len(s) > MaxPayloadSize {
		return nil, wrap(ErrTooLarge, "%d base45 characters, more than %d", len(s), MaxPayloadSize)
	}
	if len(s)%3 == 1 {
		return nil, wrap(ErrBase45, "length %d leaves one character over", len(s))
	}
	out := make([]byte, 0, len(s)/3*2+1)
	for i := 0; i < len(s); i += 3 {
		group := s[i:min(i+3, len(s))]
		n := 0
		for j := len(group) - 1; j >= 0; j-- {
			v := base45Value[group[j]]
			if v == 0xff {
				return nil, wrap(ErrBase45, "character %q at %d is not in the alphabet", group[j], i+j)
			}
			n = n*45 + int(v)
		}
		if len(group) == 3 {
			if n > 0xffff {
				return nil, wrap(ErrBase45, "group %q at %d is %d, more than 65535", group, i, n)
			}
			out = append(out, byte(n>>8), byte(n))
		} else {
			if n > 0xff {
				return nil, wrap(ErrBase45, "final group %q is %d, more than 255", group, n)
			}
			out = append(out, byte(n))
		}
	}
	return out, nil
}

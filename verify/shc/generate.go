package shc

// The fixtures under testdata (an example issuer's key set and revocation
// list, cards in every form, a QR image) are written by the command below
// with the package's own test key; see testdata/README.md.

//go:generate go run ./internal/gen -out testdata

package registry

//go:generate go run ./internal/gendemo -out testdata/demo/certificates.csv

# crlverify — see README.md. Every target works on a fresh clone with Go installed.
GO      ?= go
BIN     ?= bin/crlverify
PKGS    ?= ./...
FUZZTIME ?= 20s

.PHONY: all build test lint vet fmt-check staticcheck race bench fuzz demo generate clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/crlverify

## test: the gate CI runs: formatting, vet, staticcheck, and every test under the race detector.
test: fmt-check vet staticcheck race

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(GO) tool staticcheck $(PKGS)

race:
	$(GO) test -race -count=1 $(PKGS)

## bench: the size and speed report (see README "Figures"): every Go benchmark once over.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m $(PKGS)

## fuzz: run every Fuzz target for FUZZTIME each.
fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg; \
	  done; done

## generate: rebuild the committed test fixtures under testdata/ (deterministic).
generate:
	$(GO) generate $(PKGS)

## demo: build, then run the whole job end to end on built-in sample data
## (testdata/): an authority publishes, a verifier syncs, a field officer scans.
## Each step shows the command it runs; exit codes are checked.
DEMO_DIR ?= $(shell mktemp -d 2>/dev/null || echo /tmp/crlverify-demo)
demo: build
	@set -eu; b="$(abspath $(BIN))"; d="$(DEMO_DIR)"; rm -rf "$$d"; mkdir -p "$$d"; \
	run() { want=$$1; shift; printf '\n$$ crlverify %s\n' "$$*" | sed "s|$$d|DEMO|g"; \
	  rc=0; out=$$("$$b" "$$@" 2>&1) || rc=$$?; printf '%s\n' "$$out" | sed "s|$$d|DEMO|g"; \
	  if [ "$$rc" != "$$want" ]; then echo "demo: exit code $$rc, expected $$want" >&2; exit 1; fi; \
	  echo "(exit $$rc)"; }; \
	echo "== Authority: a signing key, the issued certificates, revocations by DIVOC's rules"; \
	run 0 keygen --out "$$d/keys"; \
	run 0 registry import --registry "$$d/registry.db" crl/registry/testdata/demo/certificates.csv; \
	run 2 revoke --registry "$$d/registry.db" --beneficiary 91000000000001 --doses 1 --reason dataError; \
	run 0 revoke --registry "$$d/registry.db" --beneficiary 91000000000001 --doses 2,3 --reason dataError --note "name misspelt"; \
	run 0 revoke --registry "$$d/registry.db" --batch EX-7790 --note "recall 2026-114"; \
	run 0 suspend --registry "$$d/registry.db" --id 9100000000010 --until +720h --note "under review"; \
	run 0 registry show --registry "$$d/registry.db" --beneficiary 91000000000001; \
	run 0 revoke --registry "$$d/registry.db" --from-file testdata/demo/revocations.csv; \
	run 0 revocations --registry "$$d/registry.db" --until 2025-06-09; \
	run 0 audit verify --registry "$$d/registry.db"; \
	run 0 audit list --registry "$$d/registry.db" --certificate 9100000000003; \
	echo; echo "== Authority: a signed publication"; \
	run 0 publish --registry "$$d/registry.db" --key "$$d/keys/signing.jwk" --out "$$d/pub" --publisher "Demo Health Authority" --issuer https://cowin.gov.in/; \
	run 0 inspect "$$d/pub/index.jws" --jwks "$$d/keys/publisher.jwks"; \
	echo; echo "== Verifier: download and verify the list, then check offline"; \
	run 0 sync --from "$$d/pub" --jwks "$$d/keys/publisher.jwks" --issuers https://cowin.gov.in/,https://divoc.dev/,https://expiring.example/ --store "$$d/store.db"; \
	echo; echo "== Authority: one more revocation; the next sync fetches only a delta"; \
	run 0 revoke --registry "$$d/registry.db" --issuer https://cowin.gov.in/ --id DEMO-BATCH-0001 --reason faultyBatch; \
	run 0 publish --registry "$$d/registry.db" --key "$$d/keys/signing.jwk" --out "$$d/pub"; \
	run 0 sync --from "$$d/pub" --jwks "$$d/keys/publisher.jwks" --store "$$d/store.db"; \
	run 0 status --store "$$d/store.db"; \
	run 1 check --store "$$d/store.db" --issuer https://cowin.gov.in/ DEMO-BATCH-0001; \
	echo; echo "== Field officer: scan QR photos, offline"; \
	run 0 scan --trust testdata/trust.json --store "$$d/store.db" testdata/divoc/qr/valid.png; \
	run 1 scan --trust testdata/trust.json --store "$$d/store.db" testdata/divoc/qr/revoked.png; \
	run 1 scan --trust testdata/trust.json --store "$$d/store.db" testdata/divoc/qr/tampered.png; \
	echo; echo "== The same trust store and scan for SMART Health Cards and EU certificates (clocks pinned)"; \
	cp testdata/trust.json "$$d/trust.json"; \
	run 0 trust add --trust "$$d/trust.json" https://shc.example.org/issuer verify/shc/testdata/issuer/.well-known/jwks.json --name "Example Health"; \
	run 0 trust add --trust "$$d/trust.json" XA verify/dcc/testdata/example-dsc.pem --name "Example Health Authority"; \
	run 0 sync --from verify/shc/testdata/issuer/.well-known/crl/vfeLDcXEQL5i0d2chkSDDbETJ0cCWkx9e8ILpsM1Lr8.json --trust "$$d/trust.json" --store "$$d/store.db"; \
	run 1 scan --trust "$$d/trust.json" --store "$$d/store.db" --at 2024-06-01T00:00:00Z verify/shc/testdata/valid.png verify/shc/testdata/revoked.txt; \
	run 3 scan --trust "$$d/trust.json" --store "$$d/store.db" --at 2026-06-01T00:00:00Z verify/dcc/testdata/vaccination-aztec.png; \
	rm -rf "$$d"; echo; echo "demo: every step gave the expected result"

clean:
	rm -rf bin

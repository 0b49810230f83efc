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

## demo: build, then run the whole job end to end on built-in sample data.
demo: build
	./scripts/demo.sh $(BIN)

clean:
	rm -rf bin

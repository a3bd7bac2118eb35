# shadowvault: `make run` serves a local repository in ./shadowvault-data;
# `make test` runs every test, installing what the tests need first.
GO       ?= go
BIN      := bin/shadowvault
export SHADOWVAULT_CACHE ?= $(HOME)/.cache/shadowvault

.PHONY: run build test test-full test-race deps lint bench clean

build:
	$(GO) build -o $(BIN) ./cmd/shadowvault

run: build
	./$(BIN) serve

deps:
	./scripts/ensure-deps.sh
	./scripts/ensure-minio.sh >/dev/null

# The full pass runs everything; the race pass runs everything but the few
# tests that move a gigabyte (they check dedup ratios, not concurrency).
test: deps lint test-full test-race

test-full:
	$(GO) test -count=1 -timeout 20m ./...

test-race:
	$(GO) test -count=1 -race -short -timeout 20m ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...
	GOOS=windows $(GO) build ./...

bench: deps build
	./scripts/ensure-deps.sh bench
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./bench/ ./ingest/ ./repo/...

clean:
	rm -rf bin

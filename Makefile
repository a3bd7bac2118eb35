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
	./scripts/ensure-staticcheck.sh >/dev/null

# The full pass runs everything; the race pass runs everything but the few
# tests that move a gigabyte (they check dedup ratios, not concurrency).
test: deps lint test-full test-race

# The dashboard's browser tests (internal/uibrowser) fail rather than skip
# here when Chromium is missing.
test-full:
	SHADOWVAULT_REQUIRE_BROWSER=1 $(GO) test -count=1 -timeout 20m ./...

test-race:
	SHADOWVAULT_REQUIRE_BROWSER=1 $(GO) test -count=1 -race -short -timeout 20m ./...

# lint: formatting, vet, the windows build, staticcheck (pinned, see
# scripts/ensure-staticcheck.sh) for linux and windows, and the import rules
# (internal/layering).
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...
	GOOS=windows $(GO) build ./...
	sc=$$(./scripts/ensure-staticcheck.sh) && $$sc ./... && GOOS=windows $$sc ./...
	$(GO) test -count=1 ./internal/layering/

# bench: the micro-benchmarks (ingest pipeline, pack writing, index lookups,
# restore), the in-process HTTP ingest and server RSS benchmarks, then the
# comparison with restic 0.18.1 (built once by scripts/ensure-restic.sh),
# restic 0.14 (Debian) and borg on a generated multi-VM corpus (cached in
# $(SHADOWVAULT_CACHE)/bench-corpus), full and incremental, and the
# incremental-forever chain (bench/chain_test.go), and one large disk alone
# against the chunker on one core (bench/onedisk_test.go,
# SHADOWVAULT_BENCH_ONEDISK_MIB, default 2048); the tables are printed and
# saved in bench/results/. Bigger: SHADOWVAULT_BENCH_SCALE=3,
# SHADOWVAULT_BENCH_REPEAT=3 (see bench/compare_test.go for the knobs).
# BenchmarkPruneLarge prunes a repository of 100k small chunks (built once
# into $(SHADOWVAULT_CACHE)/prune-repo); SHADOWVAULT_BENCH_PRUNE_CHUNKS=1000000
# is the million-chunk case (about 4 minutes to build the first time):
#   SHADOWVAULT_BENCH_PRUNE_CHUNKS=1000000 go test -run '^$$' -bench PruneLarge -benchtime 1x ./bench/
bench: deps build
	./scripts/ensure-deps.sh bench
	./scripts/ensure-restic.sh >/dev/null
	$(GO) test -run '^$$' -bench . -timeout 30m ./ingest/ ./repo/... ./index/
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./bench/
	SHADOWVAULT_BENCH_RESTIC=$$(./scripts/ensure-restic.sh) SHADOWVAULT_BENCH_COMPARE=1 \
		$(GO) test -count=1 -run '^(TestCompare|TestIncrementalChain|TestOneDisk)$$' -v -timeout 120m ./bench/

clean:
	rm -rf bin

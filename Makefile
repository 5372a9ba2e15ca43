# fmam: the two commands the README opens with are `make demo` and `make test`.
GO ?= go
# pipefail in recipes needs bash.
SHELL := /bin/bash
BIN := bin/fmam

.PHONY: setup build demo test bench bench-torch proto clean

## setup: install the pinned ONNX Runtime library into the cache (idempotent)
setup:
	@scripts/setup-ort.sh >/dev/null

## build: compile the fmam binary into bin/
build:
	$(GO) build -o $(BIN) ./cmd/fmam

## demo: set up, build, and run the embedded demo end to end
demo: setup build
	$(BIN) run --run runs/demo

## test: set up and run every test; the summary lists skipped tests and ends "N passed, N failed, N skipped"
## (under CI=true, or FMAM_REQUIRE=ort,shared,ffmpeg,python-onnx,slurm,chromium, a missing dependency fails its tests instead of skipping)
test: setup
	@mkdir -p bin
	$(GO) build -o bin/testsum ./internal/testsum
	set -o pipefail; $(GO) test -count=1 -timeout 30m -json ./... | bin/testsum

## bench: Go benchmarks and the fmam bench of the built-in networks
bench: setup build
	$(GO) test -run '^$$' -bench . -benchtime 3x ./internal/...
	$(BIN) bench --model mnad --width 0.25 --size 64 --batch 4 --threads 2 --conv-floor --json
	$(BIN) bench --model draem --width 0.125 --size 64 --batch 4 --threads 2 --conv-floor --json
	$(BIN) bench --model jigsaw --width 1 --size 64 --batch 32 --threads 2 --steps 3 --warmup 1 --json

## bench-torch: fmam against PyTorch 1.13 (Debian python3-torch), runs alternating, JSON in results/bench/
bench-torch: setup build
	mkdir -p results/bench
	/usr/bin/python3 scripts/bench_compare.py --fmam $(BIN) --model mnad --width 0.25 --rounds 9 > results/bench/mnad.json.tmp && mv results/bench/mnad.json.tmp results/bench/mnad.json
	/usr/bin/python3 scripts/bench_compare.py --fmam $(BIN) --model draem --width 0.125 --rounds 9 > results/bench/draem.json.tmp && mv results/bench/draem.json.tmp results/bench/draem.json
	/usr/bin/python3 scripts/bench_compare.py --fmam $(BIN) --model jigsaw --width 1 --batch 32 --steps 3 --rounds 3 > results/bench/jigsaw.json.tmp && mv results/bench/jigsaw.json.tmp results/bench/jigsaw.json
	/usr/bin/python3 scripts/bench_compare.py --fmam $(BIN) --model pkgnet --k 1 --width 1 --size 32 --batch 64 --steps 3 --rounds 3 > results/bench/pkgnet-k1.json.tmp && mv results/bench/pkgnet-k1.json.tmp results/bench/pkgnet-k1.json
	/usr/bin/python3 scripts/bench_compare.py --fmam $(BIN) --model pkgnet --k 2 --width 1 --size 32 --batch 64 --steps 3 --rounds 3 > results/bench/pkgnet-k2.json.tmp && mv results/bench/pkgnet-k2.json.tmp results/bench/pkgnet-k2.json

## proto: regenerate internal/onnxpb from Debian's onnx.proto
proto:
	scripts/gen-onnx-proto.sh

clean:
	rm -rf bin runs

# fmam: the two commands the README opens with are `make demo` and `make test`.
GO ?= go
BIN := bin/fmam

.PHONY: setup build demo test bench proto clean

## setup: install the pinned ONNX Runtime library into the cache (idempotent)
setup:
	@scripts/setup-ort.sh >/dev/null

## build: compile the fmam binary into bin/
build:
	$(GO) build -o $(BIN) ./cmd/fmam

## demo: set up, build, and run the embedded demo end to end
demo: setup build
	$(BIN) run --run runs/demo

## test: set up and run every test
test: setup
	$(GO) test -count=1 -timeout 30m ./...

## bench: Go benchmarks and the fmam bench of both built-in networks
bench: setup build
	$(GO) test -run '^$$' -bench . -benchtime 3x ./internal/...
	$(BIN) bench --model mnad --width 0.25 --size 64 --batch 4 --threads 2 --json
	$(BIN) bench --model draem --width 0.125 --size 64 --batch 4 --threads 2 --json

## proto: regenerate internal/onnxpb from Debian's onnx.proto
proto:
	scripts/gen-onnx-proto.sh

clean:
	rm -rf bin runs

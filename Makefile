# aws-masker: build, test, lint and benchmark the filter, the host and the bridge.
CARGO  ?= cargo
TARGET := wasm32-wasip1
WASM   := target/$(TARGET)/release/aws_masker.wasm

.PHONY: all build test lint fmt bench dist clean

all: build

## build: the filter (target/wasm32-wasip1/release/aws_masker.wasm)
build: $(WASM)

$(WASM): FORCE
	$(CARGO) build --release --target $(TARGET) -p aws-masker

FORCE:

## test: every test of the workspace, against the freshly built .wasm
test: build
	$(CARGO) test --workspace

## lint: formatting and clippy, native and wasm
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --target $(TARGET) -p aws-masker -- -D warnings

fmt:
	$(CARGO) fmt --all

## bench: the core's criterion benchmarks
bench:
	$(CARGO) bench -p aws-masker

## dist: the release artifact dist/aws-masker-<version>.tar.gz; scripts/check-dist.sh checks it
dist:
	CARGO="$(CARGO)" scripts/dist.sh

clean:
	$(CARGO) clean
	rm -rf dist

# aws-masker: build, test, lint and benchmark the filter, the host and the bridge.
CARGO  ?= cargo
TARGET := wasm32-wasip1
WASM   := target/$(TARGET)/release/aws_masker.wasm

.PHONY: all build test lint fmt bench dist clean run

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

## bench: the core's criterion benchmarks, then the filter through the host (times per request,
##        in-wasm vs native throughput, .wasm size)
bench: build
	$(CARGO) bench -p aws-masker
	$(CARGO) run --release -p wasm-host-tests --example host_bench

## dist: the release artifact dist/aws-masker-<version>.tar.gz; scripts/check-dist.sh checks it
dist:
	CARGO="$(CARGO)" scripts/dist.sh

## run: a local masking gateway (no Kong, no Redis) on $(LISTEN) in front of $(UPSTREAM);
##      make run LISTEN=127.0.0.1:9000 UPSTREAM=https://api.anthropic.com CONFIG=my.json
LISTEN             ?= 127.0.0.1:8000
UPSTREAM           ?= https://api.anthropic.com
EXAMPLE_CONFIG     := target/wasm-host/example-config.json
CONFIG             ?= $(EXAMPLE_CONFIG)
WORKERS            ?= 2
# Must be at least the config's max_body_bytes (4 MiB by default), or larger bodies are blocked as
# unreadable, as in Kong with a small nginx_http_client_body_buffer_size.
CLIENT_BODY_BUFFER ?= 4m
HOST_BIN           := target/release/wasm-host

run: build
	$(CARGO) build --release -p wasm-host-tests --bin wasm-host
	@if [ "$(CONFIG)" = "$(EXAMPLE_CONFIG)" ] && [ ! -f "$(CONFIG)" ]; then \
		mkdir -p "$(dir $(CONFIG))"; \
		umask 077; printf '{"mode":"enforce","token_secret":"%s","max_body_bytes":4194304}\n' \
			"$$(head -c 36 /dev/urandom | base64 | tr -d '\n')" > "$(CONFIG)"; \
		echo "wrote $(CONFIG) with a fresh token_secret (kept for later runs, so placeholders stay stable)"; \
	fi
	@echo ""
	@echo "  aws-masker gateway: http://$(LISTEN) -> $(UPSTREAM)"
	@echo "  point a client at it:   export ANTHROPIC_BASE_URL=http://$(LISTEN)"
	@echo "  try it offline:         $(HOST_BIN) replay --wasm $(WASM) --config $(CONFIG) --request BODY.json --client-body-buffer $(CLIENT_BODY_BUFFER)"
	@echo ""
	$(HOST_BIN) serve --wasm $(WASM) --config "$(CONFIG)" --listen $(LISTEN) --upstream $(UPSTREAM) \
		--workers $(WORKERS) --client-body-buffer $(CLIENT_BODY_BUFFER)

clean:
	$(CARGO) clean
	rm -rf dist

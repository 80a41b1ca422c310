# CUSAX Bridge. The two commands a newcomer needs: `make run` and `make test`.

GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -X main.version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Integration tests start real peers; give the whole suite room on 2 cores.
TEST_TIMEOUT ?= 15m

.PHONY: all build run test unit lint peers bench bench-load fuzz image clean prompts

all: build

## build: compile the bridge binary into bin/bridge
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/bridge ./cmd/bridge

## run: build and start the bridge for a local trial (with a local Prosody when root)
run: build
	scripts/run-local.sh bin/bridge

## peers: install the real SIP/XMPP/Redis peers the integration tests use
peers:
	scripts/install-peers.sh

## test: install the test peers if missing, lint, then run every test under the race detector
test: peers lint
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./...

## unit: the quick run, without the integration tests
unit:
	$(GO) test -short ./...

## lint: gofmt, go vet and staticcheck (pinned)
lint:
	@unformatted=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## bench: run every Go benchmark once (figures go into bench/README.md)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1s ./...

## bench-load: the whole binary under load beside Janus AudioBridge (bench/load; LOAD_ARGS, e.g. -n 100,300 -rounds 2)
LOAD_ARGS ?= -n 100,300 -rounds 2
bench-load: build
	$(GO) run ./bench/load $(LOAD_ARGS)

## prompts: make the voice prompts and tones again (espeak-ng, sox) into prompts/<language>/
prompts:
	scripts/make-prompts.sh prompts

## fuzz: run every Fuzz target of the repo for FUZZTIME each (default 30s); failures land in testdata/fuzz
FUZZTIME ?= 30s
fuzz:
	@set -e; for f in $$(git ls-files --cached --others --exclude-standard '*_test.go'); do \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			echo "== $$t in ./$$(dirname $$f) for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) ./$$(dirname $$f); \
		done; \
	done

## image: build the container image (Dockerfile) as cusax-bridge:$(VERSION)
image:
	docker build --build-arg VERSION=$(VERSION) -t cusax-bridge:$(VERSION) .

clean:
	rm -rf bin

# anyphone: `make run` starts the TUI on an embedded default, `make test`
# installs what the tests need and runs every test (unit, in-process, interop
# with sipp/baresip/kamailio on 127.0.0.1).
SHELL := /bin/bash
GO ?= go
BIN := bin/anyphone
# portaudio and the jitter buffer (SpeexDSP, spandsp) are cgo behind build
# tags; the Makefile turns them on.
TAGS ?= portaudio,speexdsp
# make run needs only what builds the binary; make test installs the peers.
BUILD_PKGS := portaudio19-dev pkg-config libspeexdsp-dev libspandsp-dev libopus-dev libopusfile-dev
TEST_PKGS := sip-tester baresip kamailio kamailio-tls-modules kamailio-presence-modules linphone-cli rtpengine-daemon tmux zsh fish tshark pulseaudio pulseaudio-utils sox
FUZZTIME ?= 60s

.PHONY: help deps deps-build build run test test-unit test-interop bench fuzz soak lint fmt fmt-check vet tidy-check ci clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# apt-install installs the Debian packages of $(1) that are missing.
define apt-install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

deps-build: ## install what the build needs (portaudio headers) and the Go modules
	$(call apt-install,$(BUILD_PKGS))
	@$(GO) mod download

deps: deps-build ## also install the peers the interop and e2e tests need
	$(call apt-install,$(TEST_PKGS))

build: deps-build ## build bin/anyphone
	$(GO) build -tags '$(TAGS)' -o $(BIN) ./cmd/anyphone

run: build ## start the TUI on the embedded default (no registrar, no sound card needed)
	./$(BIN)

test: deps lint build ## install missing tools, lint, then run every test (unit, in-process, interop)
	ANYPHONE_BIN=$(CURDIR)/$(BIN) $(GO) test -tags '$(TAGS)' -race -count=1 -timeout 25m ./...

test-unit: ## fast tests only (no interop peers)
	$(GO) test -count=1 -short ./...

bench: build ## benchmarks side by side with sipp, baresip, rtpengine (see README)
	$(GO) test -tags '$(TAGS)' -p 1 -run '^$$' -bench . ./audio/... ./phone/... ./ui/...
	ANYPHONE_BIN=$(CURDIR)/$(BIN) $(GO) test -tags '$(TAGS)' -run '^$$' -p 1 -bench . -benchtime 1x -timeout 60m -v ./bench/...

fuzz: ## run every fuzz target for FUZZTIME each
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; done

soak: ## 10,000 mixed calls, then goroutines, files and heap back at baseline
	ANYPHONE_SOAK_CALLS=10000 $(GO) test -count=1 -run TestSoak -v -timeout 30m ./soak/

fmt: ## gofmt the tree
	gofmt -w $$(git ls-files '*.go')

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet -tags '$(TAGS)' ./...

# go.mod lists direct requirements in the first block, // indirect only where true.
tidy-check:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }

lint: fmt-check vet tidy-check ## gofmt check + go vet + go mod tidy -diff

ci: test ## what CI runs (.ci/run): make test, which lints first

clean:
	rm -rf bin

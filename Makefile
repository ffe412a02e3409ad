# klab — see `make help`.
SHELL := /bin/bash
GO ?= go
BIN := bin/klab
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
K8S_VERSION := v1.37.2
# The Kubernetes stamps, shared with the release builds (.goreleaser.yaml).
K8S_LDFLAGS := \
	-X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 \
	-X k8s.io/component-base/version.gitMinor=37 \
	-X k8s.io/component-base/version.gitTreeState=clean \
	-X k8s.io/client-go/pkg/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/client-go/pkg/version.gitMajor=1 \
	-X k8s.io/client-go/pkg/version.gitMinor=37
LDFLAGS := -s -w \
	-X github.com/klabdev/klab/internal/cli.version=$(VERSION) \
	-X github.com/klabdev/klab/internal/cli.commit=$(COMMIT) \
	$(K8S_LDFLAGS)
# Release tooling, pinned (v2.17.0 is the newest that builds with Go 1.26;
# later ones need Go 1.27), installed under bin/tools by the targets that use it.
GORELEASER_VERSION := v2.17.0
GORELEASER := $(CURDIR)/bin/tools/goreleaser-$(GORELEASER_VERSION)/goreleaser
# Where `make install-plugin` links kubectl-lab (a directory on PATH).
PLUGIN_DIR ?= $(HOME)/.local/bin
# Tests that need a cluster start bin/klab's sandbox (see sandbox/sandboxtest).
export KLAB_TEST_BIN := $(CURDIR)/$(BIN)
TEST_FLAGS ?= -timeout 45m -p 2
LESSON ?= jobs-cronjobs

# The upstream e2e tests (conformance/): CONFORMANCE_FOCUS is a Ginkgo focus regex (default: the
# sig-apps Job, CronJob and TTLAfterFinished tests), CONFORMANCE_LABELS an extra label filter, e.g.
# 'Conformance && !Slow' for the subset CI runs.
E2E_BIN := bin/e2e.test
CONFORMANCE_FOCUS ?=
CONFORMANCE_LABELS ?=
CONFORMANCE_FLAGS ?=

.PHONY: help build run test bench lint e2e conformance conformance-workloads conformance-node conformance-node-all cross dist dist-all install-plugin clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-22s %s\n", $$1, $$2}'

build: ## Build bin/klab (version stamped)
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/klab

run: build ## Run the Jobs & CronJobs lesson (sandbox when no cluster answers)
	$(BIN) run $(LESSON)

test: build ## Run the whole test suite (cluster tests on the embedded sandbox)
	$(GO) vet ./...
	$(GO) test $(TEST_FLAGS) -ldflags '$(LDFLAGS)' ./...

bench: build ## Run the benchmarks (sandbox start, watch latency, TUI frames)
	$(GO) test -run '^$$' -bench . -benchtime 5x -ldflags '$(LDFLAGS)' ./...

GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(CURDIR)/bin/tools/golangci-lint-$(GOLANGCI_LINT_VERSION)

$(GOLANGCI_LINT):
	@mkdir -p $(dir $@)
	GOBIN=$(CURDIR)/bin/tools $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(CURDIR)/bin/tools/golangci-lint $@

lint: $(GOLANGCI_LINT) ## gofmt, go vet and golangci-lint (pinned, installed in bin/tools from the module proxy)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GOLANGCI_LINT) run ./...

e2e: build ## Drive the TUI in tmux against the sandbox
	$(GO) test -run 'E2E' -v -ldflags '$(LDFLAGS)' ./tui/...

conformance: build $(E2E_BIN) ## Run the upstream Job/CronJob/TTL e2e tests on a private sandbox
	cd conformance && $(GO) run ./run -klab ../$(BIN) -e2e ../$(E2E_BIN) -skip-file skip.txt -out ../out/conformance \
		$(if $(CONFORMANCE_FOCUS),-focus '$(CONFORMANCE_FOCUS)') $(if $(CONFORMANCE_LABELS),-labels '$(CONFORMANCE_LABELS)') $(CONFORMANCE_FLAGS)

conformance-workloads: ## The upstream Deployment, ReplicaSet, StatefulSet and DaemonSet e2e tests on a private sandbox
	$(MAKE) conformance CONFORMANCE_FOCUS='\[sig-apps\] (Deployment|ReplicaSet|StatefulSet|Daemon set) '

conformance-node: ## The upstream [sig-node] Conformance e2e tests on a private sandbox
	$(MAKE) conformance CONFORMANCE_FOCUS='\[sig-node\] ' CONFORMANCE_LABELS='Conformance'

conformance-node-all: ## Every upstream [sig-node] e2e test a default cluster runs (no feature, serial, slow or flaky)
	$(MAKE) conformance CONFORMANCE_FOCUS='\[sig-node\] ' CONFORMANCE_LABELS='Feature: isEmpty && !Slow && !Serial && !Disruptive && !Flaky'

# The e2e test binary is rebuilt only when the suite or its module changes (go test -c relinks otherwise).
$(E2E_BIN): conformance/go.mod conformance/go.sum conformance/conformance_test.go
	cd conformance && $(GO) test -c -ldflags '-s -w $(K8S_LDFLAGS)' -o ../$(E2E_BIN) .


# CROSS_TARGETS: the GOOS/GOARCH pairs `make cross` builds (CI builds darwin/arm64 only: see the README).
CROSS_TARGETS ?= darwin/arm64 darwin/amd64

cross: ## Cross-compile klab for macOS (arm64, amd64; CROSS_TARGETS): type-check and link
	@set -e; for t in $(CROSS_TARGETS); do \
		echo "GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) build -o /dev/null ./cmd/klab"; \
		GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) build -ldflags '$(LDFLAGS)' -o /dev/null ./cmd/klab; \
	done

$(GORELEASER):
	GOBIN=$(dir $(GORELEASER)) $(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)

dist: $(GORELEASER) ## Snapshot release for this machine's target in dist/, then check its archive
	KLAB_DIST_TARGET=$$($(GO) env GOOS)_$$($(GO) env GOARCH) KLAB_K8S_LDFLAGS='$(K8S_LDFLAGS)' $(GORELEASER) release --snapshot --clean
	.ci/dist-check dist

dist-all: $(GORELEASER) ## Snapshot release for Linux and macOS, amd64 and arm64, in dist/
	KLAB_DIST_TARGET=all KLAB_K8S_LDFLAGS='$(K8S_LDFLAGS)' $(GORELEASER) release --snapshot --clean
	.ci/dist-check dist

install-plugin: build ## Link bin/klab as kubectl-lab in PLUGIN_DIR (default ~/.local/bin): `kubectl lab`
	mkdir -p $(PLUGIN_DIR)
	ln -sf $(CURDIR)/$(BIN) $(PLUGIN_DIR)/kubectl-lab
	@echo "kubectl-lab -> $(CURDIR)/$(BIN); run: kubectl lab"

clean: ## Remove build output
	rm -rf bin out dist

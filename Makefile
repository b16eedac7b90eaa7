# vkube — build, run, test, benchmark.
SHELL := /bin/bash
KUBE_VERSION ?= v1.34.2
# The second minor the tests run side by side with the default.
KUBE_VERSION_ALT ?= v1.35.4
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X vkube.io/vkube/version.Version=$(VERSION) -X vkube.io/vkube/version.GitCommit=$(COMMIT)
DATA_DIR ?= $(CURDIR)/.vkube/dev
GO_TEST_FLAGS ?=

.PHONY: build kube-binaries test-deps test test-unit test-integration bench run soak lint clean

## build: the static vkube binary in ./bin/vkube
build:
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/vkube ./cmd/vkube

## kube-binaries: kube-apiserver, kube-controller-manager, kube-scheduler and kubectl of KUBE_VERSION, cached outside the repo
kube-binaries:
	hack/kube-binaries.sh $(KUBE_VERSION)

## test-deps: everything the tests run against: databases, etcd, both Kubernetes versions
test-deps:
	hack/test-deps.sh
	hack/etcd-server.sh
	hack/kube-binaries.sh $(KUBE_VERSION)
	hack/kube-binaries.sh $(KUBE_VERSION_ALT) kube-apiserver kube-controller-manager

## test: unit tests, then integration tests against the real binaries and databases
test: test-deps build test-unit test-integration

test-unit:
	go test $(GO_TEST_FLAGS) $$(go list ./... | grep -v /test/)

test-integration:
	VKUBE_BIN=$(CURDIR)/bin/vkube KUBE_VERSION=$(KUBE_VERSION) KUBE_VERSION_ALT=$(KUBE_VERSION_ALT) \
		go test $(GO_TEST_FLAGS) -timeout 40m -p 1 ./test/...

## bench: one table of start time, memory, write throughput and restart figures, against bare components
bench: test-deps build
	VKUBE_BIN=$(CURDIR)/bin/vkube KUBE_VERSION=$(KUBE_VERSION) go run ./test/bench

## run: a standalone virtual cluster on embedded SQLite (ctrl+c stops it; state stays in DATA_DIR)
run: build kube-binaries
	./bin/vkube start --name dev --data-dir $(DATA_DIR) --port 6443

lint:
	gofmt -l $$(git ls-files '*.go') | (! grep .)
	go vet ./...

clean:
	rm -rf bin .vkube

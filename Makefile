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

## build: the static vkube binary and its pods' /etc/hosts helper (vkube-hosts) in ./bin
build:
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/vkube ./cmd/vkube
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/vkube-hosts ./cmd/vkube-hosts

## kube-binaries: kube-apiserver, kube-controller-manager, kube-scheduler and kubectl of KUBE_VERSION, cached outside the repo
kube-binaries:
	hack/kube-binaries.sh $(KUBE_VERSION)

## test-deps: everything the tests run against: databases, etcd, both Kubernetes versions, the host cluster's parts, helm
test-deps: helm kwok kube-router
	hack/test-deps.sh
	hack/host-deps.sh
	hack/etcd-server.sh
	hack/kube-binaries.sh $(KUBE_VERSION) kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy
	hack/kube-binaries.sh $(KUBE_VERSION_ALT) kube-apiserver kube-controller-manager
	hack/coredns.sh

## helm: the helm CLI (built from the Go module proxy into the cache) for the chart's lint and template tests
.PHONY: helm
helm:
	hack/helm.sh

## kube-router: kube-router (built from the Go module proxy into the cache), whose network policy controller the e2e tests run on the host cluster to show isolation cutting traffic
.PHONY: kube-router
kube-router:
	hack/kube-router.sh

## kwok: kwok and its stages (built from the Go module proxy into the cache), for the host cluster's optional kwok node the sync figures of `make bench` put pods on
.PHONY: kwok
kwok:
	hack/kwok.sh

## test: unit tests, then integration and e2e tests against the real binaries, databases and host cluster (the vkube image loaded into it)
test: test-deps build image test-unit test-integration

test-unit:
	go test $(GO_TEST_FLAGS) $$(go list ./... | grep -v /test/)

test-integration:
	VKUBE_BIN=$(CURDIR)/bin/vkube KUBE_VERSION=$(KUBE_VERSION) KUBE_VERSION_ALT=$(KUBE_VERSION_ALT) HOST_DIR=$(HOST_DIR) \
		go test $(GO_TEST_FLAGS) -timeout 45m -p 1 ./test/...

## kine: kine's own server (built from the Go module proxy into the cache), the bare datastore make bench compares vkube's with
.PHONY: kine
kine:
	hack/kine-server.sh >/dev/null

## bench: one table of start time, memory, write throughput and restart figures, against bare components
bench: test-deps kine build
	VKUBE_BIN=$(CURDIR)/bin/vkube KUBE_VERSION=$(KUBE_VERSION) go run ./test/bench

## run: a standalone virtual cluster on embedded SQLite (ctrl+c stops it; state stays in DATA_DIR)
run: build kube-binaries
	./bin/vkube start --name dev --data-dir $(DATA_DIR) --port 6443

VKUBE_VERSION ?= 0.1.0
IMAGE_REPO ?= ghcr.io/vkube/vkube

.PHONY: image

## image: bin/vkube-image.tar, a docker-archive (docker load, ctr images import) of vkube and the KUBE_VERSION control plane, tagged IMAGE_REPO:VKUBE_VERSION-k8s-KUBE_VERSION; no Docker needed
image: build
	hack/kube-binaries.sh $(KUBE_VERSION) kube-apiserver kube-controller-manager kube-scheduler
	go run ./hack/image --vkube bin/vkube --hosts-helper bin/vkube-hosts --kube-version $(KUBE_VERSION) \
		--tag $(IMAGE_REPO):$(VKUBE_VERSION)-k8s-$(KUBE_VERSION) --out bin/vkube-image.tar

## soak: the long HA run: 10 replica kills on the real host cluster
soak: test-deps build image
	VKUBE_BIN=$(CURDIR)/bin/vkube KUBE_VERSION=$(KUBE_VERSION) HOST_DIR=$(HOST_DIR) VKUBE_HA_KILLS=10 \
		go test $(GO_TEST_FLAGS) -count=1 -run 'TestHA(EmbeddedEtcd|ExternalPostgres|ExternalEtcd)$$' -timeout 90m ./test/e2e/

lint:
	gofmt -l $$(git ls-files '*.go') | (! grep .)
	go vet ./...
	hack/check-imports.sh

clean:
	rm -rf bin .vkube

# The real single-node host cluster the end-to-end tests run on (test/hostcluster). Its state,
# logs and admin kubeconfig (HOST_DIR/kubeconfig.yaml) live in HOST_DIR; needs root.
HOST_DIR ?= $(CURDIR)/.vkube/host
HOST_KUBE_VERSION ?= v1.34.2

.PHONY: host-up host-down host-load-image

## host-up: a host cluster (kubelet, containerd, kube-proxy, CoreDNS, hostPath volumes, LoadBalancer IPs) that keeps running; kubeconfig: HOST_DIR/kubeconfig.yaml
host-up:
	hack/host-deps.sh
	hack/etcd-server.sh
	hack/kube-binaries.sh $(HOST_KUBE_VERSION) kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy
	hack/coredns.sh
	go run ./test/hostcluster/cmd/host-cluster up --dir $(HOST_DIR) --kube-version $(HOST_KUBE_VERSION)

## host-down: stop the host cluster and remove every trace of it (processes, mounts, cgroups, iptables chains, bridge, HOST_DIR)
host-down:
	go run ./test/hostcluster/cmd/host-cluster down --dir $(HOST_DIR)

## host-load-image: import a docker-archive or OCI tarball into the host cluster's containerd: make host-load-image TAR=file.tar
host-load-image:
	@test -n "$(TAR)" || { echo "usage: make host-load-image TAR=file.tar" >&2; exit 2; }
	go run ./test/hostcluster/cmd/host-cluster load-image --dir $(HOST_DIR) $(TAR)

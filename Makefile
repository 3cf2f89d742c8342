# herald's build, tests and demo. `make help` lists the targets.
SHELL := /bin/bash
GO    ?= go
BIN   := $(CURDIR)/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/heraldlb/herald/internal/version.Version=$(VERSION)
CONTROLLER_GEN := $(GO) tool controller-gen
export KUBEBUILDER_ASSETS := $(BIN)

.PHONY: help deps control-plane envtest-assets helm dashboard-linter build images images-check generate chart-crds chart-files verify test test-unit bench demo lab-down clean node-deps e2e-node e2e-node-clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

deps: ## install missing Debian packages (FRR, etcd, network tools)
	@hack/install-deps.sh

control-plane envtest-assets: ## build etcd/kube-apiserver/kubectl for tests into bin/ (cached)
	@hack/build-control-plane.sh

helm: ## build bin/helm from its Go module at a pinned version (cached)
	@hack/build-helm.sh

dashboard-linter: ## build bin/dashboard-linter (grafana's) from its Go module at a pinned version (cached)
	@hack/build-dashboard-linter.sh

build: ## build bin/herald and bin/kubectl-herald
	@echo "==> building bin/herald and bin/kubectl-herald"
	@mkdir -p $(BIN)
	@$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/herald ./cmd/herald
	@$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/kubectl-herald ./cmd/kubectl-herald

images: deps ## herald's images as OCI archives in bin/images: localhost/herald:<VERSION>, localhost/herald-frr:<FRR version> (Debian 13's FRR 10)
	@VERSION='$(VERSION)' LDFLAGS='$(LDFLAGS)' GO='$(GO)' hack/build-images.sh

images-check: images ## import bin/images/*.oci.tar into a private containerd and check the names ctr lists
	@hack/images-import-check.sh

generate: ## regenerate deepcopy code and CRDs (controller-gen, pinned)
	@echo "==> controller-gen: deepcopy and CRDs into config/crd"
	@$(CONTROLLER_GEN) object paths=./api/...
	@$(CONTROLLER_GEN) crd paths=./api/... output:crd:artifacts:config=config/crd
	@$(MAKE) --no-print-directory chart-crds chart-files

chart-files: ## copy config/prometheus/alerts.yaml and config/grafana/herald.json into the Helm chart (charts/herald/files)
	@echo "==> copying the alert rules and the dashboard into charts/herald/files"
	@cp config/prometheus/alerts.yaml charts/herald/files/alerts.yaml
	@cp config/grafana/herald.json charts/herald/files/herald-dashboard.json

chart-crds: ## copy config/crd's CRDs into the Helm chart (charts/herald/crds)
	@echo "==> copying config/crd into charts/herald/crds"
	@rm -f charts/herald/crds/*.yaml
	@cp config/crd/heraldlb.io_*.yaml charts/herald/crds/

verify: ## gofmt and go vet
	@echo "==> gofmt and go vet"
	@test -z "$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go'))" || { gofmt -l $$(git ls-files -co --exclude-standard '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	@$(GO) vet ./...

test: deps control-plane helm dashboard-linter build images verify ## everything: unit, fuzz seeds, envtest, real FRR (8.4 on the host, 10 in the image), images, Helm chart, e2e (as root), the real-node e2e (root or CI)
	@echo "==> go test -race ./... (unit, fuzz seeds, integration against kube-apiserver, real FRR in namespaces)"
	@HERALD_BIN=$(BIN)/herald $(GO) test -race -count=1 -timeout 25m ./...
	@if [ "$$CI" = true ] || [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory e2e-node; \
	 else echo "==> skipping e2e-node: it needs root (a kubelet, containerd and network namespaces); CI=true runs it"; fi

test-unit: ## only the tests that need nothing from the machine
	@$(GO) test -race -short ./...

bench: deps control-plane build ## the benchmarks (Go benchmarks, then e2e/bench commands); each prints a table
	@echo "==> Go benchmarks: allocator, renderer/diff, planner"
	@$(GO) test -run '^$$' -bench . -benchmem ./ipam/ ./frrconfig/ ./speaker/planner/
	@echo "==> e2e/bench/alloc: controller vs the API server's own limit"
	@$(GO) run ./e2e/bench/alloc -n 1000,5000 -rounds 3
	@echo "==> e2e/bench/frrapply: agent apply vs frr-reload.py on real FRR"
	@$(GO) run ./e2e/bench/frrapply -sizes 1000 -changes 20 -reloads 3
	@echo "==> e2e/bench/bgp: announce/withdraw latency, BFD failover, speaker RSS on the lab"
	@$(GO) run ./e2e/bench/bgp
	@echo "==> e2e/bench/l2lab: L2 failover, graceful move, stability on the lab"
	@$(GO) run ./e2e/bench/l2lab

demo: deps control-plane build ## bring up the lab and show a Service announced to a router
	@hack/demo.sh

lab-down: ## take the lab down
	@$(BIN)/herald lab down

node-deps: ## containerd, runc, CNI plugins (Debian) and kubelet, kube-proxy, kube-scheduler, kube-controller-manager (cached)
	@hack/install-node-deps.sh
	@hack/build-node.sh

e2e-node: deps control-plane node-deps images helm ## herald installed as users do (images, kubectl apply -k, helm) on a real kubelet + containerd node, checked from a router
	@echo "==> e2e-node: a kubelet + containerd node in namespace hnode-node, a router (FRR) in hnode-rtr"
	@$(GO) run ./e2e/node

e2e-node-clean: ## remove whatever a killed e2e-node run left (processes, mounts, namespaces, host paths)
	@$(GO) run ./e2e/node -clean

clean: ## remove built binaries (keeps the machine-wide control-plane cache)
	rm -rf $(BIN)

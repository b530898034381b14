# NetDiag: generate, build, test, run and deploy. `make help` lists the targets.
# Settings: make deploy IMG=registry/netdiag-operator:v1 PROBE_IMG=registry/netdiag-probe:v1
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

DOTNET ?= dotnet
KUBECTL ?= kubectl
DOCKER ?= docker
IMG ?= netdiag-operator:dev
PROBE_IMG ?= netdiag-probe:dev
# Namespace for probe Jobs and the Lease when the operator runs outside the cluster (make run).
NAMESPACE ?= netdiag-system
# Extra operator settings for make run, e.g. ARGS="--Operator:EnableRemediation=true".
ARGS ?=

CRD := config/crd/netdiag.io_networkdiagnoses.yaml

export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1

.PHONY: help manifests verify-manifests build test install uninstall deploy undeploy run demo \
	docker-build bench-probe bench-operator

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

##@ Development

manifests: ## Generate the CRD (config/crd) from the API types in src/Entities/Api
	$(DOTNET) run --project tools/CrdGen/CrdGen.csproj -v q -- "$(CURDIR)"

verify-manifests: ## Fail if config/crd is out of date with src/Entities/Api
	$(DOTNET) run --project tools/CrdGen/CrdGen.csproj -v q -- "$(CURDIR)" --check

build: ## Build every project
	$(DOTNET) build NetDiag.Operator.sln -v q --nologo

test: ## Run every test (as root: control plane, network namespaces)
	hack/test.sh

run: ## Run the operator against the current kubeconfig (no leader election)
	$(DOTNET) run --project src/Operator/NetDiag.Operator.csproj -- \
		--Operator:LeaderElection=false --Operator:Namespace=$(NAMESPACE) --Operator:ProbeImage=$(PROBE_IMG) $(ARGS)

demo: ## Run a diagnosis end to end (hack/demo.sh)
	hack/demo.sh

##@ Deployment (current kubeconfig)

install: ## Install the CRD
	$(KUBECTL) apply -f $(CRD)

uninstall: ## Remove the CRD (and with it every NetworkDiagnosis)
	$(KUBECTL) delete -f $(CRD) --ignore-not-found

deploy: ## Install the CRD, RBAC and the operator Deployment (config/default)
ifeq ($(IMG)$(PROBE_IMG),netdiag-operator:devnetdiag-probe:dev)
	$(KUBECTL) apply -k config/default
else
	$(KUBECTL) kustomize config/default \
		| sed -e 's|image: netdiag-operator:dev$$|image: $(IMG)|' -e 's|--Operator:ProbeImage=netdiag-probe:dev$$|--Operator:ProbeImage=$(PROBE_IMG)|' \
		| $(KUBECTL) apply -f -
endif

undeploy: ## Remove what deploy installed
	$(KUBECTL) delete -k config/default --ignore-not-found

docker-build: ## Build the operator and probe images (Dockerfile stages operator, probe)
	$(DOCKER) build --target operator -t $(IMG) .
	$(DOCKER) build --target probe -t $(PROBE_IMG) .

##@ Benchmarks

bench-probe: ## Probe benchmarks (hack/bench/probe.sh)
	@test -x hack/bench/probe.sh || { echo "hack/bench/probe.sh is not there yet" >&2; exit 1; }
	hack/bench/probe.sh

bench-operator: ## Operator benchmarks (hack/bench/operator.sh)
	@test -x hack/bench/operator.sh || { echo "hack/bench/operator.sh is not there yet" >&2; exit 1; }
	hack/bench/operator.sh

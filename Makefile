# tekton-runner: one entry point for installing, running and testing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test test-fast lint typecheck bench image

$(BIN)/tekton-runner: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/tekton-runner

# Serve against the configured cluster; with none configured, start the local control plane first.
run: install
	@if [ -n "$${KUBECONFIG:-}" ] || [ -f "$$HOME/.kube/config" ]; then \
		$(BIN)/tekton-runner serve; \
	else \
		echo "no cluster configured (KUBECONFIG unset, no ~/.kube/config): using the local control plane"; \
		bash cluster/dev.sh; \
	fi

lint: install
	$(BIN)/ruff check tekton_runner tests bench
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

# Benchmarks with their baselines in the same run (figures: docs/benchmarks.md).
bench: install
	$(BIN)/python -m bench.api.run --json bench/api/last-run.json
	$(BIN)/python -m bench.follow.run --json bench/follow/last-run.json
	$(BIN)/python -m bench.follow.logs --json bench/follow/last-logs-run.json
	$(BIN)/python -m bench.scale.run --json bench/scale/last-run.json
	bash bench/forward/run.sh
	$(BIN)/python -m bench.failover.run --json bench/failover/last-run.json

# The runner's image as an OCI layout, built here from Debian's packages and the locked wheels (no Docker;
# needs root). Cached by its inputs; prints the layout's path (docs/install.md "The image").
image: install
	$(BIN)/python cluster/image.py build

# Unit and integration tiers only: no control plane needed.
test-fast: install
	$(BIN)/pytest -m 'not e2e' -q

# The whole suite, the one CI runs: static checks, unit, integration and end-to-end.
test: install lint typecheck
	$(BIN)/pytest -q

-include cluster/cluster.mk

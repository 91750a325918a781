# Local control plane targets (included by the top-level Makefile). See docs/local-control-plane.md.
CLUSTER_PY = $(BIN)/python cluster/ctl.py

.PHONY: cluster-build cluster-up cluster-down cluster-status e2e e2e-real node-up node-down dev

# Build etcd, kube-*, kubectl, kwok, Tekton and the EventListener sink from their Go modules (cached).
cluster-build:
	bash cluster/build.sh

# Start everything (builds first when needed); writes $$TEKTON_RUNNER_CLUSTER_DIR/cluster.env.
cluster-up: install
	$(CLUSTER_PY) up

cluster-down: install
	$(CLUSTER_PY) down

cluster-status: install
	$(CLUSTER_PY) status

# End-to-end tests, the real tier included; their fixtures start the control plane and the real node when
# they are not up.
e2e: install
	$(BIN)/pytest -m e2e tests/e2e -q

# The real node (kubelet + containerd) on the running plane; `cluster-up` leaves it off, the e2e session starts it.
node-up: install
	$(CLUSTER_PY) node up

node-down: install
	$(CLUSTER_PY) node down

# The real tier alone: pods and the runner's flow on the real node; starts the plane and the node when needed.
e2e-real: install
	$(BIN)/pytest -m e2e tests/e2e/real_node -q

# Control plane + runner + one sample run, for someone without a cluster.
dev: install
	bash cluster/dev.sh

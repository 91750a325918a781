#!/usr/bin/env bash
# `make dev`: the local control plane, the runner against it, and one sample run, for someone
# without a cluster. The runner stays in the foreground afterwards; Ctrl-C stops it, and
# `make cluster-down` stops the control plane.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
STATE=${TEKTON_RUNNER_CLUSTER_DIR:-/tmp/tekton-runner-cluster}
PORT=${TEKTON_RUNNER_PORT:-8088}

"$PY" "$ROOT/cluster/ctl.py" up
"$PY" "$ROOT/cluster/ctl.py" sink "http://127.0.0.1:$PORT/cloudevents"
set -a
# shellcheck disable=SC1091
. "$STATE/cluster.env"
set +a
export TEKTON_RUNNER_HOST=127.0.0.1 TEKTON_RUNNER_PORT=$PORT
# The site settings a real install must give (the registry comes from cluster.env): build pods of the
# local plane run on this host, so they reach the runner on loopback.
export TEKTON_RUNNER_PUBLIC_URL=${TEKTON_RUNNER_PUBLIC_URL:-http://127.0.0.1:$PORT}
export TEKTON_RUNNER_DATA_DIR=${TEKTON_RUNNER_DATA_DIR:-$STATE/runner}

"$ROOT/.venv/bin/tekton-runner" serve &
RUNNER=$!
trap 'kill "$RUNNER" 2>/dev/null || true' EXIT

BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do
  curl -sf "$BASE/healthz" >/dev/null && break
  kill -0 "$RUNNER" 2>/dev/null || { echo "the runner exited" >&2; exit 1; }
  sleep 0.2
done

echo "--- POST $BASE/run (sample: git source, redis + postgres, migration)"
curl -sS -X POST "$BASE/run" -H 'Content-Type: application/json' -d @- <<'JSON' | tee "$STATE/dev-run.json"
{"workspace": "demo", "app": {"name": "hello", "port": 8080},
 "source": {"type": "git", "url": "https://example.invalid/hello.git", "revision": "main"},
 "dependency": {"type": "both"},
 "migration": {"enabled": true, "command": ["./migrate", "up"]}}
JSON
echo
RUN_ID=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("id") or d.get("run_id") or d.get("run",{}).get("id",""))' "$STATE/dev-run.json")
echo "--- run $RUN_ID; GET $BASE/runs/$RUN_ID until it ends"
STATE_OF='import json,sys; print(json.load(sys.stdin)["state"])'
for _ in $(seq 1 300); do
  STATUS=$(curl -sS "$BASE/runs/$RUN_ID")
  case "$(printf '%s' "$STATUS" | "$PY" -c "$STATE_OF")" in succeeded|failed|deleted) break ;; esac
  sleep 1
done
printf '%s' "$STATUS" | "$PY" -m json.tool
echo "--- objects in ws-demo"
"$TEKTON_RUNNER_KUBECTL" get deploy,svc,job,pods -n ws-demo || true
echo "--- the runner keeps serving on $BASE (pid $RUNNER); Ctrl-C to stop it"
wait "$RUNNER"

#!/usr/bin/env bash
# Stop the local control plane: every process by the PID recorded when it was started.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# the project's venv has PyYAML; a bare python3 needs python3-yaml
PY=${PYTHON:-$HERE/../.venv/bin/python}
[[ -x $PY ]] || PY=python3
exec "$PY" "$HERE/ctl.py" down "$@"

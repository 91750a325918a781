#!/usr/bin/env bash
# Start the local control plane (builds the binaries on first use). Arguments go to `ctl.py up`.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# the project's venv has PyYAML; a bare python3 needs python3-yaml
PY=${PYTHON:-$HERE/../.venv/bin/python}
[[ -x $PY ]] || PY=python3
exec "$PY" "$HERE/ctl.py" up "$@"

#!/usr/bin/env bash
# Start the local control plane (builds the binaries on first use). Arguments go to `ctl.py up`.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
exec "${PYTHON:-python3}" "$HERE/ctl.py" up "$@"

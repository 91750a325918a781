#!/usr/bin/env bash
# Stop the local control plane: every process by the PID recorded when it was started.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
exec "${PYTHON:-python3}" "$HERE/ctl.py" down "$@"

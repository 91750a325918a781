#!/usr/bin/env bash
# Runs the forwarding benchmark once: bash bench/forward/run.sh [run.py options, e.g. --seconds 5 --repeat 3]
# Everything it starts listens and connects on 127.0.0.1 only, is bounded in time, and is stopped by PID.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
missing=()
for tool in iperf3 socat wrk; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
    if [[ $(id -u) == 0 ]]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    else
        echo "missing: ${missing[*]}; install with: sudo apt-get install -y iperf3 socat wrk" >&2
        exit 2
    fi
fi
python="$repo/.venv/bin/python"
[[ -x $python ]] || python=python3
echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
cd "$repo"
# As root with nft, the run goes into a private network namespace of its own, which adds the kernel (DNAT)
# path and leaves the host's rules alone; otherwise it runs on 127.0.0.1 without that path.
if [[ $(id -u) == 0 ]] && command -v nft >/dev/null && command -v unshare >/dev/null && command -v ip >/dev/null; then
    exec unshare -n "$python" "$here/run.py" --private-netns "$@"
fi
echo "not root or no nft/unshare/ip: the DNAT path is left out of this run" >&2
exec "$python" "$here/run.py" "$@"

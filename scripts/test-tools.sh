#!/usr/bin/env bash
# Installs the Debian tools the test suite uses when they are missing (needs root and apt-get):
# nft/ip/unshare for the kernel forwarding path (nft/ip/sysctl also for the e2e replica cut off in a
# network namespace), prlimit for descriptor exhaustion, git/wget/unzip for
# the build Task's scripts, systemd-analyze for the host unit, prometheus/promtool for the dashboard and
# alert rules, chromium/chromedriver for the web page's browser test, postgresql for the store's tests on
# PostgreSQL (tests/postgres.py starts its own server from it); kubectl comes with the local control plane. With TEKTON_RUNNER_REAL_NODE=1 also what the real node needs (containerd, runc, iptables,
# conntrack, busybox-static for its images, gcc for the pause image, socat for the registry relay, htpasswd
# for the registry's robot account); see docs/local-control-plane.md.
set -euo pipefail
declare -A package_of=([nft]=nftables [ip]=iproute2 [sysctl]=procps [unshare]=util-linux [prlimit]=util-linux
                       [git]=git [wget]=wget [unzip]=unzip [openssl]=openssl
                       [systemd-analyze]=systemd [prometheus]=prometheus [promtool]=prometheus
                       [chromium]=chromium [chromedriver]=chromium-driver)
if [ "${TEKTON_RUNNER_REAL_NODE:-0}" = 1 ]; then
  package_of+=([containerd]=containerd [runc]=runc [iptables]=iptables [conntrack]=conntrack
               [busybox]=busybox-static [gcc]=gcc [socat]=socat [htpasswd]=apache2-utils)
fi
missing=()
for tool in "${!package_of[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${package_of[$tool]}")
done
# Debian keeps PostgreSQL's server programs off PATH, under /usr/lib/postgresql/<version>/bin.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "missing test tools (install them): ${missing[*]}" >&2
  exit 1
fi
echo "installing test tools: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}"

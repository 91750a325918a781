#!/usr/bin/env bash
# Build every binary of the local control plane from its Go module, once per pinned version.
#
#   cluster/build.sh [component...]     components: etcd kube kwok tekton triggers (default: these five)
#                                       node components: kubenode cni coredns tektonimages kaniko (only
#                                       when named, or with TEKTON_RUNNER_REAL_NODE=1: see
#                                       docs/local-control-plane.md)
#
# Each component gets a throw-away wrapper module under $CACHE/build/<component>-<version> (never in
# git). A wrapper is needed because several upstream go.mod files carry replace directives, which
# `go install pkg@version` refuses; in our own main module we restate those replaces with real versions.
# A stamp file per component and version makes a warm run a no-op. Cold timings are appended to
# $CACHE/build-times.tsv (component, phase, real/user/sys seconds from bash's `time`, date).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=cluster/versions.env
. "$HERE/versions.env"

CACHE=${TEKTON_RUNNER_CACHE:-$HOME/.cache/tekton-runner}
BIN=$CACHE/bin
WORK=$CACHE/build
LOGS=$CACHE/logs
TIMES=$CACHE/build-times.tsv
mkdir -p "$BIN" "$WORK" "$LOGS"

export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false"  # e.g. GOFLAGS=-p=1 on a shared machine
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
GO=${GO:-go}
LDFLAGS_BASE='-s -w'

log() { printf '[build %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# go.mod path of MOD@VERSION in the module cache (downloads it if needed).
gomod_of() {
  "$GO" mod download -json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])'
}

# Start an empty wrapper module in a fresh directory and cd into it.
new_wrapper() {
  local dir=$1
  rm -rf "$dir"
  mkdir -p "$dir"
  cd "$dir"
  "$GO" mod init "tekton-runner.local/$(basename "$dir")" >/dev/null 2>&1
}

# Restate, in the wrapper, the replace directives of an upstream go.mod that point at another
# published module version (local-path replaces are skipped: the requires already name real versions).
copy_versioned_replaces() {
  local upstream_gomod=$1
  "$GO" mod edit -json "$upstream_gomod" | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("Replace") or []:
    new = r["New"]
    if new.get("Version"):
        old = r["Old"]["Path"] + ("@" + r["Old"]["Version"] if r["Old"].get("Version") else "")
        print("-replace=" + old + "=" + new["Path"] + "@" + new["Version"])
' | while read -r arg; do "$GO" mod edit "$arg"; done
}

# Run "$@" under bash's `time` and append (component, phase, real, user, sys seconds, date) to the
# timings file.
timed() {
  local component=$1 phase=$2
  shift 2
  local tf real user sys
  tf=$(mktemp)
  local TIMEFORMAT='%R %U %S'
  { time "$@" 2>&3; } 3>&2 2>"$tf"
  read -r real user sys <"$tf"
  rm -f "$tf"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$component" "$phase" "$real" "$user" "$sys" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$TIMES"
  log "$component $phase: ${real}s (user ${user}s, sys ${sys}s)"
}

stamp_path() { echo "$BIN/.stamp-$1"; }
stamp_value() { echo "$1 $2 $("$GO" env GOVERSION)"; }

is_built() {
  local component=$1 version=$2
  shift 2
  local s
  s=$(stamp_path "$component")
  [[ -f $s && "$(cat "$s")" == "$(stamp_value "$component" "$version")" ]] || return 1
  local b
  for b in "$@"; do [[ -x $BIN/$b ]] || return 1; done
}

mark_built() { stamp_value "$1" "$2" >"$(stamp_path "$1")"; }

# ---------------------------------------------------------------------------------------------

build_etcd() {
  new_wrapper "$WORK/etcd-$ETCD_VERSION"
  timed etcd fetch "$GO" get -tool "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  # server/v3's module root is the etcd main package.
  timed etcd compile "$GO" build -trimpath -ldflags "$LDFLAGS_BASE" -o "$BIN/etcd" go.etcd.io/etcd/server/v3
}

# A wrapper module for binaries of k8s.io/kubernetes, in a fresh directory (the current one after).
# k8s.io/kubernetes requires its staging modules at v0.0.0 and maps them to ./staging; map each one
# to the published staging module of the same release instead, and copy its godebug lines.
kube_wrapper() {
  local dir=$1 v=$K8S_VERSION minor patch
  minor=$(cut -d. -f2 <<<"$v")
  patch=$(cut -d. -f3 <<<"$v")
  new_wrapper "$dir"
  local kmod
  kmod=$(gomod_of "k8s.io/kubernetes@v$v")
  "$GO" mod edit -json "$kmod" | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("Replace") or []:
    if r["New"]["Path"].startswith("./staging/"):
        print(r["Old"]["Path"])
' | while read -r m; do "$GO" mod edit "-replace=$m=$m@v0.$minor.$patch"; done
  local gd
  gd=$("$GO" mod edit -json "$kmod" | python3 -c '
import json, sys
for g in json.load(sys.stdin).get("Godebug") or []:
    print(g["Key"] + "=" + g["Value"])
')
  for g in $gd; do "$GO" mod edit "-godebug=$g"; done
}

# fetch and build k8s.io/kubernetes commands (cmd/...) in the current wrapper, version stamped, in
# one go build so they share one compile of the common packages
build_kube_cmds() {
  local component=$1 v=$K8S_VERSION
  shift
  local pkgs=("$@") args=() p minor
  minor=$(cut -d. -f2 <<<"$v")
  for p in "${pkgs[@]}"; do args+=("k8s.io/kubernetes/$p@v$v"); done
  timed "$component" fetch "$GO" get -tool "${args[@]}"
  local vpkg=k8s.io/component-base/version
  local ld="$LDFLAGS_BASE -X $vpkg.gitVersion=v$v -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor"
  ld+=" -X $vpkg.gitTreeState=clean -X $vpkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  args=()
  for p in "${pkgs[@]}"; do args+=("k8s.io/kubernetes/$p"); done
  timed "$component" compile "$GO" build -trimpath -ldflags "$ld" -o "$BIN/" "${args[@]}"
}

build_kube() {
  local v=$K8S_VERSION
  kube_wrapper "$WORK/kube-$v"
  build_kube_cmds kube cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubectl
  "$BIN/kube-apiserver" --version | grep -q "v$v" || {
    log "kube-apiserver is not stamped with v$v: $("$BIN/kube-apiserver" --version)"
    return 1
  }
}

# The real node's kubelet and kube-proxy: the same wrapper, so the Go build cache shares every
# package they have in common with the control plane's binaries.
build_kubenode() {
  local v=$K8S_VERSION
  kube_wrapper "$WORK/kubenode-$v"
  build_kube_cmds kubenode cmd/kubelet cmd/kube-proxy
  "$BIN/kubelet" --version | grep -q "v$v" || {
    log "kubelet is not stamped with v$v: $("$BIN/kubelet" --version)"
    return 1
  }
}

# fetch and build packages of one module version (paths relative to the module) in the current
# wrapper, in one go build, into the directory OUT
build_module_pkgs() {
  local component=$1 m=$2 v=$3 out=$4
  shift 4
  local args=() p
  for p in "$@"; do args+=("$m/$p@$v"); done
  timed "$component" fetch "$GO" get -tool "${args[@]}"
  args=()
  for p in "$@"; do args+=("$m/$p"); done
  mkdir -p "$out"
  timed "$component" compile "$GO" build -trimpath -ldflags "$LDFLAGS_BASE" -o "$out/" "${args[@]}"
}

# CNI plugins for the real node's pod network: a bridge with host-local addresses, loopback in each
# pod, portmap for hostPorts. They land in $BIN/cni/ (the kubelet's CNI bin dir).
build_cni() {
  local v=$CNI_PLUGINS_VERSION
  new_wrapper "$WORK/cni-$v"
  build_module_pkgs cni github.com/containernetworking/plugins "$v" "$BIN/cni" \
    plugins/main/bridge plugins/ipam/host-local plugins/main/loopback plugins/meta/portmap
}

# CoreDNS with only the plugins the node's cluster DNS uses (upstream's documented way to pick
# plugins at compile time: set dnsserver.Directives, import the plugin packages). The order is the
# one of upstream's plugin.cfg, which decides the order a query passes through the plugins.
COREDNS_PLUGINS=(bind ready health errors log cache hosts kubernetes forward)
build_coredns() {
  local v=$COREDNS_VERSION m=github.com/coredns/coredns
  new_wrapper "$WORK/coredns-$v"
  local args=("$m/coremain@$v") p
  for p in "${COREDNS_PLUGINS[@]}"; do args+=("$m/plugin/$p@$v"); done
  {
    echo "package main"
    echo
    echo "import ("
    echo "	\"$m/core/dnsserver\""
    echo "	\"$m/coremain\""
    for p in "${COREDNS_PLUGINS[@]}"; do echo "	_ \"$m/plugin/$p\""; done
    echo ")"
    echo
    printf 'func init() {\n\tdnsserver.Directives = []string{'
    printf '"%s", ' "${COREDNS_PLUGINS[@]}"
    printf '}\n}\n\nfunc main() { coremain.Run() }\n'
  } >main.go
  timed coredns fetch "$GO" get "${args[@]}"
  timed coredns compile "$GO" build -trimpath -ldflags "$LDFLAGS_BASE" -o "$BIN/coredns" .
  "$BIN/coredns" -plugins | grep -qw kubernetes || {
    log "coredns lacks the kubernetes plugin: $("$BIN/coredns" -plugins)"
    return 1
  }
}

# Tekton's own step helpers (what its release ships as images: entrypoint, nop, workingdirinit,
# sidecarlogresults), from the same pipeline module as the controller; they land in
# $BIN/tekton-images/ and become images in cluster/localplane/toolimages.py.
TEKTON_IMAGE_CMDS=(entrypoint nop workingdirinit sidecarlogresults)
build_tektonimages() {
  local v=$TEKTON_PIPELINE_VERSION m=github.com/tektoncd/pipeline
  new_wrapper "$WORK/tektonimages-$v"
  copy_versioned_replaces "$(gomod_of "$m@$v")"
  build_module_pkgs tektonimages "$m" "$v" "$BIN/tekton-images" "${TEKTON_IMAGE_CMDS[@]/#/cmd/}"
}

# Kaniko's executor from upstream's last release (the maintained fork's module is refused by the
# module proxy here), version stamped as upstream's Makefile does; $BIN/kaniko/executor.
build_kaniko() {
  local v=$KANIKO_VERSION m=github.com/GoogleContainerTools/kaniko
  new_wrapper "$WORK/kaniko-$v"
  copy_versioned_replaces "$(gomod_of "$m@$v")"
  timed kaniko fetch "$GO" get -tool "$m/cmd/executor@$v"
  mkdir -p "$BIN/kaniko"
  timed kaniko compile "$GO" build -trimpath -ldflags "$LDFLAGS_BASE -X $m/pkg/version.version=$v" \
    -o "$BIN/kaniko/executor" "$m/cmd/executor"
}

build_kwok() {
  new_wrapper "$WORK/kwok-$KWOK_VERSION"
  copy_versioned_replaces "$(gomod_of "sigs.k8s.io/kwok@$KWOK_VERSION")"
  timed kwok fetch "$GO" get -tool "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  timed kwok compile "$GO" build -trimpath -ldflags "$LDFLAGS_BASE" -o "$BIN/kwok" sigs.k8s.io/kwok/cmd/kwok
}

build_tekton() {
  local v=$TEKTON_PIPELINE_VERSION
  new_wrapper "$WORK/tekton-$v"
  copy_versioned_replaces "$(gomod_of "github.com/tektoncd/pipeline@$v")"
  timed tekton fetch "$GO" get -tool \
    "github.com/tektoncd/pipeline/cmd/controller@$v" "github.com/tektoncd/pipeline/cmd/events@$v"
  local out=$WORK/tekton-$v/out
  mkdir -p "$out"
  timed tekton compile "$GO" build -trimpath -ldflags "$LDFLAGS_BASE" -o "$out/" \
    github.com/tektoncd/pipeline/cmd/controller github.com/tektoncd/pipeline/cmd/events
  mv "$out/controller" "$BIN/tekton-controller"
  mv "$out/events" "$BIN/tekton-events"
}

build_triggers() {
  local v=$TEKTON_TRIGGERS_VERSION
  new_wrapper "$WORK/triggers-$v"
  copy_versioned_replaces "$(gomod_of "github.com/tektoncd/triggers@$v")"
  timed triggers fetch "$GO" get -tool "github.com/tektoncd/triggers/cmd/eventlistenersink@$v" \
    "github.com/tektoncd/triggers/cmd/interceptors@$v"
  local out=$WORK/triggers-$v/out
  mkdir -p "$out"
  # The EventListener sink refuses to start without at least one https ClusterInterceptor that has a
  # CA bundle, so the core interceptors (cel, github, ...) run too.
  timed triggers compile "$GO" build -trimpath -ldflags "$LDFLAGS_BASE" -o "$out/" \
    github.com/tektoncd/triggers/cmd/eventlistenersink github.com/tektoncd/triggers/cmd/interceptors
  mv "$out/eventlistenersink" "$BIN/eventlistenersink"
  mv "$out/interceptors" "$BIN/triggers-interceptors"
}

# component -> version and the binaries it produces
component_version() {
  case $1 in
    etcd) echo "$ETCD_VERSION" ;;
    kube) echo "$K8S_VERSION" ;;
    kwok) echo "$KWOK_VERSION" ;;
    tekton) echo "$TEKTON_PIPELINE_VERSION" ;;
    triggers) echo "$TEKTON_TRIGGERS_VERSION" ;;
    kubenode) echo "$K8S_VERSION" ;;
    cni) echo "$CNI_PLUGINS_VERSION" ;;
    coredns) echo "$COREDNS_VERSION ${COREDNS_PLUGINS[*]}" ;;
    tektonimages) echo "$TEKTON_PIPELINE_VERSION ${TEKTON_IMAGE_CMDS[*]}" ;;
    kaniko) echo "$KANIKO_VERSION" ;;
    *) log "unknown component $1"; return 1 ;;
  esac
}
component_bins() {
  case $1 in
    etcd) echo etcd ;;
    kube) echo kube-apiserver kube-controller-manager kube-scheduler kubectl ;;
    kwok) echo kwok ;;
    tekton) echo tekton-controller tekton-events ;;
    triggers) echo eventlistenersink triggers-interceptors ;;
    kubenode) echo kubelet kube-proxy ;;
    cni) echo cni/bridge cni/host-local cni/loopback cni/portmap ;;
    coredns) echo coredns ;;
    tektonimages) printf 'tekton-images/%s ' "${TEKTON_IMAGE_CMDS[@]}" ;;
    kaniko) echo kaniko/executor ;;
  esac
}

main() {
  command -v "$GO" >/dev/null || { log "go is not installed"; exit 1; }
  # One build at a time per cache: a second caller (another test session starting the plane) waits,
  # then finds the stamps current, instead of recreating the wrapper directories under the first.
  exec 9>"$CACHE/.build.lock"
  if ! flock -n 9; then
    log "another build is running in $CACHE; waiting for it"
    flock 9
  fi
  local components=("$@")
  if [[ ${#components[@]} -eq 0 ]]; then
    components=(etcd kube kwok tekton triggers)
    [[ ${TEKTON_RUNNER_REAL_NODE:-0} != 1 ]] || components+=(kubenode cni coredns tektonimages kaniko)
  fi
  local c v
  for c in "${components[@]}"; do
    v=$(component_version "$c")
    # shellcheck disable=SC2046
    if is_built "$c" "$v" $(component_bins "$c"); then
      log "$c $v: up to date"
      continue
    fi
    log "$c $v: building (log: $LOGS/build-$c.log)"
    # Not inside `if`/`||`: bash would switch errexit off for everything the subshell runs.
    local rc
    set +e
    (
      set -e
      timed "$c" total "build_$c"
    ) >"$LOGS/build-$c.log" 2>&1
    rc=$?
    set -e
    if [[ $rc -ne 0 ]]; then
      log "$c $v: FAILED, last lines of $LOGS/build-$c.log:"
      tail -n 30 "$LOGS/build-$c.log" >&2
      exit 1
    fi
    mark_built "$c" "$v"
    grep -E "^\[build" "$LOGS/build-$c.log" >&2 || true
  done
}

main "$@"

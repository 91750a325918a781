"""What the real node changes on the host, recorded before it starts and undone when it stops.

The kubelet, kube-proxy, the CNI plugins and containerd change kernel settings, add iptables/nft
tables and chains, create a bridge and veth links, mount network namespaces and volumes, make
`kubepods` cgroups and create directories outside their own roots; `node up` itself adds /etc/hosts
lines for the names it tells (names.py, marked as the node's). `snapshot()` records the host's
state of each of those; node.py saves one before `node up` and `restore()` puts the host back to it
after `node down` has stopped every process. The e2e test compares snapshots around an up/down.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from . import names

# Written by the kubelet (protectKernelDefaults false), the bridge plugin (isGateway), kube-proxy's
# iptables mode (localhost NodePorts) and by node.py itself (bridged traffic through iptables).
SYSCTLS = (
    "vm.overcommit_memory", "vm.panic_on_oom", "kernel.panic", "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys", "kernel.keys.root_maxbytes", "net.ipv4.ip_forward",
    "net.ipv4.conf.all.forwarding", "net.ipv4.conf.all.route_localnet", "net.ipv6.conf.all.forwarding",
    "net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables",
)

# Paths the components create outside the node's own directory (fixed in their code).
PATHS = (
    "/var/log/containers", "/var/log/pods", "/run/netns", "/var/lib/cni", "/etc/cni", "/opt/cni",
    "/opt/containerd", "/run/containerd", "/var/lib/containerd", "/var/lib/kubelet",
    "/usr/libexec/kubernetes", "/etc/kubernetes", "/run/flannel",
)

CHAIN_PREFIXES = ("KUBE-", "CNI-")
CGROUP_ROOT = Path("/sys/fs/cgroup")


def _sysctl_path(name: str) -> Path:
    return Path("/proc/sys") / name.replace(".", "/")


def _read(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return proc.stdout if proc.returncode == 0 else ""


def sysctls() -> dict[str, str]:
    values = {}
    for name in SYSCTLS:
        try:
            values[name] = _sysctl_path(name).read_text().strip()
        except OSError:
            pass
    return values


def nft_tables() -> list[str]:
    return sorted(line.strip() for line in _read(["nft", "list", "tables"]).splitlines() if line.strip())


def iptables_chains() -> list[str]:
    """Our chains (KUBE-*, CNI-*) in every iptables table, e.g. 'ip nat KUBE-SERVICES'."""
    found = []
    for family, save in (("ip", "iptables-save"), ("ip6", "ip6tables-save")):
        table = ""
        for line in _read([save]).splitlines():
            if line.startswith("*"):
                table = line[1:]
            elif line.startswith(":") and line[1:].startswith(CHAIN_PREFIXES):
                found.append(f"{family} {table} {line[1:].split()[0]}")
    return sorted(found)


def links() -> list[str]:
    try:
        data = json.loads(_read(["ip", "-j", "link", "show"]) or "[]")
    except json.JSONDecodeError:
        return []
    return sorted(link["ifname"] for link in data)


# Where the node's components mount things (besides the node's own directories).
MOUNT_PREFIXES = ("/run/netns", "/run/containerd", "/var/lib/kubelet", "/var/lib/containerd")


def mounts(prefixes: tuple[str, ...] | list[str] = ()) -> list[str]:
    """Mount points at or under one of `prefixes` (all of them when none are given)."""
    points = {line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()}
    if prefixes:
        points = {m for m in points if any(m == p or m.startswith(p.rstrip("/") + "/") for p in prefixes)}
    return sorted(points)


def kubepods_cgroups() -> list[str]:
    found = []
    if CGROUP_ROOT.is_dir():
        for hierarchy in sorted(CGROUP_ROOT.iterdir()):
            if (hierarchy / "kubepods").is_dir():
                found.append(str(hierarchy / "kubepods"))
            if (hierarchy / "kubepods.slice").is_dir():
                found.append(str(hierarchy / "kubepods.slice"))
    return found


def existing_paths() -> list[str]:
    return [p for p in PATHS if os.path.lexists(p)]


def etc_hosts() -> list[str]:
    """The /etc/hosts lines the node wrote, as 'address name'."""
    return sorted(f"{address} {name}" for name, address in names.entries(names.ETC_HOSTS).items())


def snapshot(roots: list[str]) -> dict[str, Any]:
    """The host's state in everything the node may change; `roots` are the node's own directories."""
    return {
        "sysctls": sysctls(), "nft_tables": nft_tables(), "iptables_chains": iptables_chains(),
        "links": links(), "mounts": mounts([*roots, *MOUNT_PREFIXES]), "cgroups": kubepods_cgroups(),
        "paths": existing_paths(), "etc_hosts": etc_hosts(),
    }


# ---------------------------------------------------------------------------------------- undo


def _unmount_under(prefixes: list[str]) -> None:
    """Unmount every mount point at or under one of `prefixes`, deepest first."""
    for _ in range(3):
        targets = mounts(prefixes)
        if not targets:
            return
        for target in sorted(targets, key=lambda t: t.count("/"), reverse=True):
            if subprocess.run(["umount", target], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", target], capture_output=True)


def _remove_chains(before: dict[str, Any]) -> None:
    """Drop our chains and every rule that mentions them, keeping everything else in each table."""
    keep = set(before.get("iptables_chains", []))
    for family, save, restore in (("ip", "iptables-save", "iptables-restore"),
                                  ("ip6", "ip6tables-save", "ip6tables-restore")):
        text = _read([save])
        if not text:
            continue
        out, table, changed = [], "", False
        for line in text.splitlines():
            if line.startswith("*"):
                table = line[1:]
            ours = re.findall(r"\b((?:KUBE|CNI)-[A-Za-z0-9_-]+)", line)
            if ours and not all(f"{family} {table} {c}" in keep for c in ours):
                changed = True
                continue
            out.append(line)
        if changed:
            subprocess.run([restore], input="\n".join(out) + "\n", text=True, capture_output=True)


def _remove_cgroups() -> None:
    for top in kubepods_cgroups():
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda w: w[0].count("/"), reverse=True):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass


def restore(before: dict[str, Any], roots: list[str], bridge: str) -> list[str]:
    """Undo what the node changed since `before` (processes already stopped); returns what is left."""
    _unmount_under([*roots, *MOUNT_PREFIXES])
    for name in links():
        if name not in before["links"] and (name == bridge or name.startswith("veth")):
            subprocess.run(["ip", "link", "delete", name], capture_output=True)
    _remove_chains(before)
    for table in nft_tables():
        if table not in before["nft_tables"]:
            subprocess.run(["nft", "delete", *table.split()], capture_output=True)
    _remove_cgroups()
    for path in PATHS:
        if path not in before["paths"] and os.path.lexists(path):
            subprocess.run(["rm", "-rf", "--one-file-system", path], capture_output=True)
    names.remove(names.ETC_HOSTS)  # every line the node wrote, and only those
    for name, value in before["sysctls"].items():
        if sysctls().get(name) != value:
            try:
                _sysctl_path(name).write_text(value + "\n")
            except OSError:
                pass
    return differences(before, snapshot(roots))


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Human-readable differences between two snapshots ('' when the host is back as it was)."""
    diffs = []
    for key in before:
        if before[key] != after.get(key):
            if isinstance(before[key], dict):
                changed = {k: (before[key].get(k), after[key].get(k)) for k in set(before[key]) | set(after[key])
                           if before[key].get(k) != after[key].get(k)}
                diffs.append(f"{key}: {changed}")
            else:
                added = sorted(set(after.get(key, [])) - set(before[key]))
                removed = sorted(set(before[key]) - set(after.get(key, [])))
                diffs.append(f"{key}: added {added}, removed {removed}")
    return diffs

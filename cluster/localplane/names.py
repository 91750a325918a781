"""Host names the real node is told, the way an operator tells a node where its registry is.

A name is told twice: a line in /etc/hosts, through which containerd and the kubelet resolve it (image
pulls), and one in the cluster DNS's hosts file (NodeLayout.hosts_file, CoreDNS's `hosts`), through
which pods resolve it (Kaniko pushing). Each line carries MARK, so `node down` (host.py) removes exactly
the lines the node wrote and nothing of the machine's own. node.py tells the registry's name on `node up`;
`ctl.py node hosts add|remove NAME` tells or untells any name, so a test can show a node that cannot
resolve its registry and then fix it.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import socket
import struct
from pathlib import Path

ETC_HOSTS = Path("/etc/hosts")
MARK = "# tekton-runner-node"
# RFC 1123 host names: what /etc/hosts and a DNS question can carry, and nothing a shell or a file
# format would read as something else.
_HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


def check_name(name: str) -> str:
    if not _HOST_NAME.match(name):
        raise ValueError(f"not a host name: {name!r} (letters, digits, '-' and '.', lower case)")
    return name


def entries(path: Path) -> dict[str, str]:
    """The names this node told in `path` (an /etc/hosts-format file): name -> address."""
    told: dict[str, str] = {}
    for line in _lines(path):
        if line.endswith(MARK):
            address, *names = line.removesuffix(MARK).split()
            told.update(dict.fromkeys(names, address))
    return told


def add(path: Path, name: str, address: str) -> None:
    """Tell `name` at `address` in `path`, replacing what the node told for it before."""
    check_name(name)
    ipaddress.ip_address(address)
    kept = [line for line in _lines(path) if not _ours(line, name)]
    _rewrite(path, [*kept, f"{address} {name} {MARK}"])


def remove(path: Path, name: str | None = None) -> None:
    """Untell `name` (every name the node told, when None); the machine's own lines stay."""
    kept = [line for line in _lines(path) if not _ours(line, name)]
    if kept != _lines(path):
        _rewrite(path, kept)


def _ours(line: str, name: str | None) -> bool:
    return line.endswith(MARK) and (name is None or name in line.removesuffix(MARK).split()[1:])


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        return []


def _rewrite(path: Path, lines: list[str]) -> None:
    # Written in place, never replaced: in a container /etc/hosts is often a bind mount.
    with open(path, "a+") as f:
        f.seek(0)
        f.truncate()
        f.write("".join(f"{line}\n" for line in lines))


# ---------------------------------------------------------------------------------------- asking


def resolve(name: str, server: str, port: int = 53, timeout: float = 2.0) -> list[str]:
    """The IPv4 addresses the DNS server `server` answers for `name`; [] when none or no answer.
    A plain A question, so `node hosts` can wait until the cluster DNS has read its hosts file."""
    ident = secrets.randbits(16)
    question = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
    query = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + question + struct.pack("!HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(query, (server, port))
            reply = sock.recv(4096)
        except OSError:
            return []
    got, _flags, _questions, answers, _ns, _extra = struct.unpack("!HHHHHH", reply[:12])
    if got != ident:
        return []
    offset, found = 12 + len(question) + 4, []
    for _ in range(answers):
        offset = _skip_name(reply, offset)
        rtype, _class, _ttl, length = struct.unpack("!HHIH", reply[offset:offset + 10])
        offset += 10
        if rtype == 1 and length == 4:
            found.append(socket.inet_ntoa(reply[offset:offset + 4]))
        offset += length
    return found


def _skip_name(data: bytes, offset: int) -> int:
    while data[offset]:
        if data[offset] & 0xC0 == 0xC0:  # a compression pointer ends the name
            return offset + 2
        offset += data[offset] + 1
    return offset + 1

"""Host names the real node is told (cluster/localplane/names.py) go into /etc/hosts-format files as lines
marked as the node's: telling a name again replaces its line, untelling removes only the node's lines,
the machine's own lines stay in their order, and nothing but a host name or an address gets in. The
cluster DNS is asked with a plain A question whose answer is read past compressed names."""

from __future__ import annotations

import socket
import struct
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "cluster"))
from localplane import names  # noqa: E402

MACHINE = "127.0.0.1 localhost\n# a comment\n10.0.0.5 db.internal db\n"


def test_told_names_are_marked_lines_after_the_machines_own(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text(MACHINE)
    names.add(hosts, "harbor.tekton-runner.test", "10.89.0.1")
    names.add(hosts, "lenovo", "10.89.0.1")
    names.add(hosts, "harbor.tekton-runner.test", "10.89.0.7")  # told again: replaced, not doubled
    assert names.entries(hosts) == {"harbor.tekton-runner.test": "10.89.0.7", "lenovo": "10.89.0.1"}
    assert hosts.read_text().startswith(MACHINE)
    assert hosts.read_text().count("harbor.tekton-runner.test") == 1


def test_untelling_removes_only_the_nodes_lines(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text(MACHINE + f"10.0.0.9 lenovo {names.MARK}\n")
    names.add(hosts, "harbor.tekton-runner.test", "10.89.0.1")
    names.remove(hosts, "harbor.tekton-runner.test")
    assert names.entries(hosts) == {"lenovo": "10.0.0.9"}
    names.remove(hosts, "db.internal")  # the machine's line, not the node's: stays
    names.remove(hosts)
    assert hosts.read_text() == MACHINE


def test_the_file_is_rewritten_in_place(tmp_path: Path) -> None:
    """/etc/hosts in a container is a bind mount: replacing the file (a rename) would fail there."""
    hosts = tmp_path / "hosts"
    hosts.write_text(MACHINE)
    inode = hosts.stat().st_ino
    names.add(hosts, "lenovo", "10.89.0.1")
    names.remove(hosts, "lenovo")
    assert hosts.stat().st_ino == inode and hosts.read_text() == MACHINE


@pytest.mark.parametrize(("name", "address"), [
    ("bad name", "10.0.0.1"), ("evil\n1.2.3.4 github.com", "10.0.0.1"), ("UPPER.test", "10.0.0.1"),
    ("-lead.test", "10.0.0.1"), ("", "10.0.0.1"), ("a" * 64 + ".test", "10.0.0.1"),
    ("ok.test", "10.0.0.1 other.test"), ("ok.test", "not-an-address"),
])
def test_only_host_names_and_addresses_get_in(tmp_path: Path, name: str, address: str) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text(MACHINE)
    with pytest.raises(ValueError):
        names.add(hosts, name, address)
    assert hosts.read_text() == MACHINE


def _answer(query: bytes, addresses: list[str]) -> bytes:
    """A DNS reply echoing the question, each answer naming it through a compression pointer."""
    ident = query[:2]
    header = ident + struct.pack("!HHHHH", 0x8180, 1, len(addresses), 0, 0)
    records = b"".join(struct.pack("!HHHIH", 0xC00C, 1, 1, 5, 4) + socket.inet_aton(a) for a in addresses)
    return header + query[12:] + records


def test_resolve_reads_the_a_records_of_the_answer() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    addresses = ["10.89.0.1", "10.89.0.2"]

    def serve() -> None:
        query, peer = server.recvfrom(512)
        server.sendto(_answer(query, addresses), peer)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        assert names.resolve("harbor.tekton-runner.test", "127.0.0.1", server.getsockname()[1]) == addresses
    finally:
        thread.join(5)
        server.close()

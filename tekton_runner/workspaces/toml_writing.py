"""A small TOML writer for the containerd snippets the kind provisioner generates (Python reads TOML only)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

TomlValue = str | bool | int | Sequence[str]
Table = Mapping[str, TomlValue]
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and every control character escaped."""
    out = ['"']
    for char in value:
        if char in {'"', "\\"}:
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def key(name: str) -> str:
    return name if _BARE_KEY.match(name) else string(name)


def value(item: TomlValue) -> str:
    if isinstance(item, bool):  # before int: bool is an int in Python
        return "true" if item else "false"
    if isinstance(item, int):
        return str(item)
    if isinstance(item, str):
        return string(item)
    return "[" + ", ".join(string(element) for element in item) + "]"


def document(top: Table, tables: Sequence[tuple[Sequence[str], Table]] = ()) -> str:
    """`top` keys first, then each `[dotted.table]` with its keys, in the order given."""
    lines = [f"{key(name)} = {value(item)}" for name, item in top.items()]
    for path, entries in tables:
        if lines:
            lines.append("")
        lines.append("[" + ".".join(key(part) for part in path) + "]")
        lines.extend(f"  {key(name)} = {value(item)}" for name, item in entries.items())
    return "\n".join(lines) + "\n"

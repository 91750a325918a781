"""Checks uploaded source zips (size, zip-slip, bombs, hidden entries) and packs local directories; the sources
service runs them in a thread.

Sizes in a zip's headers are claims: the check decompresses every member and counts the bytes that
really come out, stopping as soon as a limit is passed. The build unpacks with busybox `unzip`, which
walks the local headers one after another, so the local headers must agree with the central directory
and no bytes may sit between members where an entry the central directory does not list could hide.
"""

from __future__ import annotations

import copy
import os
import stat
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import IO

MAX_MEMBERS = 100_000
MAX_RATIO = 200  # uncompressed/compressed beyond this is treated as a zip bomb
CHUNK = 1 << 16
METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}  # what busybox unzip reads
_LOCAL_HEADER = struct.Struct("<4s5H3I2H")
_DESCRIPTOR_SIZES = (12, 16, 20, 24)  # crc and sizes after the data, with or without signature, zip64 or not
_ZIP64_MARK = 0xFFFFFFFF
UNBOUNDED = 1 << 62


class PackError(ValueError):
    """The archive or directory cannot be used as a build source; the message says why."""


def check_zip(path: Path, *, max_unpacked: int) -> int:
    """Validates a zip by decompressing it to nowhere; returns the unpacked size."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise PackError(f"not a zip archive: {error}") from error
    with archive:
        members = archive.infolist()
        if not members:
            raise PackError("the zip archive is empty")
        if len(members) > MAX_MEMBERS:
            raise PackError(f"the zip has {len(members)} members; at most {MAX_MEMBERS} are allowed")
        for member in members:
            _check_entry(member)
        with path.open("rb") as handle:
            _check_layout(handle, members, archive.start_dir)
        total = 0
        for member in members:
            total += _unpacked_size(archive, member, budget=max_unpacked - total, limit=max_unpacked)
        return total


def _check_entry(member: zipfile.ZipInfo) -> None:
    name = member.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (parts and parts[0].endswith(":")) or ".." in parts:
        raise PackError(f"member {name!r} would extract outside the build directory")
    if stat.S_ISLNK(member.external_attr >> 16):
        raise PackError(f"member {name!r} is a symbolic link; links are not accepted")
    if member.flag_bits & 0x1:
        raise PackError(f"member {name!r} is encrypted")
    if member.compress_type not in METHODS:
        raise PackError(f"member {name!r} uses compression method {member.compress_type};"
                        " only stored and deflate are accepted")


def _check_layout(handle: IO[bytes], members: list[zipfile.ZipInfo], directory_at: int) -> None:
    """Local headers agree with the central directory, and the members fill the file up to it."""
    expected = 0
    for member in sorted(members, key=lambda m: m.header_offset):
        gap = member.header_offset - expected
        if gap != 0 and not (expected and gap in _DESCRIPTOR_SIZES):
            raise PackError(f"the zip holds {gap} bytes before member {member.filename!r}"
                            " that its central directory does not describe")
        handle.seek(member.header_offset)
        raw = handle.read(_LOCAL_HEADER.size)
        if len(raw) != _LOCAL_HEADER.size:
            raise PackError(f"member {member.filename!r} has no local header")
        signature, _, flags, method, _, _, _, packed, unpacked, name_length, extra_length = _LOCAL_HEADER.unpack(raw)
        if signature != b"PK\x03\x04" or method != member.compress_type:
            raise PackError(f"the local header of member {member.filename!r} does not match the central directory")
        if not flags & 0x8:  # sizes are in the local header, not in a descriptor after the data
            for local, central in ((packed, member.compress_size), (unpacked, member.file_size)):
                if local != _ZIP64_MARK and local != central:
                    raise PackError(f"the local header of member {member.filename!r} gives other sizes"
                                    " than the central directory")
        expected = member.header_offset + _LOCAL_HEADER.size + name_length + extra_length + member.compress_size
    gap = directory_at - expected
    if gap != 0 and gap not in _DESCRIPTOR_SIZES:
        raise PackError(f"the zip holds {gap} bytes after its last member that its central directory does not"
                        " describe")


def _unpacked_size(archive: zipfile.ZipFile, member: zipfile.ZipInfo, *, budget: int, limit: int) -> int:
    """The bytes the member really decompresses to, read until its data ends, whatever its header says."""
    name = member.filename
    # zipfile's reader stops at the size the header claims; lifting the claim makes it read to the real end
    # (or to our own stop below), and its CRC check then covers what was really stored.
    unbounded = copy.copy(member)
    unbounded.file_size = UNBOUNDED
    ceiling = MAX_RATIO * max(member.compress_size, 1)
    size = 0
    try:
        with archive.open(unbounded) as stream:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > budget or size > ceiling:
                    break
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, RuntimeError) as error:
        raise PackError(f"member {name!r} cannot be read: {error}") from error
    if size > budget:
        raise PackError(f"the zip unpacks to more than {limit} bytes")
    if size > ceiling:
        raise PackError(f"member {name!r} is compressed more than {MAX_RATIO}:1, which looks like a zip bomb")
    if size != member.file_size:
        raise PackError(f"member {name!r} unpacks to {size} bytes but its header says {member.file_size}")
    return size


def pack_directory(directory: Path, target: Path, *, limit: int) -> int:
    """Zips `directory` (regular files only, links not followed) into `target`; returns the zip's size."""
    if not directory.is_dir():
        raise PackError(f"{directory} is not a directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    total = 0
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for root, dirs, files in os.walk(directory, followlinks=False):
                dirs[:] = sorted(d for d in dirs if d != ".git")
                for name in sorted(files):
                    path = Path(root) / name
                    if not path.is_file() or path.is_symlink():
                        continue
                    total += path.stat().st_size
                    if total > limit:
                        raise PackError(f"{directory} holds more than {limit} bytes")
                    archive.write(path, path.relative_to(directory).as_posix())
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target.stat().st_size

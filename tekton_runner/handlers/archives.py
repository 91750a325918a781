"""Checks uploaded source zips (size, zip-slip, bombs) and packs local directories; run in a thread."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path, PurePosixPath

MAX_MEMBERS = 100_000
MAX_RATIO = 200  # uncompressed/compressed beyond this is treated as a zip bomb


class PackError(ValueError):
    """The archive or directory cannot be used as a build source; the message says why."""


def check_zip(path: Path, *, max_unpacked: int) -> int:
    """Validates a zip without extracting it; returns the unpacked size."""
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
        total = 0
        for member in members:
            name = member.filename
            parts = PurePosixPath(name.replace("\\", "/")).parts
            if name.startswith(("/", "\\")) or (parts and parts[0].endswith(":")) or ".." in parts:
                raise PackError(f"member {name!r} would extract outside the build directory")
            if stat.S_ISLNK(member.external_attr >> 16):
                raise PackError(f"member {name!r} is a symbolic link; links are not accepted")
            total += member.file_size
            if total > max_unpacked:
                raise PackError(f"the zip unpacks to more than {max_unpacked} bytes")
            if member.compress_size and member.file_size / member.compress_size > MAX_RATIO:
                raise PackError(f"member {name!r} is compressed {member.file_size // member.compress_size}:1,"
                                " which looks like a zip bomb")
        return total


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

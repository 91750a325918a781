"""Zips that lie in their headers are refused on what they really unpack to, and nothing of them is kept.

The size limits are checked on the bytes that come out of decompression, never on the sizes the headers
claim; the build's busybox `unzip` walks local headers, so an entry hidden from the central directory or a
local header that disagrees with it is refused too.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile

import pytest

from tests.integration.harness import Harness
from tests.integration.stored import rows, uploaded_files

LOCAL, CENTRAL = b"PK\x03\x04", b"PK\x01\x02"


def build_zip(members: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> bytearray:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return bytearray(buffer.getvalue())


def _headers(data: bytearray, signature: bytes, name_at: int) -> list[tuple[int, bytes]]:
    found, at = [], data.find(signature)
    while at >= 0:
        length = struct.unpack_from("<H", data, at + (26 if signature == LOCAL else 28))[0]
        found.append((at, bytes(data[at + name_at:at + name_at + length])))
        at = data.find(signature, at + 4)
    return found


def understate(data: bytearray, name: bytes, size: int, *, local: bool = True, central: bool = True) -> bytearray:
    """Writes `size` as the member's uncompressed size in its local and/or central directory header."""
    for at, member in _headers(data, LOCAL, 30) if local else []:
        if member == name:
            struct.pack_into("<I", data, at + 22, size)
    for at, member in _headers(data, CENTRAL, 46) if central else []:
        if member == name:
            struct.pack_into("<I", data, at + 24, size)
    return data


async def upload(harness: Harness, body: bytes) -> tuple[int, dict[str, object]]:
    response = await harness.http.post("/sources", data=io.BytesIO(body), headers={"Content-Type": "application/zip"})
    return response.status, dict(await response.json())


async def assert_nothing_kept(harness: Harness) -> None:
    assert await rows(harness, "uploads") == []
    assert await uploaded_files(harness) == []


async def test_zip_whose_headers_understate_its_content_is_refused_at_the_limit(harness: Harness) -> None:
    await harness.stop()
    await harness.start(max_unpacked_bytes=64 * 1024)
    honest = build_zip({"Dockerfile": b"FROM scratch\n", "data.bin": os.urandom(256 * 1024)})
    status, _ = await upload(harness, bytes(honest))
    assert status == 422  # the honest zip is over the limit, as a control
    lying = understate(build_zip({"Dockerfile": b"FROM scratch\n", "data.bin": os.urandom(256 * 1024)}),
                       b"data.bin", 1000)
    with zipfile.ZipFile(io.BytesIO(lying)) as archive:  # what a header-trusting check would have added up
        assert sum(member.file_size for member in archive.infolist()) < 64 * 1024
    status, body = await upload(harness, bytes(lying))
    assert status == 422, body
    assert "more than 65536 bytes" in str(body["message"])
    await assert_nothing_kept(harness)


async def test_understated_member_under_the_limit_is_refused_for_the_lie(harness: Harness) -> None:
    lying = understate(build_zip({"Dockerfile": b"FROM scratch\n", "app.py": os.urandom(4096)}), b"app.py", 10)
    status, body = await upload(harness, bytes(lying))
    assert status == 422, body
    assert "app.py" in str(body["message"]) and "header says 10" in str(body["message"])
    await assert_nothing_kept(harness)


async def test_stored_member_with_understated_size_is_refused(harness: Harness) -> None:
    lying = understate(build_zip({"app.py": os.urandom(4096)}, method=zipfile.ZIP_STORED), b"app.py", 10)
    status, _ = await upload(harness, bytes(lying))
    assert status == 422
    await assert_nothing_kept(harness)


async def test_local_header_disagreeing_with_the_central_directory_is_refused(harness: Harness) -> None:
    lying = understate(build_zip({"app.py": os.urandom(4096)}), b"app.py", 10, central=False)
    status, body = await upload(harness, bytes(lying))
    assert status == 422, body
    assert "local header" in str(body["message"])
    await assert_nothing_kept(harness)


async def test_entry_hidden_from_the_central_directory_is_refused(harness: Harness) -> None:
    """A local entry the central directory skips is invisible to zipfile but extracted by a streaming unzip."""
    hidden = build_zip({"../../etc/cron.d/evil": b"* * * * * root sh -c 'id'\n"})
    hidden_entry = hidden[:hidden.find(CENTRAL)]
    visible = build_zip({"Dockerfile": b"FROM scratch\n"})
    # Shift the visible zip behind the hidden entry: offsets in its central directory and end record move.
    shift = len(hidden_entry)
    central_at = visible.find(CENTRAL)
    struct.pack_into("<I", visible, central_at + 42, struct.unpack_from("<I", visible, central_at + 42)[0] + shift)
    end_at = visible.find(b"PK\x05\x06")
    struct.pack_into("<I", visible, end_at + 16, struct.unpack_from("<I", visible, end_at + 16)[0] + shift)
    combined = bytes(hidden_entry + visible)
    with zipfile.ZipFile(io.BytesIO(combined)) as archive:
        assert archive.namelist() == ["Dockerfile"]  # the central directory shows only the harmless member
    status, body = await upload(harness, combined)
    assert status == 422, body
    assert "does not describe" in str(body["message"])
    await assert_nothing_kept(harness)


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], ids=["bzip2", "lzma"])
async def test_compression_the_build_cannot_unpack_is_refused(harness: Harness, method: int) -> None:
    status, body = await upload(harness, bytes(build_zip({"app.py": b"print('hi')\n"}, method=method)))
    assert status == 422, body
    assert "only stored and deflate" in str(body["message"])
    await assert_nothing_kept(harness)


async def test_corrupt_member_data_is_refused(harness: Harness) -> None:
    data = build_zip({"app.py": os.urandom(4096)}, method=zipfile.ZIP_STORED)
    data[100] ^= 0xFF  # inside the stored data: the CRC no longer matches
    status, body = await upload(harness, bytes(data))
    assert status == 422, body
    await assert_nothing_kept(harness)


async def test_honest_zip_is_kept_with_its_row_and_file(harness: Harness) -> None:
    """The positive control: the same kind of zip, told truthfully, is stored."""
    status, body = await upload(harness, bytes(build_zip({"Dockerfile": b"FROM scratch\n", "app.py": b"x" * 100})))
    assert status == 201, body
    assert [row["id"] for row in await rows(harness, "uploads")] == [body["upload_id"]]
    assert [path.name for path in await uploaded_files(harness)] == [f"{body['upload_id']}.zip"]

"""Container output becomes `[label] line` lines: partial lines wait for their end, a line longer than the
limit (or output with no newline) is passed on in pieces, and what is left is flushed at the end."""

from __future__ import annotations

from tekton_runner.chain.logs.streaming import MAX_LINE, Lines


def test_lines_are_prefixed_and_joined_across_chunks() -> None:
    lines = Lines("build")
    assert lines.feed(b"clon") == []
    assert lines.feed(b"ing\r\ndone\npar") == [b"[build] cloning\n", b"[build] done\n"]
    assert lines.flush() == [b"[build] par\n"]
    assert lines.flush() == []


def test_a_line_without_end_is_cut_into_bounded_pieces() -> None:
    lines = Lines("app")
    pieces = lines.feed(b"x" * (2 * MAX_LINE + 10))
    assert [len(piece) for piece in pieces] == [len(b"[app] \n") + MAX_LINE] * 2
    assert lines.flush() == [b"[app] " + b"x" * 10 + b"\n"]

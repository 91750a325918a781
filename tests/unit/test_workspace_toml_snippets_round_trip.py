"""The TOML the kind provisioner writes reads back (tomllib) as exactly the values it was given."""

from __future__ import annotations

import tomllib

import pytest

from tekton_runner.workspaces import toml_writing

AWKWARD = [
    'quote " and backslash \\',
    "new\nline, tab\t, carriage\r, nul\x00, delete\x7f, escape\x1b",
    '"]\n[plugins.injected]\nkey = "',
    "unicode: çğış and an astral 🚢",
    "",
]


@pytest.mark.parametrize("text", AWKWARD)
def test_strings_and_keys_stay_literal(text: str) -> None:
    written = toml_writing.document({"server": text}, [(("host", text), {"ca": text, "list": [text, "x"]})])
    assert tomllib.loads(written) == {"server": text, "host": {text: {"ca": text, "list": [text, "x"]}}}


def test_booleans_and_integers_keep_their_types() -> None:
    written = toml_writing.document({"skip_verify": True, "override_path": False, "version": 2})
    assert tomllib.loads(written) == {"skip_verify": True, "override_path": False, "version": 2}


def test_dotted_plugin_names_are_one_quoted_key() -> None:
    written = toml_writing.document({}, [(("plugins", "io.containerd.grpc.v1.cri", "registry"), {"config_path": "/x"})])
    assert written.startswith('[plugins."io.containerd.grpc.v1.cri".registry]\n')
    assert tomllib.loads(written)["plugins"]["io.containerd.grpc.v1.cri"]["registry"] == {"config_path": "/x"}

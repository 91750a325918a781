"""The generated kind config decodes with kind's own types and kind's strict YAML decoding.

A small Go program is built at test time against sigs.k8s.io/kind (from the Go module cache / proxy): it
decodes the file into v1alpha4.Cluster with go.yaml.in/yaml/v3 and KnownFields(true), which is what
kind's config loader does, and prints the result as JSON.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.test_workspace_kind_config_matches_kind_types import VARIANTS, generated
from tests.unit.test_workspace_support import KIND_MODULE

GO_MOD = f"""module kindconfigcheck

go 1.22

require {KIND_MODULE[0]} {KIND_MODULE[1]}
"""
MAIN_GO = """package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
)

func main() {
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	decoder := yaml.NewDecoder(bytes.NewReader(raw))
	decoder.KnownFields(true)
	var cluster v1alpha4.Cluster
	if err := decoder.Decode(&cluster); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(cluster); err != nil {
		os.Exit(2)
	}
}
"""


def _go(args: list[str], cwd: Path) -> None:
    try:
        done = subprocess.run(["go", *args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    except FileNotFoundError:
        pytest.fail("the go tool is needed to build the kind config checker")
    if done.returncode != 0:
        pytest.fail(f"go {' '.join(args)} failed: {done.stderr}")


@pytest.fixture(scope="module")
def decoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("kindconfigcheck")
    (source / "go.mod").write_text(GO_MOD)
    (source / "main.go").write_text(MAIN_GO)
    _go(["mod", "tidy"], source)
    _go(["build", "-o", "decode", "."], source)
    return source / "decode"


def decode(decoder: Path, tmp_path: Path, config: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "kind-config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return subprocess.run([str(decoder), str(path)], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_kind_decodes_the_generated_config_strictly(decoder: Path, tmp_path: Path, variant: str) -> None:
    config = generated(VARIANTS[variant])
    done = decode(decoder, tmp_path, config)
    assert done.returncode == 0, done.stderr
    decoded = json.loads(done.stdout)
    # Everything we wrote arrived in kind's structs (omitempty drops only empty values).
    node, wrote = decoded["nodes"][0], config["nodes"][0]
    assert node["extraMounts"] == wrote["extraMounts"]
    assert node.get("extraPortMappings") == wrote.get("extraPortMappings")
    assert decoded["containerdConfigPatches"] == config["containerdConfigPatches"]
    assert decoded.get("kubeadmConfigPatches") == config.get("kubeadmConfigPatches")


def test_the_decoder_really_is_strict(decoder: Path, tmp_path: Path) -> None:
    config = generated(VARIANTS["plain"])
    config["nodes"][0]["extraHosts"] = ["lenovo:192.168.1.20"]
    done = decode(decoder, tmp_path, config)
    assert done.returncode == 1
    assert "extraHosts" in done.stderr

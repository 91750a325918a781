"""Every runner template renders to the golden objects, and those pass Kubernetes' own schemas."""

from __future__ import annotations

import json
import os
from pathlib import Path

import kubernetes_validate
import pytest

from tekton_runner.manifests import Renderer
from tests.unit.manifest_values import POD_TEMPLATES, RUNNER_TEMPLATES, values

GOLDEN = Path(__file__).parent / "golden"
KUBERNETES_VERSION = "1.35.0"


@pytest.mark.parametrize("template", RUNNER_TEMPLATES)
def test_template_matches_golden_file(template: str) -> None:
    rendered = Renderer().render(template, values(template))
    golden = GOLDEN / template.replace(".yaml.j2", ".json")
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(json.dumps(rendered, indent=2, sort_keys=True) + "\n")
    assert rendered == json.loads(golden.read_text())


@pytest.mark.parametrize("template", RUNNER_TEMPLATES)
def test_template_output_passes_the_kubernetes_schema(template: str) -> None:
    for obj in Renderer().render(template, values(template)):
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_schema_check_catches_an_unknown_field() -> None:
    """Guards the test above: the strict schema really rejects a field Kubernetes does not know."""
    obj = Renderer().render("app.yaml.j2", values("app.yaml.j2"))[0]
    obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("template", POD_TEMPLATES)
def test_placement_is_left_out_of_pods_when_not_configured(template: str) -> None:
    for obj in Renderer().render(template, {**values(template), "node_selector": {}, "tolerations": []}):
        if obj["kind"] in ("Deployment", "Job"):
            pod = obj["spec"]["template"]["spec"]
            assert "nodeSelector" not in pod and "tolerations" not in pod
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)

"""TEKTON_RUNNER_NODE_SELECTOR (`key=value,...`) and TEKTON_RUNNER_TOLERATIONS (`key[=value][:Effect],...`) are
parsed as kubectl writes labels and taints; a value Kubernetes would refuse stops start-up naming the variable."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tekton_runner.models.environment import explain, settings_from_env

SITE = {"TEKTON_RUNNER_REGISTRY": "harbor.example.com/library", "TEKTON_RUNNER_PUBLIC_URL": "http://runner.lan:8088/"}


def test_unset_or_empty_means_no_placement() -> None:
    for environ in (SITE, {**SITE, "TEKTON_RUNNER_NODE_SELECTOR": " ", "TEKTON_RUNNER_TOLERATIONS": ""}):
        settings = settings_from_env(environ)
        assert settings.node_selector == {} and settings.tolerations == ()


def test_labels_and_taints_are_read_as_kubectl_writes_them() -> None:
    settings = settings_from_env({
        **SITE, "TEKTON_RUNNER_NODE_SELECTOR": "kubernetes.io/hostname=node-1, pool=previews,empty=",
        "TEKTON_RUNNER_TOLERATIONS": "tekton-runner.io/real-node=true:NoSchedule, dedicated ,gpu:NoExecute,zone=a",
    })
    assert settings.node_selector == {"kubernetes.io/hostname": "node-1", "pool": "previews", "empty": ""}
    assert [t.manifest() for t in settings.tolerations] == [
        {"key": "tekton-runner.io/real-node", "operator": "Equal", "value": "true", "effect": "NoSchedule"},
        {"key": "dedicated", "operator": "Exists"},
        {"key": "gpu", "operator": "Exists", "effect": "NoExecute"},
        {"key": "zone", "operator": "Equal", "value": "a"},
    ]


@pytest.mark.parametrize(("variable", "value", "reason"), [
    ("TEKTON_RUNNER_NODE_SELECTOR", "previews", "is not key=value"),
    ("TEKTON_RUNNER_NODE_SELECTOR", "pool=a b", "a value must be empty or 1-63"),
    ("TEKTON_RUNNER_NODE_SELECTOR", "Bad_Prefix/pool=a", "must be a DNS subdomain"),
    ("TEKTON_RUNNER_NODE_SELECTOR", "pool=a,pool=b", "is given twice"),
    ("TEKTON_RUNNER_NODE_SELECTOR", ",".join(f"k{i}=v" for i in range(33)), "at most 32"),
    ("TEKTON_RUNNER_TOLERATIONS", "dedicated=previews:Never", "the effect must be one of NoSchedule"),
    ("TEKTON_RUNNER_TOLERATIONS", "-x:NoSchedule", "the name must be 1-63"),
    ("TEKTON_RUNNER_TOLERATIONS", "=v", "the name must be 1-63"),
])
def test_a_value_kubernetes_would_refuse_names_the_variable_and_the_reason(
        variable: str, value: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        settings_from_env({**SITE, variable: value})
    message = explain(caught.value)
    assert message.startswith(f"{variable}: ") and reason in message, message

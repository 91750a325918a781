"""TEKTON_RUNNER_NODE_SELECTOR and _TOLERATIONS reach every pod a run creates (dependencies, migration Job,
app), as an operator with dedicated, tainted preview nodes needs; unset, the pods carry neither."""

from __future__ import annotations

from typing import Any

from tekton_runner.models.environment import settings_from_env
from tests.integration.harness import Harness, spec


def pod_specs(harness: Harness) -> dict[str, dict[str, Any]]:
    fake = harness.fake
    specs = {name: fake.get_object("deployments", name, "ws-demo") for name in ("shop-redis", "shop-postgres", "shop")}
    jobs = fake.objects("jobs", "ws-demo")
    assert len(jobs) == 1
    return {**{name: obj["spec"]["template"]["spec"] for name, obj in specs.items() if obj is not None},
            "migration": jobs[0]["spec"]["template"]["spec"]}


async def test_every_workspace_pod_gets_the_node_selector_and_tolerations(harness: Harness) -> None:
    given = settings_from_env({"TEKTON_RUNNER_REGISTRY": "harbor.test/library", "TEKTON_RUNNER_PUBLIC_URL": "http://x",
                               "TEKTON_RUNNER_NODE_SELECTOR": "node-role.example.com/previews=true",
                               "TEKTON_RUNNER_TOLERATIONS": "dedicated=previews:NoSchedule,maintenance"})
    await harness.stop()
    await harness.start(node_selector=given.node_selector, tolerations=given.tolerations)
    await harness.run_to_success(spec())

    specs = pod_specs(harness)
    assert set(specs) == {"shop-redis", "shop-postgres", "shop", "migration"}
    for name, pod in specs.items():
        assert pod["nodeSelector"] == {"node-role.example.com/previews": "true"}, name
        assert pod["tolerations"] == [
            {"key": "dedicated", "operator": "Equal", "value": "previews", "effect": "NoSchedule"},
            {"key": "maintenance", "operator": "Exists"},
        ], name


async def test_without_placement_settings_pods_carry_no_selector(harness: Harness) -> None:
    await harness.run_to_success(spec())
    for name, pod in pod_specs(harness).items():
        assert "nodeSelector" not in pod and "tolerations" not in pod, name

"""The runner's other two sources on the real node: a zip uploaded with `POST /sources` and a directory on
the runner's host (`source.type: local`). The build pod fetches each from the runner's one-time archive
link over the node's bridge, Kaniko builds it, and the app answers on the runner's external port with what
the Dockerfile's RUN wrote and the marker in its source."""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.conftest import serving
from tests.e2e.kubeapi import KubeAPI
from tests.e2e.real_node.conftest import RealNode
from tests.e2e.real_node.sampleapp import PLAIN_ANSWER_BUILT_BY, plain_files
from tests.e2e.runner import Runner
from tests.e2e.workspace import new_workspace

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

APP = "page"


def sources(real_node: RealNode, marker: str) -> dict[str, str]:
    return plain_files(real_node.at_relay("python"), marker)


@pytest.fixture
async def bridged_runner(real_tier: dict[str, str], real_node: RealNode, kube: KubeAPI,
                         tmp_path: Path) -> AsyncIterator[Runner]:
    """The real tier's runner listening on every address, its archive links on the node's bridge address
    (where the build pods reach the host), and a local root to build directories from."""
    proc = Runner(real_tier, tmp_path / "runner", settings=real_tier)
    bridge = real_node.registry.split(":")[0]
    (tmp_path / "sources").mkdir()
    proc.env.update({"TEKTON_RUNNER_HOST": "0.0.0.0", "TEKTON_RUNNER_PUBLIC_URL": f"http://{bridge}:{proc.port}",
                     "TEKTON_RUNNER_LOCAL_ROOTS": str(tmp_path / "sources")})
    async with serving(kube, proc) as served:
        yield served


async def answer(address: str) -> dict[str, Any]:
    """One GET of the external address: a run is `succeeded` only once its NodePort accepts connections, so
    the first request after it must be answered (no retry)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session, \
            session.get(f"http://{address}/") as resp:
        assert resp.status == 200, f"GET http://{address}/: {resp.status} {await resp.text()}"
        return dict(await resp.json(content_type=None))


async def deployed_answer(runner: Runner, body: dict[str, Any]) -> dict[str, Any]:
    run_id = await runner.post_run(body)
    run = await runner.wait_terminal(run_id, within=600)
    assert run["state"] == "succeeded", f"{run}\n{await runner.log_tail()}"
    answered = await answer(run["endpoint"]["external"])  # at once, before anything else
    async with runner.session.get(f"{runner.base_url}/endpoint",
                                  params={"workspace": body["workspace"], "app": APP}) as resp:
        endpoint = await resp.json()
    assert endpoint["run_id"] == run_id and endpoint["external"]["address"] == run["endpoint"]["external"], endpoint
    return answered


async def test_an_uploaded_zip_is_built_and_answers_on_its_external_port(
        bridged_runner: Runner, real_node: RealNode) -> None:
    marker = f"zip-{uuid.uuid4().hex[:10]}"
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in sources(real_node, marker).items():
            archive.writestr(name, text)
    async with bridged_runner.session.post(f"{bridged_runner.base_url}/sources", data=packed.getvalue(),
                                           headers={"Content-Type": "application/zip"}) as resp:
        assert resp.status == 201, await resp.text()
        upload_id = (await resp.json())["upload_id"]

    answered = await deployed_answer(bridged_runner, {
        "workspace": new_workspace("zip"), "app": {"name": APP, "port": 8080},
        "source": {"type": "zip", "upload_id": upload_id}})

    assert answered == {"marker": marker, "built_by": PLAIN_ANSWER_BUILT_BY}


async def test_a_directory_on_the_runners_host_is_built_and_answers_on_its_external_port(
        bridged_runner: Runner, real_node: RealNode, tmp_path: Path) -> None:
    marker = f"local-{uuid.uuid4().hex[:10]}"
    directory = tmp_path / "sources" / "page"
    directory.mkdir(parents=True)
    for name, text in sources(real_node, marker).items():
        (directory / name).write_text(text)

    answered = await deployed_answer(bridged_runner, {
        "workspace": new_workspace("local"), "app": {"name": APP, "port": 8080},
        "source": {"type": "local", "path": str(directory)}})

    assert answered == {"marker": marker, "built_by": PLAIN_ANSWER_BUILT_BY}

"""Benchmark peers in one process: an EventListener stand-in that creates the TaskRun, and the fake API.

Run: python -m bench.api.stubs --el-port P --kubeconfig FILE   (prints READY when both listen)
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from pathlib import Path

from aiohttp import web

from tests.fakes import FakeKubeApi

BUILD_NS = "tekton-pipelines"


def listener_app(fake: FakeKubeApi) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        event_id = str(uuid.uuid4())
        fake.put_object({
            "apiVersion": "tekton.dev/v1", "kind": "TaskRun",
            "metadata": {"name": f"build-{body['run_id']}", "namespace": BUILD_NS, "uid": str(uuid.uuid4()),
                         "labels": {"tekton-runner.io/run-id": body["run_id"]}},
            # The runner deploys only a TaskRun that builds the run's own image (chain/build/trust.py).
            "spec": {"params": [{"name": "IMAGE", "value": body["image"]}]},
            "status": {"conditions": [{"type": "Succeeded", "status": "Unknown", "reason": "Running"}]},
        })
        return web.json_response({"eventID": event_id}, status=202)

    app = web.Application()
    app.router.add_post("/", handle)
    return app


async def main(el_port: int, kubeconfig: Path) -> None:
    async with FakeKubeApi() as fake:
        fake.add_namespace(BUILD_NS)
        fake.write_kubeconfig(kubeconfig)
        runner = web.AppRunner(listener_app(fake), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", el_port).start()
        print("READY", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--el-port", type=int, required=True)
    parser.add_argument("--kubeconfig", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(main(args.el_port, args.kubeconfig))

"""Benchmark peers in one process: an EventListener stand-in that creates the TaskRun, and the fake API.

Run: python -m bench.api.stubs --el-port P --kubeconfig FILE   (prints READY when both listen)
The EventListener port also serves /control/* for benchmarks that play the kubelet: a running build pod
for a run, lines written to its log, its end, and how many log follows the API has open.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from pathlib import Path

from aiohttp import web

from tests.fakes import FakeKubeApi

BUILD_NS = "tekton-pipelines"
STEP = "step-build-and-push"


def taskrun(run_id: str, image: str, reason: str) -> dict[str, object]:
    """The build TaskRun of a run, `Running`, `Succeeded` or `Failed`."""
    ended = {"Succeeded": "True", "Failed": "False"}
    status: dict[str, object] = {"conditions": [{"type": "Succeeded", "status": ended.get(reason, "Unknown"),
                                                 "reason": reason}]}
    if reason in ended:
        status["completionTime"] = "2026-12-01T10:00:00Z"
    return {
        "apiVersion": "tekton.dev/v1", "kind": "TaskRun",
        "metadata": {"name": f"build-{run_id}", "namespace": BUILD_NS, "uid": str(uuid.uuid4()),
                     "labels": {"tekton-runner.io/run-id": run_id}},
        # The runner deploys only a TaskRun that builds the run's own image (chain/build/trust.py).
        "spec": {"params": [{"name": "IMAGE", "value": image}]},
        "status": status,
    }


def listener_app(fake: FakeKubeApi) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        event_id = str(uuid.uuid4())
        fake.put_object(taskrun(body["run_id"], body["image"], "Running"))
        return web.json_response({"eventID": event_id}, status=202)

    app = web.Application()
    app.router.add_post("/", handle)
    app.add_routes(control_routes(fake))
    return app


def control_routes(fake: FakeKubeApi) -> list[web.RouteDef]:
    async def build_pod(request: web.Request) -> web.Response:
        """A running build pod with one step container, named in its TaskRun's status as Tekton does."""
        run_id = (await request.json())["run_id"]
        name = f"build-{run_id}-pod"
        fake.put_object({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": BUILD_NS, "labels": {"tekton.dev/taskRun": f"build-{run_id}"}},
            "spec": {"containers": [{"name": STEP, "image": "kaniko"}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": STEP, "state": {"running": {}}}]},
        })
        fake.set_status("taskruns", f"build-{run_id}", {"podName": name}, namespace=BUILD_NS, merge=True)
        return web.json_response({"pod": name, "container": STEP})

    async def write(request: web.Request) -> web.Response:
        body = await request.json()
        fake.write_log(BUILD_NS, body["pod"], STEP, body["text"])
        return web.json_response({})

    async def end(request: web.Request) -> web.Response:
        pod = (await request.json())["pod"]
        done = {"terminated": {"exitCode": 0, "reason": "Completed"}}
        fake.set_status("pods", pod, {"phase": "Succeeded", "containerStatuses": [{"name": STEP, "state": done}]},
                        namespace=BUILD_NS, merge=True)
        return web.json_response({})

    async def taskruns(request: web.Request) -> web.Response:
        """TaskRuns for stored runs, as a cluster that keeps its TaskRuns would hold them."""
        for item in await request.json():
            fake.put_object(taskrun(item["run_id"], item["image"], item["status"]))
        return web.json_response({})

    async def requests(request: web.Request) -> web.Response:
        return web.json_response({"requests": len(fake.requests)})

    async def following(request: web.Request) -> web.Response:
        """Answers once at least `at_least` log follows are open."""
        await fake.logs.wait_following(int(request.query.get("at_least", "0")))
        return web.json_response({"following": fake.logs.following})

    return [web.post("/control/build-pod", build_pod), web.post("/control/log", write),
            web.post("/control/end", end), web.get("/control/following", following),
            web.post("/control/taskruns", taskruns), web.get("/control/requests", requests)]


async def main(el_port: int, kubeconfig: Path) -> None:
    async with FakeKubeApi() as fake:
        fake.add_namespace(BUILD_NS)
        fake.add_namespace("tekton-runner")  # where replicas elect their leader with a Lease
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

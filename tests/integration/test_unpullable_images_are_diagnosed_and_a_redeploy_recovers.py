"""An image the node cannot pull: a permanent cause (the registry host does not resolve, credentials refused,
no such image) fails the step at once naming the image, the host and what the kubelet said, with what to
configure; a transient one (a timeout) is shown while the step waits. Once the node is fixed, a redeploy of
the failed run succeeds."""

from __future__ import annotations

from tests.integration.harness import DIGEST, Harness, spec
from tests.integration.simulation import PodReport, waiting

PLAIN = {"dependency": {"type": "none"}, "migration": {"enabled": False}}
IMAGE = f"harbor.test/library/demo-shop@{DIGEST}"
NO_SUCH_HOST = (
    f'failed to pull and unpack image "{IMAGE}": failed to resolve reference "{IMAGE}": failed to do request: '
    f'Head "https://harbor.test/v2/library/demo-shop/manifests/{DIGEST}": dial tcp: lookup harbor.test on '
    "10.0.0.2:53: no such host")


async def test_unresolvable_registry_host_fails_at_once_and_a_redeploy_after_the_fix_succeeds(
        harness: Harness) -> None:
    await harness.stop()
    await harness.start(ready_timeout=3600.0)
    harness.controllers.pods["app"] = PodReport(waiting(
        "ImagePullBackOff", f'Back-off pulling image "{IMAGE}": ErrImagePull: {NO_SUCH_HOST}'))

    failed = await harness.run_after_build(spec(**PLAIN))

    assert failed["state"] == "failed" and failed["reason"] == "app:AppImageHostUnresolvable"
    message = str(failed["message"])
    assert f"container app cannot pull image {IMAGE}" in message
    assert "the node cannot resolve the registry host 'harbor.test'" in message
    assert "lookup harbor.test on 10.0.0.2:53: no such host" in message  # the kubelet's own words
    assert "/etc/hosts" in message and "docs/troubleshooting.md#the-node-cannot-resolve-the-registry-host" in message
    assert f"POST /runs/{failed['run_id']}/redeploy" in message

    harness.controllers.pods.clear()  # the node can resolve the host now
    response = await harness.http.post(f"/runs/{failed['run_id']}/redeploy")
    assert response.status == 202, await response.text()
    again = (await response.json())["run_id"]
    await harness.settle()

    run = await harness.run(again)
    assert run["state"] == "succeeded" and run["redeploy_of"] == failed["run_id"]
    assert harness.fake.get_object("deployments", "shop", "ws-demo")["spec"]["template"]["spec"]["containers"][0][
        "image"] == IMAGE


async def test_a_redeploy_is_judged_by_its_own_pods_not_by_the_failed_runs(harness: Harness) -> None:
    harness.controllers.pods["app"] = PodReport(waiting("ErrImagePull", NO_SUCH_HOST))
    failed = await harness.run_after_build(spec(**PLAIN))
    assert failed["reason"] == "app:AppImageHostUnresolvable"
    harness.controllers.pods.clear()
    harness.controllers.unready.add("shop")  # the new pods are not ready yet; the failed run's pod is still there
    await harness.stop()
    await harness.start(ready_timeout=0.05)

    response = await harness.http.post(f"/runs/{failed['run_id']}/redeploy")
    await harness.settle()

    run = await harness.run((await response.json())["run_id"])
    assert run["reason"] == "app:AppNotReady"  # waited for its own pods; the old pull failure is not its own


async def test_a_redeploy_deletes_dependency_pods_stuck_on_the_failed_pull_so_they_pull_again(
        harness: Harness) -> None:
    stuck_pulling = waiting("ImagePullBackOff", f"Back-off pulling image: {NO_SUCH_HOST}")
    harness.controllers.pods["redis"] = PodReport(stuck_pulling)
    failed = await harness.run_after_build(spec(dependency={"type": "redis"}, migration={"enabled": False}))
    assert failed["reason"] == "dependency:DependencyImageHostUnresolvable"
    (stuck,) = harness.fake.objects("pods", "ws-demo")
    harness.controllers.pods.clear()  # the node can resolve the host now

    response = await harness.http.post(f"/runs/{failed['run_id']}/redeploy")
    await harness.settle()

    run = await harness.run((await response.json())["run_id"])
    assert run["state"] == "succeeded", run
    assert harness.fake.get_object("pods", stuck["metadata"]["name"], "ws-demo") is None  # deleted: pulled anew


async def test_refused_credentials_and_missing_images_fail_at_once_naming_the_registry(harness: Harness) -> None:
    cases = {
        "AppImagePullUnauthorized": ("failed to authorize: failed to fetch oauth token: unexpected status: "
                                     "401 Unauthorized", "the registry refused the pull credentials"),
        "AppImageNotFound": (f'failed to resolve reference "{IMAGE}": {IMAGE}: not found',
                             "the registry has no such image"),
        "AppImageRegistryUntrusted": ("tls: failed to verify certificate: x509: certificate signed by unknown "
                                      "authority", "the node does not trust the registry's TLS certificate"),
    }
    for reason, (said, words) in cases.items():
        harness.controllers.pods["app"] = PodReport(waiting("ErrImagePull", f"rpc error: code = Unknown desc = {said}"))
        run = await harness.run_after_build(spec(**PLAIN))
        assert run["reason"] == f"app:{reason}", run["message"]
        assert f"cannot pull image {IMAGE} from harbor.test: {words}" in str(run["message"])
        assert harness.registry.get_sample_value(
            "tekton_runner_stage_failures_total", {"stage": "app", "reason": reason}) == 1


async def test_transient_pull_failure_is_shown_while_waiting_and_named_when_the_wait_times_out(
        harness: Harness) -> None:
    timeout = waiting("ErrImagePull", "failed to do request: Head \"https://harbor.test/v2/\": dial tcp "
                                      "10.0.0.9:443: i/o timeout")
    harness.controllers.pods["app"] = PodReport(timeout)
    await harness.stop()
    await harness.start(poll_interval=3600.0)
    run_id = (await harness.post_run(spec(**PLAIN)))["run_id"]
    harness.finish_taskrun(run_id)
    await harness.orchestrator.resync()

    step = await harness.app_step_waiting(run_id)
    assert step["state"] == "running"
    assert "from harbor.test yet; the kubelet retries: ErrImagePull" in str(step["message"])
    assert "10.0.0.9:443: i/o timeout" in str(step["message"])
    assert (await harness.http.delete(f"/runs/{run_id}")).status == 200

    await harness.stop()
    await harness.start(ready_timeout=0.05, poll_interval=0.001)
    run = await harness.run_after_build(spec(**PLAIN))
    assert run["reason"] == "app:AppImagePullFailed"
    assert str(run["message"]).startswith("not ready after 0s: Deployment ws-demo/shop: 0/1 replicas ready")


async def test_migration_job_whose_image_host_does_not_resolve_fails_the_migration(harness: Harness) -> None:
    harness.controllers.pods["migration"] = PodReport(waiting("ErrImagePull", NO_SUCH_HOST))

    run = await harness.run_after_build(spec())

    assert run["reason"] == "migration:MigrationImageHostUnresolvable"
    assert "container migrate cannot pull image" in str(run["message"])
    assert harness.fake.get_object("deployments", "shop", "ws-demo") is None


async def test_a_missing_secret_is_shown_while_waiting_and_named_when_the_wait_times_out(harness: Harness) -> None:
    harness.controllers.pods["app"] = PodReport(waiting(
        "CreateContainerConfigError", 'secret "shop-deps" not found'))
    await harness.stop()
    await harness.start(ready_timeout=0.05)

    run = await harness.run_after_build(spec(**PLAIN))

    assert run["reason"] == "app:AppContainerConfigError"
    assert 'container app cannot start: CreateContainerConfigError: secret "shop-deps" not found' in str(
        run["message"])

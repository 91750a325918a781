"""The web page at /ui in a real headless chromium against the runner on the fake Kubernetes API: a run
started from its form shows each step and the run reach `succeeded` live from the event stream (resumed
after the stream ends, with no transition shown twice), the build log streams in, the endpoint appears; a
failed build shows the failing step and reason; with a token the page asks for it and sends it in a header.

The screenshot of the succeeded run is written to test-artifacts/ui.png (docs/ui.png is a copy of one)."""

from __future__ import annotations

from pathlib import Path

from selenium.webdriver.remote.webdriver import WebDriver

from tests.integration.browser import Page
from tests.integration.harness import BUILD_NS, Harness, spec
from tests.integration.pods import put_build_pod, set_container_state

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
GIT = "https://git.example.com/team/shop.git"
CHAIN = ("dependency", "app", "forward")


def _write_build_log(harness: Harness, run_id: str, lines: dict[str, str]) -> None:
    pod = put_build_pod(harness.fake, run_id, state="running", with_pod_name=False)
    for container, text in lines.items():
        harness.fake.write_log(BUILD_NS, pod, f"step-{container}", text)
        set_container_state(harness.fake, BUILD_NS, pod, f"step-{container}", "terminated")


def _transitions(driver: WebDriver) -> list[int]:
    return [int(seq) for seq in driver.execute_script(
        "return [...document.querySelectorAll('#transitions li')].map(li => li.dataset.seq)")]


async def test_run_started_from_the_page_shows_its_steps_and_endpoint_live(
        harness: Harness, chromium: WebDriver) -> None:
    # Every event stream ends after a moment, so the page has to resume it with Last-Event-ID to see the end.
    await harness.stop()
    await harness.start(follow_seconds=0.2)
    page = Page(chromium)
    await page.open(str(harness.http.make_url("/ui")))
    await page.fill("#start-form", {"workspace": "demo", "app": "shop", "url": GIT, "dependency": "redis"})
    await page.shows("#run-id", "r-")
    run_id = page.text("#run-id")
    assert chromium.current_url.endswith(f"/ui#run={run_id}")
    await page.shows("#runs-body", run_id)

    _write_build_log(harness, run_id, {"fetch-source": "Cloning into '/workspace/source'...\n",
                                       "build-and-push": "Pushing image to harbor.test/library/demo-shop\n"})
    await page.click('#log-steps button[data-log="build"]')
    await page.shows("#log", "[build-and-push] Pushing image to harbor.test/library/demo-shop")
    assert "[fetch-source] Cloning into '/workspace/source'..." in page.text("#log")

    # The stream has ended while the run was building and the page has opened it again, after what it had.
    await page.until(lambda driver: int(page.find("#live").get_attribute("data-connections") or 0) >= 2)
    response = await harness.send_event(harness.finish_taskrun(run_id), "successful")
    assert response.status == 202
    for step in ("build", *CHAIN):
        await page.step_is(step, "succeeded")
    await page.step_is("migration", "skipped")
    await page.run_is("succeeded")
    await page.shows("#run-endpoint", "203.0.113.7:")
    await page.shows("#live", "run ended")
    await page.shows('#runs-body tr td[data-state="succeeded"]', "succeeded")

    seen = _transitions(chromium)
    assert seen == list(range(1, len(seen) + 1)), seen  # resumed after the last one, never replayed
    assert len(seen) >= 1 + 2 * len(CHAIN)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(str(ARTIFACTS / "ui.png"))


async def test_failed_build_shows_the_failing_step_and_reason(harness: Harness, chromium: WebDriver) -> None:
    run_id = (await harness.post_run(spec()))["run_id"]
    page = Page(chromium)
    await page.open(str(harness.http.make_url(f"/ui#run={run_id}")))
    await page.shows("#run-id", run_id)
    await page.run_is("building")
    message = '"step-build-and-push" exited with code 1'
    await harness.send_event(harness.finish_taskrun(run_id, succeeded=False, message=message), "failed")
    await page.step_is("build", "failed")
    await page.run_is("failed")
    await page.shows("#run-reason", "build:Failed")
    assert message in page.text('#steps-body tr[data-step="build"]')
    assert page.find("#run-endpoint").is_displayed() is False
    await page.shows('#runs-body tr td[data-state="failed"]', "failed")


async def test_with_a_token_the_page_asks_for_it_and_sends_it_only_in_a_header(
        harness: Harness, chromium: WebDriver) -> None:
    await harness.stop()
    await harness.start(token="s3cret-token")
    created = await harness.http.post("/run", json=spec(), headers={"Authorization": "Bearer s3cret-token"})
    run_id = (await created.json())["run_id"]
    page = Page(chromium)
    await page.open(str(harness.http.make_url("/ui")))
    await page.until(lambda driver: page.find("#token-section").is_displayed())
    assert not page.find("#main").is_displayed()

    await page.fill("#token-form", {"token": "wrong"})
    await page.shows("#notice", "The token was refused.")
    await page.fill("#token-form", {"token": "s3cret-token"})
    await page.shows("#runs-body", run_id)
    await page.click(f'#runs-body tr[data-run="{run_id}"] a')
    await page.shows("#run-id", run_id)
    await page.shows("#live", "following live")  # the event stream, read with the header
    await harness.send_event(harness.finish_taskrun(run_id), "successful")
    await page.run_is("succeeded")
    assert "s3cret-token" not in chromium.current_url
    assert chromium.execute_script("return sessionStorage.getItem('tekton-runner-token')") == "s3cret-token"


async def test_older_runs_come_a_page_at_a_time_each_run_once(harness: Harness, chromium: WebDriver) -> None:
    made = [(await harness.post_run(spec(app={"name": f"app{index}", "port": 8080})))["run_id"]
            for index in range(53)]  # the page asks for 50 at a time
    page = Page(chromium)
    await page.open(str(harness.http.make_url("/ui")))
    await page.until(lambda driver: len(_listed(driver)) == 50)
    assert _listed(chromium) == made[::-1][:50]
    await page.click("#runs-more")
    await page.until(lambda driver: len(_listed(driver)) == 53)
    assert _listed(chromium) == made[::-1]
    assert not page.find("#runs-more").is_displayed()  # the last page: nothing older


def _listed(driver: WebDriver) -> list[str]:
    return list(driver.execute_script(
        "return [...document.querySelectorAll('#runs-body tr')].map(tr => tr.dataset.run)"))

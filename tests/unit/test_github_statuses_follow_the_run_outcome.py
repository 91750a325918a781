"""Which commit status a push run's transition stands for, and which repository a git URL names."""

from __future__ import annotations

from datetime import UTC, datetime

from tekton_runner.chain.status.notifying import commit_status
from tekton_runner.models.ids import RunId
from tekton_runner.models.progress import Progress, Subject
from tekton_runner.models.runs import Endpoint, Run, RunState
from tekton_runner.models.spec import RunSpec
from tekton_runner.notify.github import repository_of

NOW = datetime(2026, 12, 1, tzinfo=UTC)
SPEC = RunSpec.model_validate({"workspace": "demo", "app": {"name": "shop", "port": 8080},
                               "source": {"type": "git", "url": "https://github.com/acme/shop.git", "revision": "abc"}})


def run(**changes: object) -> Run:
    return Run.model_validate({"id": RunId("r-0123456789abcdef"), "spec": SPEC, "state": RunState.SUCCEEDED,
                               "image": "harbor.test/library/demo-shop:abc", "created_at": NOW, "updated_at": NOW,
                               "pushed": True, **changes})


def entry(state: str, reason: str = "", message: str = "") -> Progress:
    return Progress(run_id=RunId("r-0123456789abcdef"), seq=1, at=NOW, subject=Subject.RUN, state=state,
                    reason=reason, message=message)


def test_building_is_pending_success_links_the_endpoint_and_failure_names_the_step() -> None:
    assert commit_status(entry("building"), run()) == ("pending", "building run r-0123456789abcdef", None)
    deployed = run(endpoint=Endpoint(namespace="ws-demo", service="shop", external="203.0.113.7:18739"))
    assert commit_status(entry("succeeded", "Deployed", "reachable at 203.0.113.7:18739"), deployed) == (
        "success", "deployed: reachable at 203.0.113.7:18739", "http://203.0.113.7:18739")
    assert commit_status(entry("failed", "migration:MigrationFailed", "Job failed"), run()) == (
        "failure", "failed at step migration: MigrationFailed: Job failed", None)
    assert commit_status(entry("deploying"), run()) is None
    assert commit_status(entry("pending", "Pushed"), run()) is None


def test_the_repository_comes_from_https_ssh_and_scp_style_urls() -> None:
    assert repository_of("https://github.com/acme/shop.git") == ("acme", "shop")
    assert repository_of("https://github.com/acme/shop") == ("acme", "shop")
    assert repository_of("git@github.com:acme/shop.git") == ("acme", "shop")
    assert repository_of("ssh://git@github.com/acme/shop.git") == ("acme", "shop")
    assert repository_of("https://example.com") is None

"""`tekton-runner submit --dependencies redis,rabbitmq` sends the list; the older `--dependency` its alias."""

from __future__ import annotations

from tekton_runner.cli import build_parser
from tekton_runner.client.requests import request_body

FLAGS = ["submit", "--workspace", "demo", "--app", "shop", "--git", "https://git.example.com/shop.git"]


def test_dependencies_flag_becomes_the_list() -> None:
    body = request_body(build_parser().parse_args([*FLAGS, "--dependencies", "redis, rabbitmq"]))
    assert body["dependencies"] == ["redis", "rabbitmq"] and "dependency" not in body


def test_empty_dependencies_flag_asks_for_none() -> None:
    assert request_body(build_parser().parse_args([*FLAGS, "--dependencies", ""]))["dependencies"] == []


def test_older_dependency_flag_sends_the_alias() -> None:
    body = request_body(build_parser().parse_args([*FLAGS, "--dependency", "sql"]))
    assert body["dependency"] == {"type": "sql"} and "dependencies" not in body

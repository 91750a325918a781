"""The access log never records the sink's secret path segment or a one-time archive token."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tekton_runner.handlers.access import AccessLogger, access_log, redact


def test_secret_segments_are_masked() -> None:
    assert redact("/cloudevents/s3cr3t-value") == "/cloudevents/***"
    assert redact("/sources/archive/tok123") == "/sources/archive/***"
    assert redact("/cloudevents") == "/cloudevents"
    assert redact("/runs/r-1") == "/runs/r-1"


async def test_served_requests_are_logged_without_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    app = web.Application()

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_post("/cloudevents/{secret}", ok)
    caplog.set_level(logging.INFO, logger="tekton_runner.access")  # aiohttp checks the level at start
    server = TestServer(app)
    await server.start_server(access_log=access_log, access_log_class=AccessLogger)
    client = TestClient(server)
    await client.start_server()
    try:
        response = await client.post("/cloudevents/very-secret-path-value")
        assert response.status == 200
        await response.release()
    finally:
        await client.close()  # the line is written once the server has finished the request
    lines = [record.getMessage() for record in caplog.records if record.name == "tekton_runner.access"]
    assert any("POST /cloudevents/*** 200" in line for line in lines), lines
    assert not any("very-secret" in line for line in lines)

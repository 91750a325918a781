"""The web page's files: open without the token (they hold no data), with their content types, a strict
Content-Security-Policy, revalidation by ETag, and no inline script or style for the policy to allow."""

from __future__ import annotations

import re

from tests.integration.harness import Harness

TYPES = {"/ui": "text/html", "/ui/app.js": "text/javascript", "/ui/app.css": "text/css"}


async def test_page_script_and_style_are_served_without_the_token_under_a_strict_policy(harness: Harness) -> None:
    await harness.stop()
    await harness.start(token="s3cret")
    assert (await harness.http.get("/runs")).status == 401
    for path, content_type in TYPES.items():
        response = await harness.http.get(path)
        assert response.status == 200, path
        assert response.content_type == content_type and response.charset == "utf-8"
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src 'self';" in policy and "connect-src 'self';" in policy
        assert "unsafe" not in policy and "http" not in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-cache"
        again = await harness.http.get(path, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status == 304 and await again.read() == b""


async def test_page_has_no_inline_script_or_style_and_names_only_its_own_files(harness: Harness) -> None:
    html = await (await harness.http.get("/ui")).text()
    assert re.findall(r"<script[^>]*>", html) == ['<script type="module" src="/ui/app.js">']
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html, re.IGNORECASE)
    assert re.findall(r'(?:src|href)="([^"#]*)"', html) == ["/ui/app.css", "/ui/app.js"]
    script = await (await harness.http.get("/ui/app.js")).text()
    assert "innerHTML" not in script and "outerHTML" not in script and "insertAdjacentHTML" not in script
    assert "EventSource" not in script.replace("EventSource cannot", "")  # the stream is read with fetch


async def test_unknown_files_under_ui_are_404(harness: Harness) -> None:
    for path in ("/ui/index.html", "/ui/../app.py", "/ui/secrets.js", "/ui/"):
        response = await harness.http.get(path)
        assert response.status == 404, path

"""LTI 1.3 in real headless Chromium: the fake LMS (testing/lti_platform.py, on http://127.0.0.1:P) frames the tool
(waitress on http://localhost:T, another site, so the iframe is truly cross-site): login, launch, the cookie
check, the embed search and the player inside the frame; and Deep Linking, whose signed answer the platform checks
against the tool's JWKS.

If this Chromium refuses the session cookie in the third-party frame, the launch page offers "Open LectureFind in a
new window" (the documented fallback) and the test goes on in that popup; which path ran is printed.
Screenshots go to test-artifacts/ at the repository root.
"""
from __future__ import annotations

import json
import os
import shutil
import time

import pytest
from helpers import GT, gt_question
from web_helpers import ARTIFACTS, CHROMIUM, LiveServer, browser_page, chromium, lecture_ids, make_app

from testing.lti_platform import CLAIM, DL_CLAIM, INSTRUCTOR, LEARNER, FakePlatform

pytestmark = [pytest.mark.browser, pytest.mark.models,
              pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                 reason="needs Debian chromium (scripts/setup.sh --test)")]

PLAYING_AT = """(s) => { const v = document.querySelector('video');
  return v && !v.paused && v.readyState >= 3 && Math.abs(v.currentTime - s) < 2; }"""
# when the frame's current document was rendered (first contentful paint, else DOMContentLoaded), epoch ms
RENDERED_AT = """() => { const p = performance.getEntriesByName('first-contentful-paint')[0];
  const n = performance.getEntriesByType('navigation')[0];
  return performance.timeOrigin + (p ? p.startTime : n.domContentLoadedEventEnd); }"""


@pytest.fixture(scope="module")
def index(sample_index, tmp_path_factory) -> str:
    dst = str(tmp_path_factory.mktemp("lti-browser") / "index")
    shutil.copytree(sample_index, dst)
    return dst


@pytest.fixture(scope="module")
def platform(index):
    with FakePlatform() as p:
        p.register(index, course=GT["course"])
        yield p


@pytest.fixture(scope="module")
def tool(index, models, platform):
    app = make_app(index, models, ACCESS="lti", EMBED_ORIGINS=platform.issuer)
    with LiveServer(app) as server:
        platform.tool_url = f"http://localhost:{server.port}"     # another site than the LMS on 127.0.0.1
        yield server


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("playwright")
    os.makedirs(ARTIFACTS, exist_ok=True)
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser):
    with browser_page(browser, height=900) as pg:
        yield pg


def _frame(page):
    """The tool's iframe as a Frame (looked up afresh: a cross-site navigation may swap it)."""
    return page.locator("#tool").element_handle().content_frame()


def _launch(page, platform, message: str = "LtiResourceLinkRequest"):
    """Open the LMS course page; wait for the embed search in the frame or the new-window fallback. Returns
    (where to go on: the frame or the popup Page, "iframe" or "new-window", login request start in epoch ms)."""
    login = {}
    page.on("request", lambda r: login.setdefault("req", r) if "/lti/login" in r.url else None)
    page.goto(f"{platform.issuer}/course?message={message}")
    fl = page.frame_locator("#tool")
    fl.locator("#q").or_(fl.locator("#lti-new-window")).first.wait_for(state="visible")
    assert "req" in login, "the frame never asked the tool's /lti/login"
    login_ms = login["req"].timing["startTime"]
    frame = _frame(page)
    if frame.locator("#lti-new-window").count():
        link = frame.locator("#lti-new-window")
        assert link.get_attribute("target") == "_blank" and "/lti/resume?ticket=" in link.get_attribute("href")
        page.screenshot(path=os.path.join(ARTIFACTS, "lti-iframe-fallback.png"), full_page=True)
        with page.expect_popup() as info:
            link.click()
        popup = info.value
        popup.set_default_timeout(30000)
        popup.wait_for_selector("#q")
        return popup, "new-window", login_ms
    return frame, "iframe", login_ms


def test_lti_launch_in_cross_site_iframe_search_and_play(page, tool, platform, sample_index):
    platform.user = {"sub": "student-1", "roles": [LEARNER], "context": {"id": "ctx-101", "title": "EE 101"}}
    q = gt_question("priority encoder")
    answer = q["answer"]
    lid = lecture_ids(sample_index)[answer["file"]]

    where, path, login_ms = _launch(page, platform)
    launch_ms = where.evaluate(RENDERED_AT) - login_ms
    print(f"\nLTI cookie path: {path}; launch (login request -> first search page rendered): {launch_ms:.0f} ms")
    assert where.url.startswith(platform.tool_url + "/embed"), (path, where.url)
    assert 0 < launch_ms < 15000, (path, launch_ms)
    if path == "iframe":      # the session cookie was kept in the third-party frame
        cookies = page.context.cookies(platform.tool_url)
        assert any(c["name"] == "lf_session" and c["sameSite"] == "None" and c["secure"] for c in cookies), cookies

    where.locator("#q").fill(q["text"])
    where.locator("#q").press("Enter")
    where.locator("a.moment").first.wait_for()
    assert where.locator(".error-box").count() == 0, (path, where.locator(".error-box").inner_text())
    shot = page if path == "iframe" else where
    shot.screenshot(path=os.path.join(ARTIFACTS, "lti-iframe-search.png"), full_page=True)
    first = where.locator("a.moment").first
    assert first.locator("xpath=ancestor::article").get_attribute("data-lecture-id") == str(lid), path
    start = float(first.get_attribute("data-start"))
    assert answer["start_s"] - 9.5 <= start <= answer["start_s"] + 10.5, (path, start, answer)
    assert "/embed/watch/" in first.get_attribute("href"), first.get_attribute("href")

    t0 = time.perf_counter()
    first.click()
    if path == "iframe":
        where = _frame(page)
    where.wait_for_function(PLAYING_AT, arg=start, timeout=20000)
    print(f"click -> playing within 2 s of {start:.1f} s ({path}): {(time.perf_counter() - t0) * 1000:.0f} ms")
    assert "/embed/watch/" in where.url, (path, where.url)
    if path == "iframe":
        assert page.url.startswith(platform.issuer + "/course")     # the LMS page stayed around the frame
    # a second into the moment, so the frame shows its slide rather than the last frame before the cut
    where.wait_for_function("(s) => document.querySelector('video').currentTime >= s + 1", arg=start, timeout=5000)
    shot.screenshot(path=os.path.join(ARTIFACTS, "lti-iframe-player.png"), full_page=True)
    with open(os.path.join(ARTIFACTS, "lti-browser.json"), "w") as f:
        json.dump({"cookie_path": path, "launch_ms": round(launch_ms)}, f, indent=1)


def test_deep_linking_in_the_browser(page, tool, platform, sample_index):
    platform.user = {"sub": "teacher-1", "roles": [INSTRUCTOR], "context": {"id": "ctx-101", "title": "EE 101"}}
    platform.deep_link_results.clear()
    lid = lecture_ids(sample_index)[gt_question("priority encoder")["answer"]["file"]]
    try:
        where, path, _ = _launch(page, platform, "LtiDeepLinkingRequest")
        print(f"\nLTI cookie path (deep linking): {path}")
        assert "pick=1" in where.url, (path, where.url)
        where.locator("#q").fill("fixed rank arbitration with a priority encoder")
        where.locator("#q").press("Enter")
        where.locator("button.choose").filter(has_text="Add this moment to the course").first.wait_for()
        (page if path == "iframe" else where).screenshot(path=os.path.join(ARTIFACTS, "lti-deeplink-search.png"),
                                                         full_page=True)
        pick = where.locator("form.pick").filter(has_text="Add this moment to the course").first
        want_lid = pick.locator("input[name=lecture_id]").get_attribute("value")
        want_t = pick.locator("input[name=t]").get_attribute("value")
        assert want_lid == str(lid), (want_lid, lid)
        pick.locator("button.choose").click()
        if path == "iframe":
            where = _frame(page)
        where.wait_for_selector("#dl-done")                      # the platform's /dl-return answered
        assert where.url == platform.issuer + "/dl-return", where.url
        (page if path == "iframe" else where).screenshot(path=os.path.join(ARTIFACTS, "lti-deeplink.png"),
                                                         full_page=True)
    finally:
        platform.message = "LtiResourceLinkRequest"
    assert len(platform.deep_link_results) == 1, platform.deep_link_results
    claims = platform.deep_link_results[0]
    assert claims[CLAIM + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[DL_CLAIM + "data"] == "opaque-123" and claims["aud"] == platform.issuer
    (item,) = claims[DL_CLAIM + "content_items"]
    assert item["type"] == "ltiResourceLink", item
    assert item["custom"] == {"lecture_id": want_lid, "t": want_t}, item
    assert item["url"].startswith(platform.tool_url + "/lti/launch"), item


def test_registered_platform_may_frame_the_tool_without_embed_origins(index, models, platform):
    """In `lti` mode the registered platform's origin is a frame ancestor by itself (EMBED_ORIGINS not needed)."""
    client = make_app(index, models, ACCESS="lti").test_client()
    for url in ("/lti/jwks.json", "/embed/"):
        csp = client.get(url).headers["Content-Security-Policy"]
        assert f"frame-ancestors 'self' {platform.issuer}" in csp, (url, csp)

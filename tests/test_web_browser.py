"""End to end in real headless Chromium (Debian's /usr/bin/chromium via Playwright) against a waitress server.

Screenshots and timings go to test-artifacts/ at the repository root.
"""
from __future__ import annotations

import json
import os
import time

import pytest
from helpers import DECK, GT, gt_question, gt_slide, gt_slide_index
from web_helpers import (
    ARTIFACTS,
    CHROMIUM,
    SAMPLE,
    LiveServer,
    StaticPages,
    browser_page,
    chromium,
    lecture_ids,
    make_app,
)

L1, L2 = (v["file"] for v in GT["videos"])

pytestmark = [pytest.mark.browser, pytest.mark.models,
              pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                 reason="needs Debian chromium (scripts/setup.sh --test)")]

TIMINGS: dict = {}


@pytest.fixture(scope="module")
def lms():
    """Two 'LMS' origins on their own ports: the first is allowed to frame /embed, the second is not."""
    with StaticPages() as allowed, StaticPages() as blocked:
        yield allowed, blocked


@pytest.fixture(scope="module")
def live(sample_index, models, lms):
    allowed, _ = lms
    app = make_app(sample_index, models, EMBED_ORIGINS=allowed.origin)
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="module")
def ids(sample_index) -> dict:
    """Lecture ids by file name, and as "pdf", "l1", "l2"."""
    ids = lecture_ids(sample_index)
    return {**ids, "pdf": ids[DECK["file"]], "l1": ids[L1], "l2": ids[L2]}


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("playwright")
    os.makedirs(ARTIFACTS, exist_ok=True)
    with chromium() as b:
        yield b
    if TIMINGS:
        with open(os.path.join(ARTIFACTS, "browser-timings.json"), "w") as f:
            json.dump(TIMINGS, f, indent=1)


@pytest.fixture
def page(browser):
    with browser_page(browser, height=860) as pg:
        yield pg


PLAYING_AT = """(s) => { const v = document.querySelector('video');
  return v && !v.paused && v.readyState >= 3 && Math.abs(v.currentTime - s) < 2; }"""


def test_question_click_first_result_plays_at_the_moment(page, live, ids):
    q = gt_question("priority encoder")
    answer = q["answer"]
    page.goto(live.url + "/")
    page.fill("#q", q["text"])
    page.press("#q", "Enter")
    page.wait_for_selector("a.moment")
    page.screenshot(path=os.path.join(ARTIFACTS, "search.png"), full_page=True)
    first = page.locator("a.moment").first
    assert first.locator("xpath=ancestor::article").get_attribute("data-lecture-id") == str(ids[answer["file"]])
    start = float(first.get_attribute("data-start"))
    assert answer["start_s"] - 9.5 <= start <= answer["start_s"] + 10.5, (start, answer)
    t0 = time.perf_counter()
    first.click()
    page.wait_for_function(PLAYING_AT, arg=start, timeout=20000)
    click_to_play = time.perf_counter() - t0
    TIMINGS["click_to_playing_s"] = round(click_to_play, 3)
    print(f"\nclick → video playing within 2 s of {start:.1f} s: {click_to_play * 1000:.0f} ms")
    state = page.evaluate("""() => { const v = document.querySelector('video'); const tr = v.textTracks[0];
        return {t: v.currentTime, mode: tr.mode, cues: tr.cues ? tr.cues.length : 0,
                markers: document.querySelectorAll('.marker').length}; }""")
    assert abs(state["t"] - start) < 2 + click_to_play
    assert state["mode"] == "showing" and state["cues"] > 10      # captions on by default
    assert state["markers"] >= 1                                   # the query's hits on the timeline
    # headless Chromium paints captions over a paused frame: pause inside a cue for the screenshot
    page.evaluate("(s) => { const v = document.querySelector('video'); v.pause(); v.currentTime = s + 2.5; }", start)
    page.wait_for_function("() => { const tr = document.querySelector('video').textTracks[0]; "
                           "return tr.activeCues && tr.activeCues.length > 0; }", timeout=5000)
    page.wait_for_timeout(300)
    page.screenshot(path=os.path.join(ARTIFACTS, "player.png"), full_page=True)
    # keyboard: a transcript line is a button; Enter on it seeks the player there
    line = page.locator("#transcript-lines .line").nth(2)
    target = float(line.get_attribute("data-t"))
    line.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("(s) => Math.abs(document.querySelector('video').currentTime - s) < 1.5", arg=target)


def test_keyboard_only_search_to_player(page, live, ids):
    page.goto(live.url + "/?q=who+introduced+the+word+eigen+into+mathematics")
    page.focus("#q")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.classList.contains('moment')")
    start = float(page.evaluate("document.activeElement.dataset.start"))
    page.keyboard.press("Enter")
    page.wait_for_url("**/watch/**")
    page.wait_for_function("(s) => { const v = document.querySelector('video'); "
                           "return v && v.readyState >= 1 && Math.abs(v.currentTime - s) < 2; }", arg=start)


def _photo_of(png_path: str, out_path: str) -> None:
    """A phone-photo-like JPEG of a slide: perspective, off-centre crop, darker, lossy."""
    from PIL import Image, ImageEnhance, ImageFilter

    im = Image.open(png_path).convert("RGB")
    w, h = im.size
    quad = (40, 30, 25, h - 10, w - 15, h - 45, w - 60, 10)      # corners in the source: a tilted view
    im = im.transform((1024, 600), Image.Transform.QUAD, quad, Image.Resampling.BICUBIC)
    im = ImageEnhance.Brightness(im).enhance(0.85).filter(ImageFilter.GaussianBlur(0.8))
    im.save(out_path, "JPEG", quality=72)


def test_slide_photo_upload_finds_the_right_lecture_first(page, live, ids, tmp_path):
    slide = gt_slide(L1, gt_slide_index(L1, kind="diagram"))
    photo = str(tmp_path / "slide-photo.jpg")
    _photo_of(os.path.join(SAMPLE, slide["image"]), photo)
    page.goto(live.url + "/")
    page.set_input_files("#image", photo)
    page.click("#go")
    page.wait_for_selector("#summary")
    page.screenshot(path=os.path.join(ARTIFACTS, "search-image.png"), full_page=True)
    assert not page.locator(".error-box").count(), page.locator(".error-box").inner_text()
    first_group = page.locator("article.lecture-group").first
    assert first_group.get_attribute("data-lecture-id") == str(ids[L1])
    start = float(first_group.locator("a.moment").first.get_attribute("data-start"))
    assert slide["start_s"] - 2 <= start <= slide["end_s"], (start, slide["start_s"], slide["end_s"])


def test_embed_loads_in_allowed_lms_and_is_blocked_elsewhere(page, live, lms):
    allowed, blocked = lms
    html = (f'<!doctype html><title>LMS</title><h1>Course page</h1>'
            f'<iframe id="lf" src="{live.url}/embed?q=bus+arbitration" width="980" height="640" '
            f'title="LectureFind search"></iframe>')
    allowed.pages["/course.html"] = blocked.pages["/course.html"] = html

    page.goto(allowed.origin + "/course.html")
    frame = page.frame_locator("#lf")
    frame.locator("a.moment").first.wait_for()
    assert frame.locator("#q").input_value() == "bus arbitration"
    page.screenshot(path=os.path.join(ARTIFACTS, "embed-allowed.png"))

    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text))
    page.goto(blocked.origin + "/course.html")
    page.wait_for_load_state("load")
    page.wait_for_timeout(500)
    child = [f for f in page.frames if f != page.main_frame][0]
    blocked_by_csp = any("frame-ancestors" in m for m in messages)
    assert blocked_by_csp or not child.url.startswith(live.url), (child.url, messages)
    assert child.locator("#q").count() == 0                         # nothing of the app rendered in the frame
    page.screenshot(path=os.path.join(ARTIFACTS, "embed-blocked.png"))


def test_audit_page_matrix_cell_opens_the_moment(page, sample_index, models, ids):
    """An instructor pastes objectives, sees the coverage matrix, and a covered cell plays the moment."""
    objectives = ("# Linear algebra\n- Derive the eigenvalue condition det(A − λI) = 0\n"
                  "# Computer organisation\n- Compare fixed-priority and round-robin arbitration\n"
                  "- Explain photosynthesis in plant chloroplasts\n")
    with LiveServer(make_app(sample_index, models, AUDIT=True)) as server:
        page.goto(server.url + "/audit")
        page.fill("#objectives", objectives)
        page.click(".audit-form button[type=submit]")
        page.wait_for_selector("#coverage-matrix")
        page.screenshot(path=os.path.join(ARTIFACTS, "audit.png"), full_page=True)
        rows = page.locator("#coverage-matrix tr.objective")
        assert rows.count() == 3
        assert page.locator("#coverage-matrix tr.objective.missing").count() == 1
        cell = page.locator(f"#coverage-matrix tr.objective.covered td.cell.covered a[href^='/watch/{ids['l2']}']")
        assert cell.count() == 1
        href = cell.first.get_attribute("href")
        start = float(href.split("t=")[1])
        cell.first.click()
        page.wait_for_function(PLAYING_AT, arg=start, timeout=20000)
        assert page.url.endswith(href)


def test_chapters_list_seeks_the_player(page, live, ids):
    """The chapters beside the transcript: one per distinct slide title, in order; a click plays from its start."""
    video = next(v for v in GT["videos"] if v["file"] == L1)
    page.goto(live.url + f"/watch/{ids['l1']}?t=0")
    page.wait_for_selector("#chapters .chapter")
    titles = page.locator("#chapters .chapter").all_inner_texts()
    want = [s["title"] for s in video["slides"]]
    assert len(titles) == len(want) and all(w in t for w, t in zip(want, titles)), (titles, want)
    third = page.locator("#chapters .chapter").nth(3)
    start = float(third.get_attribute("data-t"))
    assert abs(start - video["slides"][3]["start_s"]) <= 1.0
    third.click()
    page.wait_for_function("(s) => Math.abs(document.querySelector('video').currentTime - s) < 1.5", arg=start)
    # the chapter being played is the one marked, and only it
    page.wait_for_function("() => document.querySelectorAll('#chapters .chapter.current').length === 1 && "
                           "document.querySelectorAll('#chapters .chapter')[3].classList.contains('current')")
    page.locator("#chapters").scroll_into_view_if_needed()
    page.screenshot(path=os.path.join(ARTIFACTS, "chapters.png"), full_page=True)

"""Web front end through Flask's test client, on the session's sample index."""
from __future__ import annotations

import io
import os
import re
import sqlite3
from html import escape as html_escape
from html.parser import HTMLParser

import pytest
from helpers import DECK, GT, PAGES, VIDEOS, gt_question, gt_slide, gt_slide_index
from web_helpers import SAMPLE, ask_at_once, lecture_ids, make_app

L1, L2 = (v["file"] for v in GT["videos"])
SLIDE_PNG = os.path.join(SAMPLE, gt_slide(L1, gt_slide_index(L1, kind="diagram"))["image"])   # shipped PNG
LMS = "https://lms.example.edu"


@pytest.fixture(scope="module")
def app(sample_index, models):
    return make_app(sample_index, models, EMBED_ORIGINS=f"{LMS}, https://*.moodle.example.org junk;origin")


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def ids(sample_index) -> dict:
    """Lecture ids by file name, and as "pdf", "l1", "l2"."""
    ids = lecture_ids(sample_index)
    return {**ids, "pdf": ids[DECK["file"]], "l1": ids[L1], "l2": ids[L2]}


class Tags(HTMLParser):
    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def find(self, tag, **attrs):
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


# -- pages ----------------------------------------------------------------------------------------
def test_home_page_has_labelled_controls_and_security_headers(client):
    r = client.get("/")
    assert r.status_code == 200 and r.mimetype == "text/html"
    tags = Tags(r.get_data(as_text=True))
    labels = {a.get("for") for a in tags.find("label")}
    for t, a in tags.tags:
        if t in ("input", "select", "textarea") and a.get("type") != "hidden":
            assert a.get("id") in labels or a.get("aria-label"), f"unlabelled {t} {a}"
    assert {"q", "image", "audio", "course"} <= labels
    assert tags.find("form", enctype="multipart/form-data")
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in csp and LMS not in csp and "script-src 'self'" in csp
    assert r.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in r.get_data(as_text=True).replace('<script src=', '')   # no inline scripts (CSP)


def test_search_results_grouped_with_thumbnails_times_and_highlights(client, ids):
    q = gt_question("priority encoder")
    answer = q["answer"]
    r = client.get("/", query_string={"q": q["text"]})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    groups = re.findall(r'<article class="lecture-group" data-lecture-id="(\d+)"', html)
    want = ids[answer["file"]]
    assert groups and int(groups[0]) == want and len(groups) == len(set(groups))   # one block per lecture
    first = re.search(r'<a class="moment" href="([^"]+)" data-start="([\d.]+)"', html)
    href, start = first.group(1).replace("&amp;", "&"), float(first.group(2))
    assert href.startswith(f"/watch/{want}?t={int(start)}") and "q=fixed" in href and "hits=" in href
    assert answer["start_s"] - 9.5 <= start <= answer["start_s"] + 5.5, (start, answer)
    assert re.search(r"\b\d+:\d\d–\d+:\d\d\b", html)      # the clock format of timecode.py (m:ss)
    assert "<mark>priority</mark>" in html.lower() or "<mark>encoder</mark>" in html.lower()
    thumbs = re.findall(r'<img class="thumb" src="(/thumb/\d+\.jpg)"', html)
    assert thumbs
    t = client.get(thumbs[0])
    assert t.status_code == 200 and t.mimetype == "image/jpeg" and t.data[:3] == b"\xff\xd8\xff"


def test_thumbnail_is_the_slide_covering_the_moment_start(app, sample_index, ids):
    with app.app_context():
        cat = app.extensions["lecturefind"].catalog()
        for t in (0.0, 50.0, 100.0, 140.0):
            row = cat.slide_at(ids["l1"], t)
            span = cat.one("SELECT start_s, end_s FROM slides WHERE id=?", (row["id"],))
            assert span["start_s"] <= t + 0.01 < span["end_s"] + 0.01


def test_pdf_results_link_to_pages(client, ids):
    r = client.get("/", query_string={"q": "diagonalization with n independent eigenvectors handout"})
    html = r.get_data(as_text=True)
    assert f'href="/pdf/{ids["pdf"]}?page=' in html
    assert "page " in html


def test_post_without_files_redirects_to_shareable_get(client):
    r = client.post("/", data={"q": "bus  arbitration", "course": "", "k": "10"})
    assert r.status_code == 303
    assert r.headers["Location"].startswith("/?q=bus+arbitration")


def test_watch_page(client, ids):
    r = client.get(f"/watch/{ids['l1']}", query_string={"t": "47.2", "q": "eigenvalue condition", "hits": "47.2,108,x"})
    assert r.status_code == 200
    tags = Tags(r.get_data(as_text=True))
    video = tags.find("video")[0]
    assert "controls" in video
    source = tags.find("source")[0]
    assert source["src"] == f"/media/{ids['l1']}#t=47.20" and source["type"] == "video/mp4"
    track = tags.find("track")[0]
    assert track["kind"] == "captions" and "default" in track and track["src"] == f"/captions/{ids['l1']}.vtt"
    assert tags.find("div", id="player")[0]["data-start"] == "47.20"
    markers = [a for t, a in tags.tags if t == "button" and "marker" in (a.get("class") or "")]
    assert [m["data-t"] for m in markers] == ["47.20", "108.00"]
    assert all(m.get("aria-label") for m in markers)
    lines = [a for t, a in tags.tags if t == "button" and "line" in (a.get("class") or "").split()]
    assert len(lines) > 10                                            # transcript lines seek the player
    # t is clamped to the lecture; ids that are not videos are 404
    assert client.get(f"/watch/{ids['l1']}?t=99999").status_code == 200
    assert client.get(f"/watch/{ids['pdf']}").status_code == 404
    assert client.get("/watch/424242").status_code == 404
    assert client.get(f"/watch/{ids['l1']}?t=nan").status_code == 404


def test_captions_vtt(client, ids, ground_truth):
    r = client.get(f"/captions/{ids['l1']}.vtt")
    assert r.status_code == 200 and r.mimetype == "text/vtt"
    text = r.get_data(as_text=True)
    assert text.startswith("WEBVTT\n")
    cues = re.findall(r"(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})", text)
    assert len(cues) > 10
    secs = [(int(a) * 3600 + int(b) * 60 + int(c) + int(d) / 1000, int(e) * 3600 + int(f) * 60 + int(g) + int(h) / 1000)
            for a, b, c, d, e, f, g, h in cues]
    assert all(a < b for a, b in secs) and all(secs[i][1] <= secs[i + 1][0] for i in range(len(secs) - 1))
    assert secs[-1][1] <= ground_truth["videos"][0]["duration_s"] + 1
    assert "eigenvalues" in text.lower()
    assert client.get(f"/captions/{ids['pdf']}.vtt").status_code == 404


def test_pdf_page(client, ids):
    r = client.get(f"/pdf/{ids['pdf']}?page=2")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    img = re.search(r'<img src="(/thumb/\d+\.jpg)" alt="Page 2 of', html)
    assert img and client.get(img.group(1)).status_code == 200
    assert 'rel="next" href="/pdf/' in html and 'rel="prev"' in html
    for bad in ("?page=0", f"?page={len(PAGES) + 1}", "?page=abc", "?page=-1", "?page=%C2%B9", "?page=" + "9" * 5000):
        assert client.get(f"/pdf/{ids['pdf']}{bad}").status_code == 404
    assert client.get(f"/pdf/{ids['l1']}?page=1").status_code == 404


def test_browsing(client, ids):
    r = client.get("/courses")
    assert r.status_code == 200 and GT["course"] in r.get_data(as_text=True)
    cid = re.search(r'href="/courses/(\d+)"', r.get_data(as_text=True)).group(1)
    html = client.get(f"/courses/{cid}").get_data(as_text=True)
    assert f'/watch/{ids["l1"]}?t=0' in html and f'/pdf/{ids["pdf"]}?page=1' in html
    html = client.get(f"/lectures/{ids['l2']}").get_data(as_text=True)
    assert len(re.findall(r'<img src="/thumb/\d+\.jpg"', html)) == len(VIDEOS[L2]["slides"])
    assert client.get("/courses/999").status_code == 404


# -- media ----------------------------------------------------------------------------------------
def test_media_range_etag_and_mime(client, ids):
    path = os.path.join(SAMPLE, L1)
    data = open(path, "rb").read()
    full = client.get(f"/media/{ids['l1']}")
    assert full.status_code == 200 and full.mimetype == "video/mp4" and full.data == data
    assert full.headers["Accept-Ranges"] == "bytes" and full.headers["ETag"] and full.headers["Last-Modified"]
    part = client.get(f"/media/{ids['l1']}", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.data == data[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    tail = client.get(f"/media/{ids['l1']}", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.data == data[-10:]
    bad = client.get(f"/media/{ids['l1']}", headers={"Range": f"bytes={len(data) + 10}-"})
    assert bad.status_code == 416
    assert client.get(f"/media/{ids['l1']}", headers={"If-None-Match": full.headers["ETag"]}).status_code == 304
    assert client.get(f"/media/{ids['l1']}",
                      headers={"If-Modified-Since": full.headers["Last-Modified"]}).status_code == 304
    pdf = client.get(f"/media/{ids['pdf']}", headers={"Range": "bytes=0-4"})
    assert pdf.status_code == 206 and pdf.mimetype == "application/pdf" and pdf.data == b"%PDF-"


@pytest.mark.parametrize("url", [
    "/media/../../etc/passwd", "/media/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/media/-1", "/media/1.5",
    "/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/lecturefind/web/__init__.py",
    "/static/..%2f..%2fpyproject.toml", "/thumb/..%2f..%2fcatalog.sqlite", "/thumb/99999.jpg",
    "/captions/..%2f1.vtt", "/captions/%2fetc%2fpasswd.vtt", "/keyframes/x.jpg", "/catalog.sqlite",
    "/pdf/1/../../etc/passwd", "/watch/..%2f..%2fetc%2fpasswd",
])
def test_no_path_traversal(client, url):
    r = client.get(url)
    assert r.status_code in (400, 404), (url, r.status_code)
    body = r.get_data(as_text=True)
    assert "root:" not in body and "[project]" not in body and "import " not in body and "SQLite" not in body


# -- embed ----------------------------------------------------------------------------------------
def test_embed_frame_ancestors_and_cookies(client, ids):
    r = client.get("/embed", query_string={"course": GT["course"]})
    assert r.status_code == 200
    csp = r.headers["Content-Security-Policy"]
    assert f"frame-ancestors 'self' {LMS} https://*.moodle.example.org" in csp and "junk" not in csp
    assert "X-Frame-Options" not in r.headers
    cookie = r.headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie and "Secure" not in cookie
    rs = client.get("/embed", query_string={"course": GT["course"]}, base_url="https://localhost")
    cookie = rs.headers["Set-Cookie"]
    assert "SameSite=None" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    w = client.get(f"/embed/watch/{ids['l1']}?t=10")
    assert w.status_code == 200 and LMS in w.headers["Content-Security-Policy"]
    assert f"/media/{ids['l1']}#t=10.00" in w.get_data(as_text=True)
    assert client.get(f"/embed/pdf/{ids['pdf']}?page=3").status_code == 200
    # every non-embed page only allows itself as a frame ancestor
    for url in ("/", f"/watch/{ids['l1']}", "/courses", "/api/lectures", "/nope"):
        assert client.get(url).headers["Content-Security-Policy"].endswith("frame-ancestors 'self'"), url


def test_embed_results_stay_in_embed(client, ids):
    html = client.get("/embed", query_string={"q": "what clock frequency does the FPGA arbiter use"}).get_data(
        as_text=True)
    links = re.findall(r'<a class="moment" href="([^"]+)"', html)
    assert links and all(h.startswith("/embed/watch/") or h.startswith("/embed/pdf/") for h in links)
    assert '<header class="top compact">' in html and "<nav aria-label=\"Main\">" not in html


# -- JSON API + OpenAPI ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def spec(app):
    from openapi_spec_validator import validate

    doc = app.test_client().get("/api/openapi.json").get_json()
    validate(doc)
    return doc


def check(spec, name: str, instance) -> None:
    from jsonschema import Draft202012Validator

    schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    errors = sorted(Draft202012Validator(schema).iter_errors(instance), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


def test_openapi_covers_the_api_routes(app, spec):
    rules = {re.sub(r"<(?:int:|id:)?(\w+)>", r"{\1}", r.rule).replace("{lecture_id}", "{id}")
             for r in app.url_map.iter_rules() if r.rule.startswith("/api/")}
    assert rules == set(spec["paths"])


def test_api_search_get_matches_openapi_and_cli_json(client, spec, searcher, ids):
    question = gt_question("word eigen")
    q = question["text"]
    r = client.get("/api/search", query_string={"q": q, "k": 5})
    assert r.status_code == 200 and r.mimetype == "application/json"
    body = r.get_json()
    check(spec, "SearchResponse", body)
    assert body["query"] == {"q": q, "k": 5, "course": None, "image": False, "audio": False}
    cli = [m.to_json() for m in searcher.search(text=q, k=5)]
    assert [(m["lecture_id"], m["start_s"], m["url"]) for m in body["results"]] == \
           [(m["lecture_id"], m["start_s"], m["url"]) for m in cli]
    assert [m["file"] for m in body["results"]] == [os.path.basename(m["file"]) for m in cli]
    top, answer = body["results"][0], question["answer"]
    assert top["lecture_id"] == ids[answer["file"]] and top["start_s"] < answer["end_s"], (top, answer)


def test_no_good_answer_is_said_in_the_api_and_the_page(client, spec):
    """A question the course cannot answer: the API says `answered: false` and the page says so above the
    closest moments; an answerable one is `answered: true` with no such notice."""
    for q, expected in (("what is the recipe for a sourdough starter", False),
                        (gt_question("word eigen")["text"], True)):
        body = client.get("/api/search", query_string={"q": q}).get_json()
        check(spec, "SearchResponse", body)
        assert body["answered"] is expected, (q, body["results"][:1])
        assert body["results"] and (body["results"][0]["score"] >= body["confidence_threshold"]) is expected
        page = client.get("/", query_string={"q": q}).get_data(as_text=True)
        assert ('id="no-answer"' in page) is not expected, q


def test_api_search_post_and_course_filter(client, spec):
    r = client.post("/api/search", data={"q": "bus arbitration", "k": "3", "course": GT["course"]})
    assert r.status_code == 200
    check(spec, "SearchResponse", r.get_json())
    assert len(r.get_json()["results"]) <= 3
    r = client.get("/api/search", query_string={"q": "bus arbitration", "course": "No Such Course"})
    assert r.status_code == 200 and r.get_json()["results"] == []


@pytest.mark.parametrize("query,code", [({}, 400), ({"q": "x", "k": "0"}, 400), ({"q": "x", "k": "abc"}, 400),
                                        ({"q": "x" * 501}, 400)])
def test_api_search_bad_parameters(client, spec, query, code):
    r = client.get("/api/search", query_string=query)
    assert r.status_code == code
    check(spec, "Error", r.get_json())


def test_api_lectures_match_openapi(client, spec, ids):
    body = client.get("/api/lectures").get_json()
    check(spec, "LectureList", body)
    assert {lec["id"] for lec in body["lectures"]} == set(ids.values())
    for lid in ids.values():
        d = client.get(f"/api/lectures/{lid}").get_json()
        check(spec, "LectureDetail", d)
    d = client.get(f"/api/lectures/{ids['l1']}").get_json()
    assert d["kind"] == "video" and len(d["slides"]) == len(VIDEOS[L1]["slides"]) and d["transcript"]
    assert client.get(f"/api/lectures/{ids['pdf']}").get_json()["pages"] == len(PAGES)
    r = client.get("/api/lectures/4242")
    assert r.status_code == 404
    check(spec, "Error", r.get_json())


# -- hostile input --------------------------------------------------------------------------------
def test_upload_that_is_not_an_image_is_refused(client, spec):
    fake = (io.BytesIO(b"<svg onload=alert(1)>not a png</svg>" * 10), "slide.png", "image/png")
    r = client.post("/api/search", data={"q": "", "image": fake}, content_type="multipart/form-data")
    assert r.status_code == 415
    check(spec, "Error", r.get_json())
    assert "not an image" in r.get_json()["error"]["message"]
    # a PNG signature with garbage after it is refused too (decoded, not just sniffed)
    broken = (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * 200), "slide.png", "image/png")
    r = client.post("/api/search", data={"image": broken}, content_type="multipart/form-data")
    assert r.status_code == 415
    # the same on the page: the search form is shown again with the message
    fake = (io.BytesIO(b"MZ\x90\x00" * 100), "photo.jpg", "image/jpeg")
    r = client.post("/", data={"q": "eigen", "image": fake}, content_type="multipart/form-data")
    assert r.status_code == 415 and 'role="alert"' in r.get_data(as_text=True) and 'id="q"' in r.get_data(as_text=True)
    wav = (io.BytesIO(b"just text, no audio" * 20), "q.wav", "audio/wav")
    r = client.post("/api/search", data={"audio": wav}, content_type="multipart/form-data")
    assert r.status_code == 415 and "audio" in r.get_json()["error"]["message"]


def test_upload_size_limits(sample_index, models):
    app = make_app(sample_index, models, MAX_IMAGE_BYTES=2000, MAX_AUDIO_BYTES=2000)
    c = app.test_client()
    png = open(SLIDE_PNG, "rb").read()
    assert len(png) > 2000
    r = c.post("/api/search", data={"image": (io.BytesIO(png[:20000]), "s.png")}, content_type="multipart/form-data")
    assert r.status_code == 413 and "too large" in r.get_json()["error"]["message"]
    r = c.post("/api/search", data={"image": (io.BytesIO(png), "s.png")}, content_type="multipart/form-data")
    assert r.status_code == 413 and r.get_json()["error"]["message"]        # over the whole-request limit
    r = c.post("/", data={"image": (io.BytesIO(png), "s.png")}, content_type="multipart/form-data")
    assert r.status_code == 413 and "Upload too large" in r.get_data(as_text=True)
    assert not [f for f in os.listdir(__import__("tempfile").gettempdir()) if f.startswith("lecturefind-image-")]


def test_rate_limit_per_client(sample_index, models):
    app = make_app(sample_index, models, RATE_LIMIT="2/60")
    c = app.test_client()
    assert c.get("/api/search?q=bus").status_code == 200
    assert c.get("/?q=bus").status_code == 200
    r = c.get("/api/search?q=bus")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert "Too many" in r.get_json()["error"]["message"]
    page = c.get("/?q=bus")
    assert page.status_code == 429 and "Too many" in page.get_data(as_text=True)
    assert c.get("/").status_code == 200 and c.get("/courses").status_code == 200   # browsing is not limited
    other = c.get("/api/search?q=bus", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 200                                                  # per client


def test_user_strings_are_escaped(index_copy, models):
    con = sqlite3.connect(os.path.join(index_copy, "catalog.sqlite"))
    lid = con.execute("SELECT l.id FROM lectures l JOIN files f ON f.id=l.file_id WHERE f.path LIKE "
                      "'%lecture01%'").fetchone()[0]
    con.execute("UPDATE lectures SET title='<script>alert(1)</script>' WHERE id=?", (lid,))
    sid = con.execute("SELECT id FROM sentences WHERE lecture_id=? ORDER BY start_s LIMIT 1", (lid,)).fetchone()[0]
    con.execute("UPDATE sentences SET text='<img src=x onerror=alert(2)> eigenvalues & </textarea>' WHERE id=?",
                (sid,))
    con.execute("UPDATE words SET word='<b>Welcome</b>' WHERE sentence_id=? AND word='Welcome'", (sid,))
    con.execute("UPDATE segments SET speech='<img src=x onerror=alert(3)> eigenvalues' WHERE lecture_id=?", (lid,))
    con.execute("UPDATE courses SET name='Course <i>x</i>'")
    con.commit()
    con.close()
    c = make_app(index_copy, models).test_client()
    pages = ["/?q=welcome+to+the+first+lecture+on+eigenvalues", f"/watch/{lid}?q=<script>&hits=1", "/courses",
             f"/lectures/{lid}", "/courses/1", "/embed?q=eigenvalues", "/?q=%3Cscript%3Ealert(1)%3C/script%3E"]
    for url in pages:
        html = c.get(url).get_data(as_text=True)
        for raw in ("<script>alert", "<img src=x", "<b>Welcome", "<i>x</i>", "</textarea>"):
            assert raw not in html, (url, raw)
    html = c.get(pages[0]).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    vtt = c.get(f"/captions/{lid}.vtt").get_data(as_text=True)
    assert "<b>" not in vtt and "&lt;b&gt;Welcome&lt;/b&gt;" in vtt
    assert c.get("/api/lectures").get_json()["lectures"]   # JSON carries the raw title, JSON-encoded


def test_highlight_escapes_before_marking():
    from lecturefind.web.helpers import highlight

    out = str(highlight('<script>alert("eigen")</script> eigenvalues & mark', "eigenvalue script mark"))
    assert "<script>" not in out and "&lt;<mark>script</mark>&gt;" in out
    assert "<mark>eigenvalues</mark>" in out and "&amp; <mark>mark</mark>" in out
    assert str(highlight("a <b>", "")) == "a &lt;b&gt;"


def test_friendly_404_and_500_without_traces(app, client, monkeypatch):
    r = client.get("/no/such/page")
    assert r.status_code == 404 and "Not found" in r.get_data(as_text=True)
    assert client.get("/api/nothing").get_json()["error"]["code"] == 404

    def boom(**kw):
        raise RuntimeError("secret detail /srv/index/catalog.sqlite")

    monkeypatch.setattr(app.extensions["lecturefind"], "search", boom)
    for url in ("/?q=eigen", "/api/search?q=eigen", "/embed?q=eigen"):
        r = client.get(url)
        body = r.get_data(as_text=True)
        assert r.status_code == 500, url
        assert "Traceback" not in body and "secret" not in body and "catalog.sqlite" not in body
    assert client.get("/api/search?q=eigen").get_json()["error"]["message"]


def test_query_errors_become_clean_400s(app, client, monkeypatch, spec):
    from lecturefind.errors import QueryError

    seen = {}

    def refuse(text=None, image=None, audio=None, k=10, course=None):
        seen.update(image=image, audio=audio)
        assert image and os.path.exists(image)
        raise QueryError(f"{image}: no slide found in the image")

    monkeypatch.setattr(app.extensions["lecturefind"], "search", refuse)
    png = open(SLIDE_PNG, "rb").read()
    r = client.post("/api/search", data={"image": (io.BytesIO(png), "s.png")}, content_type="multipart/form-data")
    assert r.status_code == 400
    check(spec, "Error", r.get_json())
    msg = r.get_json()["error"]["message"]
    assert msg == "uploaded image: no slide found in the image" and "/tmp" not in msg
    assert not os.path.exists(seen["image"])                 # the upload was removed after the search
    page = client.post("/", data={"q": "x", "image": (io.BytesIO(png), "s.png")}, content_type="multipart/form-data")
    assert page.status_code == 400 and "no slide found" in page.get_data(as_text=True)


def test_image_upload_reaches_the_searcher(client, ids):
    """A slide photo POSTed to the API goes to Searcher.search(image=...); lecture 1 shows this slide, the handout
    has it too."""
    png = open(SLIDE_PNG, "rb").read()
    r = client.post("/api/search", data={"image": (io.BytesIO(png), "photo.png")}, content_type="multipart/form-data")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["query"]["image"] is True and body["results"]
    assert body["results"][0]["lecture_id"] in (ids["l1"], ids["pdf"])


@pytest.mark.parametrize("big", [2**63, 10**30])
def test_ids_beyond_sqlite_integers_are_404_not_500(client, big):
    """Every route with an id: a number SQLite cannot hold is an unknown page, not a server error."""
    for path in (f"/watch/{big}", f"/courses/{big}", f"/lectures/{big}", f"/api/lectures/{big}", f"/media/{big}",
                 f"/thumb/{big}.jpg", f"/captions/{big}.vtt", f"/embed/watch/{big}", f"/embed/pdf/{big}",
                 f"/pdf/{big}"):
        r = client.get(path)
        assert r.status_code == 404, (path, r.status_code)


def test_media_of_a_file_named_with_a_newline(index_copy, models, tmp_path):
    """A file name with a newline (or an escape code) is served; the header shows it escaped."""
    import shutil

    from helpers import LECTURE1

    odd = str(tmp_path / "week 1\nintro\x1b[31m.mp4")
    shutil.copy(LECTURE1, odd)
    conn = sqlite3.connect(os.path.join(index_copy, "catalog.sqlite"))
    conn.execute("UPDATE files SET path = ? WHERE path = ?", (odd, LECTURE1))
    lid = conn.execute("SELECT l.id FROM lectures l JOIN files f ON f.id = l.file_id WHERE f.path = ?",
                       (odd,)).fetchone()[0]
    conn.commit()
    conn.close()
    client = make_app(index_copy, models).test_client()
    for method in ("GET", "HEAD"):
        r = client.open(f"/media/{lid}", method=method)
        assert r.status_code == 200, (method, r.status_code)
        disp = r.headers["Content-Disposition"]
        assert "\n" not in disp and "\x1b" not in disp and "intro" in disp, disp


def test_chapters_track_and_list(client, ids):
    """One chapter per distinct slide, titled by its title line, as a WebVTT chapters track and a list."""

    for video in GT["videos"]:
        lid = ids[video["file"]]
        vtt = client.get(f"/chapters/{lid}.vtt")
        assert vtt.status_code == 200 and vtt.mimetype == "text/vtt"
        cues = re.findall(r"(\d\d:\d\d:\d\d\.\d\d\d) --> \S+\n(.+)", vtt.get_data(as_text=True))
        want = [(s["start_s"], s["title"]) for s in video["slides"]]
        assert [t for _, t in cues] == [t for _, t in want], cues
        for (got, _), (start, _) in zip(cues[1:], want[1:]):
            h, m, s = got.split(":")
            assert abs(int(h) * 3600 + int(m) * 60 + float(s) - start) <= 1.0, (got, start)
        html = client.get(f"/watch/{lid}?t=5").get_data(as_text=True)
        assert f'<track kind="chapters" src="/chapters/{lid}.vtt"' in html
        assert html.count('class="line seek chapter') == len(want)
    assert client.get(f"/chapters/{ids['pdf']}.vtt").status_code == 404


def test_course_map_and_lecture_api_carry_the_chapters(client, spec, ids):
    """The course page maps each video to its chapters (thumbnail, title, link); the lecture API has them too."""
    lid = ids[L1]
    body = client.get(f"/api/lectures/{lid}").get_json()
    check(spec, "LectureDetail", body)
    titles = [s["title"] for s in VIDEOS[L1]["slides"]]
    assert [c["title"] for c in body["chapters"]] == titles
    assert all(c["thumbnail_url"] and c["url"] == f"/watch/{lid}?t={int(c['start_s'])}" for c in body["chapters"])
    assert client.get(f"/api/lectures/{ids['pdf']}").get_json()["chapters"] == []
    course_link = re.search(r'href="(/courses/\d+)"', client.get("/courses").get_data(as_text=True)).group(1)
    page = client.get(course_link).get_data(as_text=True)
    for t in titles:
        assert f'<span class="chapter-title">{html_escape(t)}</span>' in page, t


def test_concurrent_searches_run_on_a_pool_and_agree_with_one_at_a_time(sample_index, models, monkeypatch):
    """Several searches at once get searchers of their own (not one lock); each answer is what it is alone."""
    from lecturefind.web import store as web_store

    monkeypatch.setattr(web_store, "RESULTS_MEMORY", 0)     # every request searches: the pool is what is tested
    app = make_app(sample_index, models, SEARCHERS=3)
    queries = [q["text"] for q in GT["questions"][:6]]
    client = app.test_client()
    alone = {q: client.get("/api/search", query_string={"q": q}).get_json()["results"] for q in queries}
    got = ask_at_once(app, queries)
    store = app.extensions["lecturefind"]
    assert 2 <= store.size <= 3
    for q in queries:
        assert [(m["lecture_id"], m["start_s"], m["page"]) for m in got[q]] == \
            [(m["lecture_id"], m["start_s"], m["page"]) for m in alone[q]], q


def test_a_repeated_question_is_answered_from_memory_until_the_index_changes(index_copy, models, monkeypatch):
    from lecturefind.index.catalog import Catalog
    from lecturefind.rank.searcher import Searcher

    asked: list = []
    search = Searcher.search
    monkeypatch.setattr(Searcher, "search", lambda self, *a, **kw: asked.append(kw.get("text")) or
                        search(self, *a, **kw))
    client = make_app(index_copy, models).test_client()

    def ask(**params):
        r = client.get("/api/search", query_string=params)
        assert r.status_code == 200
        return [(m["lecture_id"], m["start_s"], m["page"], m["score"]) for m in r.get_json()["results"]]

    first = ask(q="bus arbitration")
    assert first and asked == ["bus arbitration"]
    assert ask(q="bus arbitration") == first and len(asked) == 1            # the same answer, not searched again
    assert "bus arbitration" in client.get("/", query_string={"q": "bus arbitration"}).get_data(as_text=True)
    assert len(asked) == 1                                                   # the page shares it
    assert len(ask(q="bus arbitration", k=3)) == 3 and len(asked) == 2      # other parameters: another search
    assert ask(q="bus arbitration", course="No Such Course") == [] and len(asked) == 3
    cat = Catalog(index_copy)
    with cat.transaction():
        cat.bump_generation()                                                # as an ingest's commit does
    cat.close()
    assert ask(q="bus arbitration") == first and len(asked) == 4            # a new generation: searched anew

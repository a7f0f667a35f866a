"""LTI 1.3 through the real Flask app against a fake platform on 127.0.0.1 (its own RSA key and JWKS): login,
launch, course scoping on every route, Deep Linking, and each attack refused with a plain reason."""
from __future__ import annotations

import os
import re
import time
from urllib.parse import parse_qs, urlparse

import pytest
from helpers import DECK, GT, SAMPLE, run_cli
from web_helpers import lecture_ids, make_app

from testing.lti_platform import CLAIM, DL_CLAIM, INSTRUCTOR, FakePlatform, new_key

L1, L2 = (v["file"] for v in GT["videos"])
OTHER = "Other Course"


@pytest.fixture(scope="module")
def two_courses(sample_index, tmp_path_factory, models):
    """The sample course plus a second course (lecture 2 again under another name) in one index."""
    import shutil

    from lecturefind.ingest.pipeline import Ingestor

    d = tmp_path_factory.mktemp("lti")
    index = str(d / "index")
    shutil.copytree(sample_index, index)
    other = d / "other"
    other.mkdir()
    shutil.copy(os.path.join(SAMPLE, L2), other / "other_lecture.mp4")
    ing = Ingestor(index, models=models, log=lambda line: None)
    rep = ing.ingest([str(other)], course=OTHER)
    ing.close()
    assert not rep.errors
    return index




@pytest.fixture(scope="module")
def platform(two_courses):
    with FakePlatform() as p:
        p.register(two_courses, course=GT["course"])
        yield p


@pytest.fixture(scope="module")
def app(two_courses, models, platform):
    # a short refetch cooldown: a test that rotates the platform's key must not lock the later ones out
    return make_app(two_courses, models, ACCESS="lti", LTI_JWKS_TIMEOUT=2, LTI_JWKS_COOLDOWN=0.5)


@pytest.fixture(scope="module")
def ids(two_courses):
    ids = lecture_ids(two_courses)
    return {"l1": ids[L1], "l2": ids[L2], "pdf": ids[DECK["file"]], "other": ids["other_lecture.mp4"]}


def login(client, platform, **params):
    """/lti/login as the platform starts it; returns (state, nonce) from the redirect to the platform."""
    args = {"iss": platform.issuer, "login_hint": "u1", "target_link_uri": "http://localhost/lti/launch",
            "client_id": platform.CLIENT_ID, **params}
    r = client.get("/lti/login", query_string=args)
    assert r.status_code == 302, r.get_data(as_text=True)
    loc = urlparse(r.headers["Location"])
    assert f"{loc.scheme}://{loc.netloc}{loc.path}" == platform.auth_url
    q = {k: v[0] for k, v in parse_qs(loc.query).items()}
    assert q["response_mode"] == "form_post" and q["scope"] == "openid" and q["prompt"] == "none"
    assert q["redirect_uri"].endswith("/lti/launch") and q["client_id"] == platform.CLIENT_ID
    return q["state"], q["nonce"]


def launch(client, platform, token=None, state=None, nonce=None, **kw):
    if state is None:
        state, nonce = login(client, platform)
    token = token or platform.id_token(nonce, **kw)
    return client.post("/lti/launch", data={"id_token": token, "state": state})


def student(app, platform, **kw):
    client = app.test_client()
    platform.user = {"sub": "s1", "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
                     "context": {"id": "ctx-101", "title": "EE 101"}}
    platform.message = "LtiResourceLinkRequest"
    r = launch(client, platform, **kw)
    assert r.status_code == 200, r.get_data(as_text=True)
    return client


def refused(resp, reason: str, status: int = 401):
    from html import unescape

    body = unescape(resp.get_data(as_text=True))
    assert resp.status_code == status and reason in body, (resp.status_code, body[-800:])
    assert "Traceback" not in body and "eyJ" not in body          # no stack, no token echoed


# -- the happy path ----------------------------------------------------------------------------------
def test_launch_opens_a_session_for_the_linked_course(app, platform, ids):
    client = app.test_client()
    assert client.get("/").status_code == 401                        # nothing without a session
    r = launch(client, platform)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'id="lti-launch"' in html and 'data-next="/embed"' in html
    cookie = r.headers.getlist("Set-Cookie")
    assert any(c.startswith("lf_session=") and "HttpOnly" in c for c in cookie)
    assert client.get("/lti/check").status_code == 204
    page = client.get("/embed/?q=round+robin+arbitration").get_data(as_text=True)
    assert f'data-lecture-id="{ids["l2"]}"' in page and f'data-lecture-id="{ids["other"]}"' not in page
    api = client.get("/api/search?q=round+robin+arbitration&course=" + OTHER).get_json()
    assert api["query"]["course"] == GT["course"] and all(m["course"] == GT["course"] for m in api["results"])
    assert {lec["course"] for lec in client.get("/api/lectures").get_json()["lectures"]} == {GT["course"]}


def test_every_route_is_guarded_and_scoped(app, platform, ids):
    """Each rule of the app: without a session 401 (except health, static, LTI); with a student session of the
    sample course, another course's id is a 404 exactly like an id that does not exist."""
    from lecturefind.index.catalog import Catalog

    cat = Catalog(app.config["INDEX"], readonly=True)
    other_slide = cat.slides(ids["other"])[0]["id"]
    mine_slide = next(s["id"] for s in cat.slides(ids["l2"]) if s["image"])
    other_course = next(r["id"] for r in cat.course_summaries() if r["name"] == OTHER)
    mine_course = next(r["id"] for r in cat.course_summaries() if r["name"] == GT["course"])
    cat.close()
    nobody, s = app.test_client(), student(app, platform)
    open_rules = {"static", "health"}
    seen = set()
    for rule in app.url_map.iter_rules():
        seen.add(rule.endpoint)
        if rule.endpoint in open_rules or rule.endpoint.startswith("lti."):
            continue
        args = set(rule.arguments)
        if not args:
            url = rule.rule
            method = "POST" if "GET" not in rule.methods else "GET"
            r = nobody.open(url, method=method)
            assert r.status_code == 401, (url, r.status_code)
            continue
        arg = next(iter(args))
        mine = {"lecture_id": ids["l2"], "doc_id": ids["pdf"], "slide_id": mine_slide, "course_id": mine_course}[arg]
        theirs = {"lecture_id": ids["other"], "doc_id": ids["other"], "slide_id": other_slide,
                  "course_id": other_course}[arg]
        def build(v, rule=rule, arg=arg):
            return rule.rule.replace(f"<id:{arg}>", str(v))

        assert nobody.get(build(mine)).status_code == 401, rule.rule
        ok, other, missing = s.get(build(mine)), s.get(build(theirs)), s.get(build(2**40))
        assert ok.status_code in (200, 206), (rule.rule, ok.status_code)
        assert other.status_code == 404 and missing.status_code == 404, (rule.rule, other.status_code)
        assert other.get_data() == missing.get_data(), rule.rule     # the answer does not tell that it exists
    assert nobody.get("/healthz").status_code == 200
    assert {"media.media", "media.thumb", "media.captions", "media.chapters_track", "watch.watch", "pdf.page",
            "api.lecture", "embed.watch", "embed.pdf", "browse.course", "browse.lecture"} <= seen


def test_student_cannot_reach_the_audit_but_an_instructor_can(app, platform):
    s = student(app, platform)
    assert s.get("/audit").status_code == 403
    client = app.test_client()
    platform.user = {"sub": "t1", "roles": [INSTRUCTOR], "context": {"id": "ctx-101", "title": "EE 101"}}
    assert launch(client, platform).status_code == 200
    page = client.get("/audit")
    assert page.status_code == 200 and f'<option value="{GT["course"]}"' in page.get_data(as_text=True)
    assert OTHER not in page.get_data(as_text=True)


def test_api_token_scopes_an_api_client(app, two_courses, ids):
    proc = run_cli("token", "create", "--course", OTHER, "--label", "test", "--index", two_courses)
    assert proc.returncode == 0, proc.stderr
    token = proc.stdout.strip()
    c = app.test_client()
    h = {"Authorization": f"Bearer {token}"}
    assert c.get(f"/api/lectures/{ids['other']}", headers=h).status_code == 200
    assert c.get(f"/api/lectures/{ids['l2']}", headers=h).status_code == 404
    assert c.get(f"/api/lectures/{ids['l2']}", headers={"Authorization": "Bearer lf_forged"}).status_code == 401


def test_unlinked_context_asks_the_instructor_and_refuses_students(app, platform):
    platform.user = {"sub": "s9", "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
                     "context": {"id": "ctx-new", "title": "EE 202"}}
    refused(launch(app.test_client(), platform), "not linked to LectureFind yet", 403)
    client = app.test_client()
    platform.user = {"sub": "t9", "roles": [INSTRUCTOR], "context": {"id": "ctx-new", "title": "EE 202"}}
    r = launch(client, platform)
    assert r.status_code == 200 and 'data-next="/lti/link-course"' in r.get_data(as_text=True)
    assert client.get("/embed/").status_code == 403
    form = client.get("/lti/link-course").get_data(as_text=True)
    assert "EE 202" in form and OTHER in form
    assert client.post("/lti/link-course", data={"course": OTHER}).status_code == 303
    assert client.get("/embed/").status_code == 200
    platform.user["roles"] = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]
    assert launch(app.test_client(), platform).status_code == 200      # students of EE 202 now get in


# -- Deep Linking -------------------------------------------------------------------------------------
def test_deep_linking_round_trip(app, platform, ids, two_courses):
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    platform.tool_url = f"http://127.0.0.1:{server.server_port}"
    try:
        client = app.test_client()
        platform.user = {"sub": "t1", "roles": [INSTRUCTOR], "context": {"id": "ctx-101", "title": "EE 101"}}
        platform.message = "LtiDeepLinkingRequest"
        r = launch(client, platform)
        assert 'data-next="/embed?pick=1"' in r.get_data(as_text=True)
        page = client.get("/embed/?pick=1&q=round+robin+arbitration").get_data(as_text=True)
        assert 'action="/lti/deep-link"' in page and "Add this moment to the course" in page
        t = re.search(rf'name="lecture_id" value="{ids["l2"]}">\s*<input type="hidden" name="t" value="(\d+)"',
                      page).group(1)
        resp = client.post("/lti/deep-link", data={"lecture_id": ids["l2"], "t": t, "text": "round robin"})
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200 and f'action="{platform.issuer}/dl-return"' in html
        assert f"form-action 'self' {platform.issuer}" in resp.headers["Content-Security-Policy"]
        jwt_value = re.search(r'name="JWT" value="([^"]+)"', html).group(1)
        claims = platform.verify_deep_link(jwt_value)          # the platform checks our signature via our JWKS
        assert claims[CLAIM + "message_type"] == "LtiDeepLinkingResponse"
        assert claims[CLAIM + "deployment_id"] == platform.DEPLOYMENT and claims[DL_CLAIM + "data"] == "opaque-123"
        (item,) = claims[DL_CLAIM + "content_items"]
        assert item["type"] == "ltiResourceLink" and item["custom"] == {"lecture_id": str(ids["l2"]), "t": t}
        # the link's later launch opens that moment
        platform.message, platform.custom = "LtiResourceLinkRequest", item["custom"]
        platform.user["roles"] = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]
        later = launch(app.test_client(), platform).get_data(as_text=True)
        assert f'data-next="/embed/watch/{ids["l2"]}?t={t}"' in later
        # the whole lecture, or a PDF page, are items too
        assert "Add the whole lecture" in page
        whole = client.post("/lti/deep-link", data={"lecture_id": ids["l2"]}).get_data(as_text=True)
        (item,) = platform.verify_deep_link(re.search(r'name="JWT" value="([^"]+)"', whole).group(1))[
            DL_CLAIM + "content_items"]
        assert item["custom"] == {"lecture_id": str(ids["l2"])}
        page_item = client.post("/lti/deep-link", data={"lecture_id": ids["pdf"], "page": "2"}).get_data(as_text=True)
        (item,) = platform.verify_deep_link(re.search(r'name="JWT" value="([^"]+)"', page_item).group(1))[
            DL_CLAIM + "content_items"]
        assert item["custom"] == {"lecture_id": str(ids["pdf"]), "page": "2"} and "page 2" in item["title"]
        # a student cannot answer a deep link, and another course's lecture cannot be chosen
        assert student(app, platform).post("/lti/deep-link", data={"lecture_id": ids["l2"]}).status_code == 403
        assert client.post("/lti/deep-link", data={"lecture_id": ids["other"]}).status_code == 404
    finally:
        platform.custom = {}
        platform.message = "LtiResourceLinkRequest"
        server.shutdown()


def test_tool_jwks_and_key_rotation(app, two_courses):
    c = app.test_client()
    before = c.get("/lti/jwks.json").get_json()["keys"]
    assert before and all(k["kty"] == "RSA" and k["alg"] == "RS256" and "d" not in k for k in before)
    import stat

    folder = os.path.join(two_courses, "lti-keys")
    assert all(stat.S_IMODE(os.stat(os.path.join(folder, f)).st_mode) == 0o600 for f in os.listdir(folder))
    proc = run_cli("lti", "rotate-key", "--index", two_courses)
    assert proc.returncode == 0, proc.stderr
    after = c.get("/lti/jwks.json").get_json()["keys"]
    assert len(after) == 2 and after[1]["kid"] == before[0]["kid"]          # the old key stays published


# -- attacks ---------------------------------------------------------------------------------------------
ATTACKS = {
    "bad signature": (lambda p, n: p.id_token(n)[:-6] + "AAAAAA", "signature does not verify"),
    "alg none": (lambda p, n: p.id_token(n, alg="none"), "must be signed with RS256"),
    "HS256 with the public key": (lambda p, n: _hs256(p, n), "must be signed with RS256"),
    "unregistered key": (lambda p, n: p.id_token(n, key=new_key(), kid="stranger"), "not in the platform's key set"),
    "wrong aud": (lambda p, n: p.id_token(n, overrides={"aud": "someone-else"}), "no platform registered"),
    "expired": (lambda p, n: p.id_token(n, overrides={"exp": int(time.time()) - 600}), "expired"),
    "future iat": (lambda p, n: p.id_token(n, overrides={"iat": int(time.time()) + 3600}), "in the future"),
    "missing nonce": (lambda p, n: p.id_token(n, overrides={"nonce": None}), "lacks the 'nonce' claim"),
    "other nonce": (lambda p, n: p.id_token("not-the-login-nonce"), "nonce is not the one"),
    "unknown deployment": (lambda p, n: p.id_token(n, overrides={CLAIM + "deployment_id": "rogue"}),
                           "unknown deployment"),
    "missing deployment": (lambda p, n: p.id_token(n, overrides={CLAIM + "deployment_id": None}),
                           "unknown deployment"),
    "bad message type": (lambda p, n: p.id_token(n, overrides={CLAIM + "message_type": "LtiSubmissionReview"}),
                         "unsupported LTI message type"),
    "bad version": (lambda p, n: p.id_token(n, overrides={CLAIM + "version": "1.1"}), "unsupported LTI version"),
    "no resource link": (lambda p, n: p.id_token(n, overrides={CLAIM + "resource_link": None}),
                         "resource_link"),
    "azp mismatch": (lambda p, n: p.id_token(n, overrides={"aud": [p.CLIENT_ID, "x"], "azp": "x"}), "azp"),
    "oversized": (lambda p, n: p.id_token(n, overrides={"pad": "x" * 40000}), "too large"),
    "not a jwt": (lambda p, n: "hello.world", "not a JWT"),
}


def _hs256(p, nonce):
    """The classic key-confusion forgery: HS256 keyed with the platform's public PEM (built by hand, as an
    attacker would; PyJWT refuses to make it)."""
    import base64
    import hashlib
    import hmac
    import json

    from cryptography.hazmat.primitives import serialization

    pem = p.key.public_key().public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": p.kid}).encode())
    body = b64(json.dumps(p.claims(nonce)).encode())
    sig = b64(hmac.new(pem, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


@pytest.mark.parametrize("case", list(ATTACKS))
def test_attack_is_refused(app, platform, case):
    make, reason = ATTACKS[case]
    client = app.test_client()
    state, nonce = login(client, platform)
    r = client.post("/lti/launch", data={"id_token": make(platform, nonce), "state": state})
    refused(r, reason)
    assert client.get("/embed/").status_code == 401                       # and no session came of it


def test_replayed_launch_and_mismatched_state(app, platform):
    client = app.test_client()
    state, nonce = login(client, platform)
    token = platform.id_token(nonce)
    assert client.post("/lti/launch", data={"id_token": token, "state": state}).status_code == 200
    refused(client.post("/lti/launch", data={"id_token": token, "state": state}), "unknown or expired login state")
    # a second login: its state with the first login's (used) nonce is a replay
    state2, _ = login(client, platform)
    refused(client.post("/lti/launch", data={"id_token": token, "state": state2}), "nonce is not the one")
    # a state this browser did not start (another browser's cookie)
    a, b = app.test_client(), app.test_client()
    sa, na = login(a, platform)
    login(b, platform)
    refused(b.post("/lti/launch", data={"id_token": platform.id_token(na), "state": sa}), "does not match")
    refused(app.test_client().post("/lti/launch", data={"id_token": token, "state": "forged"}),
            "unknown or expired login state")


def test_unregistered_platform_login_is_refused(app, platform):
    r = app.test_client().get("/lti/login", query_string={"iss": "https://evil.example", "login_hint": "x"})
    refused(r, "not registered", 400)


def test_platform_key_set_down_slow_or_rotated(two_courses, models, platform):
    app = make_app(two_courses, models, ACCESS="lti", LTI_JWKS_TIMEOUT=1.5, LTI_JWKS_COOLDOWN=0.5)   # empty cache
    try:
        platform.jwks_mode = "down"
        refused(launch(app.test_client(), platform), "could not be fetched")
        platform.jwks_mode = "slow"
        t0 = time.perf_counter()
        refused(launch(app.test_client(), platform), "could not be fetched")
        assert time.perf_counter() - t0 < 5                                  # bounded by the timeout
        platform.jwks_mode = "ok"
        assert launch(app.test_client(), platform).status_code == 200
        hits = platform.jwks_hits
        assert launch(app.test_client(), platform).status_code == 200
        assert platform.jwks_hits == hits                                    # cached
        time.sleep(0.6)                                                      # past the refetch cooldown
        platform.rotate()                                                    # a kid the cache lacks: refetched
        assert launch(app.test_client(), platform).status_code == 200 and platform.jwks_hits == hits + 1
    finally:
        platform.jwks_mode = "ok"


def test_lti_cli_registers_lists_and_removes(tmp_path, sample_index):
    import shutil

    index = str(tmp_path / "index")
    shutil.copytree(sample_index, index)
    args = ["--issuer", "https://canvas.example.edu", "--client-id", "10000000000001", "--auth-url",
            "https://canvas.example.edu/api/lti/authorize_redirect", "--jwks-url",
            "https://canvas.example.edu/api/lti/security/jwks", "--deployment", "1:abc", "--index", index,
            "--url", "https://lectures.example.edu"]
    proc = run_cli("lti", "add-platform", *args)
    assert proc.returncode == 0, proc.stderr
    for line in ("https://lectures.example.edu/lti/login", "https://lectures.example.edu/lti/launch",
                 "https://lectures.example.edu/lti/jwks.json"):
        assert line in proc.stdout
    assert "canvas.example.edu" in run_cli("lti", "list", "--index", index).stdout
    bad = run_cli("lti", "add-platform", *[a if a != "https://canvas.example.edu" else "canvas" for a in args])
    assert bad.returncode != 0 and "not an http(s) URL" in bad.stderr
    proc = run_cli("lti", "link", "--issuer", "https://canvas.example.edu", "--context", "c1", "--course", "nope",
                   "--index", index)
    assert proc.returncode != 0 and "no course named 'nope'" in proc.stderr
    assert run_cli("lti", "remove", "--issuer", "https://canvas.example.edu", "--index", index).returncode == 0
    assert "no platform registered" in run_cli("lti", "list", "--index", index).stdout


def test_new_window_fallback_ticket_opens_the_session_once(app, platform):
    """When the iframe keeps no cookie, the launch page's one-time ticket opens the same session first-party."""
    from html import unescape

    student(app, platform)                            # a learner of the linked course (whatever ran before)
    r = launch(app.test_client(), platform)
    assert r.status_code == 200, r.get_data(as_text=True)[-400:]
    href = unescape(re.search(r'id="lti-new-window"[^>]*href="([^"]+)"', r.get_data(as_text=True), re.S).group(1))
    assert href.startswith("/lti/resume?ticket=") and "next=/embed" in href
    fresh = app.test_client()                          # the new window: no cookie from the frame
    assert fresh.get("/embed").status_code == 401
    opened = fresh.get(href)
    assert opened.status_code == 303 and opened.headers["Location"].endswith("/embed")
    assert fresh.get("/embed").status_code == 200
    refused(app.test_client().get(href), "expired")    # used once
    evil = re.sub(r"next=[^&]+", "next=//evil.example/x", unescape(re.search(
        r'id="lti-new-window"[^>]*href="([^"]+)"', launch(app.test_client(), platform).get_data(as_text=True),
        re.S).group(1)))
    away = app.test_client().get(evil)
    assert away.status_code == 303 and away.headers["Location"].endswith("/embed")   # no open redirect


def test_the_rate_limit_counts_per_lms_user_not_per_address(two_courses, models, platform):
    """A class behind one campus NAT shares one address: with LTI sessions each student has their own bucket
    of searches, and a student over it gets 429 while the next student (same address) does not."""
    limited = make_app(two_courses, models, ACCESS="lti", LTI_JWKS_TIMEOUT=2, LTI_JWKS_COOLDOWN=0.5,
                       RATE_LIMIT="2/60")
    clients = []
    for sub in ("s1", "s2"):
        client = limited.test_client()
        platform.user = {"sub": sub, "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
                         "context": {"id": "ctx-101", "title": "EE 101"}}
        platform.message = "LtiResourceLinkRequest"
        assert launch(client, platform).status_code == 200
        clients.append(client)
    first, second = clients
    assert [first.get("/api/search?q=bus").status_code for _ in range(3)] == [200, 200, 429]
    assert [second.get("/api/search?q=bus").status_code for _ in range(2)] == [200, 200]

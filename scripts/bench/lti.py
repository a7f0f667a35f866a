"""LTI cost: launch latency (login → launch → first page, JWKS cache warm) and the extra time per search in `lti`
access mode against `open`, in-process through the real Flask app and a fake platform on 127.0.0.1.

    .venv/bin/python scripts/bench/lti.py [--index DIR] [--launches 30] [--searches 60]

Without --index it ingests the sample course into a temporary folder first.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from urllib.parse import parse_qs, urlparse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

QUERIES = ["round robin arbitration", "where did we derive the eigenvalue condition?", "priority encoder",
           "characteristic polynomial of a 2 by 2 matrix", "who may drive the shared bus"]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index")
    ap.add_argument("--launches", type=int, default=30)
    ap.add_argument("--searches", type=int, default=60)
    args = ap.parse_args()

    from lecturefind.index.access_store import AccessStore
    from lecturefind.ml_models import MLModels
    from lecturefind.web import create_app
    from testing.lti_platform import FakePlatform

    tmp = tempfile.mkdtemp(prefix="lf-lti-bench-")
    index = os.path.join(tmp, "index")
    models = MLModels()
    if args.index:
        shutil.copytree(args.index, index)
    else:
        from lecturefind.ingest.pipeline import Ingestor

        ing = Ingestor(index, models=models, log=lambda line: None)
        ing.ingest([os.path.join(ROOT, "examples", "sample-course")], course="sample-course")
        ing.close()
    from lecturefind.index.catalog import Catalog

    course = Catalog(index, readonly=True).course_names()[0]
    with FakePlatform() as platform:
        platform.register(index)
        store = AccessStore(index)
        store.link_context(platform.issuer, "ctx-101", course, "bench")
        store.close()
        base = {"INDEX": index, "MODELS": models, "RATE_LIMIT": 0}
        lti_app = create_app({**base, "ACCESS": "lti"})
        open_app = create_app({**base, "ACCESS": "open"})

        def launch_once():
            c = lti_app.test_client()
            t0 = time.perf_counter()
            r = c.get("/lti/login", query_string={"iss": platform.issuer, "login_hint": "u",
                                                  "client_id": platform.CLIENT_ID})
            q = {k: v[0] for k, v in parse_qs(urlparse(r.headers["Location"]).query).items()}
            token = platform.id_token(q["nonce"])          # the platform's own work, not the tool's
            t1 = time.perf_counter()
            r = c.post("/lti/launch", data={"id_token": token, "state": q["state"]})
            assert r.status_code == 200, r.get_data(as_text=True)[-300:]
            assert c.get("/lti/check").status_code == 204
            page = c.get("/embed")
            assert page.status_code == 200
            return (time.perf_counter() - t1) + (t1 - t0), c

        launch_once()                                       # warms the JWKS cache and the templates
        launches, client = [], None
        for _ in range(args.launches):
            dt, client = launch_once()
            launches.append(dt * 1000)
        print(f"launch (login → launch → cookie check → first page), warm JWKS, n={len(launches)}: "
              f"p50 {statistics.median(launches):.1f} ms, p99 {pct(launches, 99):.1f} ms, JWKS fetches "
              f"{platform.jwks_hits}")

        open_client = open_app.test_client()
        for app_client in (open_client, client):          # warm the models on both apps' searcher
            app_client.get("/api/search", query_string={"q": "warm up"})
        timings: dict[str, list[float]] = {"open": [], "lti": []}
        for i in range(args.searches):
            q = QUERIES[i % len(QUERIES)]
            for name, c in (("open", open_client), ("lti", client)):
                t0 = time.perf_counter()
                r = c.get("/api/search", query_string={"q": q, "course": course})
                assert r.status_code == 200
                timings[name].append((time.perf_counter() - t0) * 1000)
        o, lt = timings["open"], timings["lti"]
        print(f"/api/search, n={len(o)} each, interleaved: open p50 {statistics.median(o):.1f} ms, "
              f"lti p50 {statistics.median(lt):.1f} ms; extra per search p50 "
              f"{statistics.median(lt) - statistics.median(o):+.2f} ms")
        guard = []
        for _ in range(200):
            t0 = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            t1 = time.perf_counter()
            assert client.get("/api/lectures").status_code == 200
            guard.append((time.perf_counter() - t1) - (t1 - t0))
        print(f"guard cost (session lookup + scope) on /api/lectures vs /healthz: p50 "
              f"{statistics.median(guard) * 1000:.2f} ms")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

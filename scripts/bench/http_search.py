"""Search latency through HTTP: `lecturefind serve` (waitress) on 127.0.0.1, N concurrent keep-alive clients.

    .venv/bin/python scripts/bench/http_search.py [--index DIR] [--clients 1,10,50] [--requests 30] [--workers N]
        [--distinct]

--workers N runs `serve --workers N` (N processes on one listening socket). --distinct makes every request a
different question (a sample question between two of 40 filler words: 20 280 questions), so no cache anywhere can
answer a repeat.

Without --index (and $LECTUREFIND_INDEX) the bundled sample course is ingested once into /tmp/lecturefind-bench-index.
The server runs with the rate limit off and as many connections per client address as clients.
Bounded: clients x requests per phase, then the server is stopped.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from urllib.parse import urlencode

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from testing.servers import free_port, stop  # noqa: E402  (the repo root first)

SAMPLE = os.path.join(ROOT, "examples", "sample-course")


def ensure_index(index: str) -> None:
    if os.path.exists(os.path.join(index, "catalog.sqlite")):
        return
    print(f"ingesting the sample course into {index} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "lecturefind", "ingest", SAMPLE, "--course", "Engineering Foundations",
                    "--index", index, "-q"], check=True)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100 * len(xs) + 0.5)) - 1))]


def run_phase(port: int, paths: list[str], clients: int, requests: int) -> dict:
    lat: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        barrier.wait()
        for i in range(requests):
            path = paths[(n * requests + i) % len(paths)]
            t0 = time.perf_counter()
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            dt = time.perf_counter() - t0
            with lock:
                lat.append(dt)
                if resp.status != 200:
                    errors.append(f"{resp.status} {path}")
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ms = [x * 1000 for x in lat]
    return {"clients": clients, "requests": len(ms), "errors": len(errors), "p50_ms": round(pct(ms, 50), 1),
            "p90_ms": round(pct(ms, 90), 1), "p99_ms": round(pct(ms, 99), 1), "max_ms": round(max(ms), 1),
            "mean_ms": round(statistics.mean(ms), 1), "req_per_s": round(len(ms) / wall, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", default=os.environ.get("LECTUREFIND_INDEX") or "/tmp/lecturefind-bench-index")
    ap.add_argument("--clients", default="1,10,50", help="comma-separated client counts, one phase each")
    ap.add_argument("--requests", type=int, default=30, help="per client and phase")
    ap.add_argument("--threads", type=int, default=8, help="waitress worker threads")
    ap.add_argument("--workers", type=int, default=1, help="server processes (serve --workers)")
    ap.add_argument("--distinct", action="store_true", help="no question asked twice")
    args = ap.parse_args()
    counts = [int(c) for c in str(args.clients).split(",") if c.strip()]
    ensure_index(args.index)
    with open(os.path.join(SAMPLE, "ground_truth.json")) as f:
        questions = [q["text"] for q in json.load(f)["questions"]]
    warm = ["/api/search?" + urlencode({"q": q, "k": 10}) for q in questions]     # each sample question once
    if args.distinct:
        fillers = ("please", "again", "exactly", "briefly", "today", "quickly", "really", "actually", "here",
                   "now", "precisely", "roughly", "simply", "still", "also", "just", "maybe", "perhaps", "once",
                   "first", "later", "finally", "clearly", "mainly", "mostly", "usually", "often", "again please",
                   "in class", "in the lecture", "in the video", "on the slide", "we saw", "I think", "remind me",
                   "quick question", "for the exam", "for homework", "in detail", "in short")
        questions = [f"{a} {q} {b}" for a in fillers for b in fillers if a != b for q in questions]
    api = ["/api/search?" + urlencode({"q": q, "k": 10}) for q in questions]
    html = ["/?" + urlencode({"q": q}) for q in questions]

    port = free_port()
    # the rate limit off and room for every client: all of them come from one address here
    env = dict(os.environ, LECTUREFIND_RATE_LIMIT="0", HF_HUB_OFFLINE="1",
               LECTUREFIND_CONNECTIONS_PER_CLIENT=str(max(64, *counts)))
    server = subprocess.Popen([sys.executable, "-m", "lecturefind", "serve", "--index", args.index, "--host",
                               "127.0.0.1", "--port", str(port), "--threads", str(args.threads),
                               "--workers", str(args.workers)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 180
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/api/lectures")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.time() > deadline:
                raise SystemExit("server did not start: " + (server.stderr.read().decode() if server.stderr else ""))
            time.sleep(0.3)
        run_phase(port, warm, 1, len(warm))          # warm-up: every model loaded (with --distinct, none of its
        #                                              questions is asked again)
        out: dict = {"cpus": os.cpu_count(), "load_before": os.getloadavg()[0], "queries": len(questions),
                     "workers": args.workers, "threads": args.threads, "distinct": args.distinct}
        offset = 0
        for n in counts:
            for name, paths in (("api", api), ("html", html)):
                # each phase starts where the last one stopped: with --distinct no question is asked twice
                out[f"{name}_{n}_clients"] = run_phase(port, paths[offset:] + paths[:offset], n, args.requests)
                offset = (offset + n * args.requests) % len(paths)
        print(json.dumps(out, indent=1))
    finally:
        stop(server, timeout=10)


if __name__ == "__main__":
    main()

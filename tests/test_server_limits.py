"""The production server's bounds: one client's half-open connections cannot lock others out; idle ones close."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask

from lecturefind.web.server import make_server


def _app() -> Flask:
    app = Flask("limits")

    @app.get("/")
    def home():
        return "ok"

    return app


def _get(port: int, source: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0)) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
        return data


def test_half_open_connections_of_one_client_leave_room_for_others():
    server = make_server(_app(), port=0, threads=2, per_client=8, connection_limit=20, idle_timeout=3)
    port = int(server.effective_port)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        hog = []
        for _ in range(40):          # 40 connections that never send a request, from one address
            s = socket.socket()
            s.settimeout(5)
            s.connect(("127.0.0.1", port))
            hog.append(s)
        time.sleep(0.5)
        t0 = time.perf_counter()
        assert _get(port, "127.0.0.2").startswith(b"HTTP/1.1 200")      # another client is served at once
        assert time.perf_counter() - t0 < 2
        def dropped(sock) -> bool:
            """The server closed this connection (EOF or reset); False while it is still held open."""
            try:
                sock.settimeout(0.2)
                return sock.recv(1) == b""
            except socket.timeout:
                return False
            except ConnectionResetError:
                return True

        assert sum(dropped(s) for s in hog) >= 40 - 8          # all but the hog's share closed at once
        time.sleep(4.5)               # past the idle timeout: the rest are dropped too
        assert all(dropped(s) for s in hog)                      # the rest dropped once idle
        for s in hog:
            s.close()
    finally:
        server.close()


WORKERS = """
import os, sys
from flask import Flask
from lecturefind.web.server import listening_socket, serve_workers

def make_app():
    app = Flask("workers")
    app.get("/")(lambda: str(os.getpid()))
    return app

sock = listening_socket("127.0.0.1", 0)
print(sock.getsockname()[1], flush=True)
serve_workers(make_app, sock, 2, threads=2, log=lambda line: print(line, flush=True))
"""


def _pid_of_response(port: int) -> int:
    return int(_get(port, "127.0.0.1").split(b"\r\n\r\n", 1)[1])


def test_worker_processes_share_one_port_and_a_dead_worker_is_replaced():
    import signal
    import sys

    parent = subprocess.Popen([sys.executable, "-c", WORKERS], stdout=subprocess.PIPE, text=True)
    try:
        port = int(parent.stdout.readline())
        seen: set[int] = set()
        t0 = time.monotonic()
        while len(seen) < 2 and time.monotonic() - t0 < 20:
            with ThreadPoolExecutor(8) as pool:
                seen |= set(pool.map(lambda _: _pid_of_response(port), range(16)))
        assert len(seen) == 2 and parent.pid not in seen        # two workers, neither of them the parent
        victim = seen.pop()
        os.kill(victim, signal.SIGKILL)
        assert "starting another" in parent.stdout.readline()
        t0 = time.monotonic()
        after: set[int] = set()
        while len(after) < 2 and time.monotonic() - t0 < 20:
            try:
                after.add(_pid_of_response(port))
            except OSError:
                pass
        assert victim not in after and len(after) == 2          # the survivor and its replacement
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(10) == 0
        for pid in after:
            assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    finally:
        parent.kill()
        parent.wait()


@pytest.mark.models
def test_serve_with_two_workers_answers_searches_from_both(sample_index, tmp_path):
    """`lecturefind serve --workers 2`: two processes with their own models and connections, one port."""
    from helpers import GT, LECTUREFIND

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    log = open(tmp_path / "serve.log", "w+")
    proc = subprocess.Popen([LECTUREFIND, "serve", "--index", sample_index, "--port", str(port), "--workers", "2",
                             "--threads", "2"], stdout=log, stderr=subprocess.STDOUT,
                            env=dict(os.environ, HF_HUB_OFFLINE="1"))
    try:
        q = GT["questions"][0]

        def ask(_):
            url = f"http://127.0.0.1:{port}/api/search?" + urllib.parse.urlencode({"q": q["text"]})
            with urllib.request.urlopen(url, timeout=60) as r:
                return json.load(r)["results"][0]

        t0 = time.monotonic()
        while True:
            try:
                first = ask(0)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() - t0 < 120, open(tmp_path / "serve.log").read()
                time.sleep(0.5)
        with ThreadPoolExecutor(10) as pool:
            answers = list(pool.map(ask, range(20)))
        assert all((a["lecture_id"], a["start_s"]) == (first["lecture_id"], first["start_s"]) for a in answers)
        kids = [int(p) for p in open(f"/proc/{proc.pid}/task/{proc.pid}/children").read().split()]
        assert len(kids) == 2
    finally:
        proc.terminate()
        assert proc.wait(20) == 0
        log.close()

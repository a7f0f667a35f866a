"""Half-open connections: one address opens N sockets that never send a request; how long does another client
wait for a page? LectureFind's bounded server (lecturefind/web/server.py) against waitress's defaults.

    .venv/bin/python scripts/bench/connections.py [--hog 150]
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)


def app():
    from flask import Flask

    a = Flask("bench")
    a.add_url_rule("/", "home", lambda: "ok")
    return a


def other_client(port: int, timeout: float) -> float:
    """Seconds until a client on another address (127.0.0.2) gets its page; `timeout` if it never does."""
    t0 = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=("127.0.0.2", 0)) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            if not s.recv(64).startswith(b"HTTP/1.1 200"):
                return timeout
    except OSError:
        return timeout
    return time.perf_counter() - t0


def run(name: str, server, hog: int, timeout: float) -> None:
    port = int(server.effective_port)
    threading.Thread(target=server.run, daemon=True).start()
    socks = []
    for _ in range(hog):
        s = socket.socket()
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            pass
        socks.append(s)
    time.sleep(0.5)
    waited = other_client(port, timeout)
    held = 0
    for s in socks:
        try:
            s.settimeout(0.05)
            held += s.recv(1) != b""
        except socket.timeout:
            held += 1
        except OSError:
            pass
        s.close()
    server.close()
    print(f"{name}: {hog} half-open sockets from one address; another client waited "
          f"{'>= ' if waited >= timeout else ''}{waited * 1000:.0f} ms; the hog still holds {held}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hog", type=int, default=150)
    ap.add_argument("--timeout", type=float, default=15.0)
    args = ap.parse_args()
    from waitress.server import create_server

    from lecturefind.web.server import make_server

    run("waitress defaults (connection_limit 100, channel_timeout 120 s)",
        create_server(app(), host="127.0.0.1", port=0, threads=4), args.hog, args.timeout)
    from lecturefind.web.server import CONNECTION_LIMIT, IDLE_TIMEOUT_S, PER_CLIENT

    run(f"lecturefind serve ({PER_CLIENT} per client, {CONNECTION_LIMIT} in all, {IDLE_TIMEOUT_S} s idle)",
        make_server(app(), port=0, threads=4),
        args.hog, args.timeout)


if __name__ == "__main__":
    main()

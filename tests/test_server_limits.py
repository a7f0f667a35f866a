"""The production server's bounds: one client's half-open connections cannot lock others out; idle ones close."""
from __future__ import annotations

import socket
import threading
import time

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

"""The production server: waitress, with bounds so one slow or hostile client cannot take the server.

- `per_client` open connections per client address (default 64: a class behind one campus NAT is one address, each
  browser up to 6): the next one is closed at once, so 150 half-open sockets from one address leave room for
  everyone else;
- `connection_limit` connections in all (default 1000) and `channel_timeout` seconds of silence (default 20)
  before an idle or half-sent connection is dropped (waitress: 100 and 120).

`serve_workers` runs several such servers in worker processes that share one listening socket (the kernel hands
each connection to one of them), for machines with more cores than one Python process can use. The bounds
above hold per worker.
"""
from __future__ import annotations

import os
import signal
import socket
import sys
import time
from typing import Callable, Optional

PER_CLIENT = int(os.environ.get("LECTUREFIND_CONNECTIONS_PER_CLIENT") or 64)
CONNECTION_LIMIT = int(os.environ.get("LECTUREFIND_CONNECTION_LIMIT") or 1000)
IDLE_TIMEOUT_S = int(os.environ.get("LECTUREFIND_IDLE_TIMEOUT_S") or 20)


def make_server(app, host: str = "127.0.0.1", port: int = 8000, threads: int = 8, per_client: int = PER_CLIENT,
                connection_limit: int = CONNECTION_LIMIT, idle_timeout: int = IDLE_TIMEOUT_S,
                sock: Optional[socket.socket] = None):
    """A waitress server for `app` (not started: call `.run()`); `.effective_port` is the port it listens on.
    `sock`: a socket already listening (the workers of `serve_workers` share one)."""
    from waitress.server import create_server

    where = {"sockets": [sock]} if sock is not None else {"host": host, "port": port}
    server = create_server(app, **where, threads=threads, ident="LectureFind",
                           connection_limit=connection_limit, channel_timeout=idle_timeout, cleanup_interval=5)
    channel_class = server.channel_class

    def channel(srv, conn, addr, adj, map=None):
        ip = addr[0] if isinstance(addr, tuple) else addr
        open_here = sum(1 for ch in list((map or {}).values())
                        if ch is not srv and isinstance(getattr(ch, "addr", None), tuple) and ch.addr[0] == ip)
        if open_here >= per_client:
            conn.close()          # this address already holds its share of the server
            return None
        return channel_class(srv, conn, addr, adj, map=map)

    server.channel_class = channel
    return server


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def serve_workers(make_app: Callable[[], object], sock: socket.socket, workers: int, threads: int = 8,
                  log: Callable[[str], None] = print) -> None:
    """Fork `workers` processes, each building its own app (models, searchers, SQLite connections: nothing is
    shared but the index on disk) and serving `sock`; a worker that dies is replaced; SIGTERM/SIGINT stop all."""
    children: dict[int, int] = {}          # pid → worker number
    stopping = False

    def start(n: int) -> None:
        pid = os.fork()
        if pid == 0:                        # the worker
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 0
            try:
                make_server(make_app(), threads=threads, sock=sock).run()
            except BaseException as e:  # noqa: BLE001 - a worker reports and exits; the parent replaces it
                log(f"worker {n}: {type(e).__name__}: {e}")
                code = 1
            finally:
                os._exit(code)
        children[pid] = n

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for n in range(workers):
        start(n)
    restarts: list[float] = []
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        n = children.pop(pid, -1)
        if n < 0 or stopping:
            continue
        restarts = [t for t in restarts if time.monotonic() - t < 60] + [time.monotonic()]
        if len(restarts) > 3 * workers:       # dying as fast as they start: a setup error, not a crash
            log("workers keep exiting; stopping")
            stop(signal.SIGTERM, None)
            sys.exit(1)
        log(f"worker {n} exited ({status}); starting another")
        start(n)

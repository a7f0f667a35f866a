"""The production server: waitress, with bounds so one slow or hostile client cannot take the server.

- `per_client` open connections per client address (default 16): the next one is closed at once, so 150
  half-open sockets from one address leave room for everyone else;
- `connection_limit` connections in all (default 1000) and `channel_timeout` seconds of silence (default 20)
  before an idle or half-sent connection is dropped (waitress: 100 and 120).
"""
from __future__ import annotations

import os

PER_CLIENT = int(os.environ.get("LECTUREFIND_CONNECTIONS_PER_CLIENT") or 16)
CONNECTION_LIMIT = int(os.environ.get("LECTUREFIND_CONNECTION_LIMIT") or 1000)
IDLE_TIMEOUT_S = int(os.environ.get("LECTUREFIND_IDLE_TIMEOUT_S") or 20)


def make_server(app, host: str = "127.0.0.1", port: int = 8000, threads: int = 8, per_client: int = PER_CLIENT,
                connection_limit: int = CONNECTION_LIMIT, idle_timeout: int = IDLE_TIMEOUT_S):
    """A waitress server for `app` (not started: call `.run()`); `.effective_port` is the port it listens on."""
    from waitress.server import create_server

    server = create_server(app, host=host, port=port, threads=threads, ident="LectureFind",
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

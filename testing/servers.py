"""A `lecturefind serve` process for tests and benchmarks: a free port, wait until it listens, stop it."""
from __future__ import annotations

import socket
import subprocess
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerFailed(RuntimeError):
    """The server exited or did not listen in time; the message ends with the tail of its log."""


def wait_listening(proc: subprocess.Popen, port: int, timeout: float = 180.0, log_tail=lambda: "") -> None:
    """Return once `proc` accepts TCP connections on `port`; raise ServerFailed if it exits or times out."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise ServerFailed(f"lecturefind serve exited with {proc.returncode}:\n{log_tail()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise ServerFailed(f"lecturefind serve did not listen within {timeout:.0f} s:\n{log_tail()}") from None
            time.sleep(0.3)


def stop(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """SIGTERM, then SIGKILL if it does not exit in `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)

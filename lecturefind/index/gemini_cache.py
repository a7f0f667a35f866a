"""Content-hash vector cache, usage log and Batch API state, in `gemini_cache.sqlite` of the index dir."""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from typing import Iterable, Optional

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors(key TEXT PRIMARY KEY, dims INTEGER NOT NULL, vec BLOB NOT NULL, created REAL);
CREATE TABLE IF NOT EXISTS runs(
    id INTEGER PRIMARY KEY, started REAL, finished REAL, command TEXT, model TEXT, dims INTEGER, batch INTEGER,
    calls INTEGER, contents INTEGER, cache_hits INTEGER, retries INTEGER, uploads INTEGER, bytes_sent INTEGER,
    prompt_tokens INTEGER, tokens_json TEXT, cost_usd REAL);
CREATE TABLE IF NOT EXISTS batch_jobs(
    set_key TEXT PRIMARY KEY, name TEXT NOT NULL, keys_json TEXT NOT NULL, submitted REAL, state TEXT);
"""


class VectorCache:
    """key -> L2-normalised float32 vector; thread-safe; survives crashes (WAL, one row per vector)."""

    def __init__(self, index_dir: str):
        os.makedirs(index_dir, exist_ok=True)
        self.path = os.path.join(index_dir, "gemini_cache.sqlite")
        self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self.lock = threading.Lock()
        with self.lock:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def get_many(self, keys: Iterable[str]) -> dict[str, np.ndarray]:
        keys = list(dict.fromkeys(keys))
        out: dict[str, np.ndarray] = {}
        with self.lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                q = f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(chunk))})"
                for k, blob in self.conn.execute(q, chunk):
                    out[k] = np.frombuffer(blob, dtype=np.float32).copy()
        return out

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        now = time.time()
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.executemany(
                    "INSERT OR REPLACE INTO vectors(key, dims, vec, created) VALUES(?,?,?,?)",
                    [(k, int(v.shape[0]), np.asarray(v, np.float32).tobytes(), now) for k, v in items.items()])
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    # -- usage --------------------------------------------------------------------------------
    def record_run(self, usage: dict) -> None:
        cols = ("started", "finished", "command", "model", "dims", "batch", "calls", "contents", "cache_hits",
                "retries", "uploads", "bytes_sent", "prompt_tokens", "tokens_json", "cost_usd")
        row = dict(usage)
        row["tokens_json"] = json.dumps(row.pop("tokens", {}))
        with self.lock:
            self.conn.execute(f"INSERT INTO runs({','.join(cols)}) VALUES({','.join('?' * len(cols))})",
                              [row.get(c) for c in cols])

    def runs(self) -> list[dict]:
        with self.lock:
            cur = self.conn.execute("SELECT * FROM runs ORDER BY id")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]

    # -- batch API state ----------------------------------------------------------------------
    def batch_job(self, set_key: str) -> Optional[dict]:
        with self.lock:
            r = self.conn.execute("SELECT name, keys_json, submitted, state FROM batch_jobs WHERE set_key=?",
                                  (set_key,)).fetchone()
        if r is None:
            return None
        return {"name": r[0], "keys": json.loads(r[1]), "submitted": r[2], "state": r[3]}

    def save_batch_job(self, set_key: str, name: str, keys: list[str], state: str) -> None:
        with self.lock:
            self.conn.execute("INSERT OR REPLACE INTO batch_jobs VALUES(?,?,?,?,?)",
                              (set_key, name, json.dumps(keys), time.time(), state))

    def drop_batch_job(self, set_key: str) -> None:
        with self.lock:
            self.conn.execute("DELETE FROM batch_jobs WHERE set_key=?", (set_key,))

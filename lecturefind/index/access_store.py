"""Who may see what: LTI platforms, context → course links, login states, used nonces, sessions and API tokens.

Kept in `access.sqlite` beside the catalog (not in it): the web server writes here on every launch, and an ingest
holding the catalog's write lock must never stall a login. Secrets are stored only as SHA-256 digests (session
cookies, API tokens, resume tickets); login state and nonces expire and are used once.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

from ..errors import LectureFindError, os_reason

SCHEMA = """
CREATE TABLE IF NOT EXISTS platforms(
    issuer TEXT NOT NULL, client_id TEXT NOT NULL, auth_url TEXT NOT NULL, token_url TEXT NOT NULL DEFAULT '',
    jwks_url TEXT NOT NULL, deployments TEXT NOT NULL DEFAULT '[]', name TEXT NOT NULL DEFAULT '',
    PRIMARY KEY(issuer, client_id));
CREATE TABLE IF NOT EXISTS contexts(
    issuer TEXT NOT NULL, context_id TEXT NOT NULL, title TEXT NOT NULL DEFAULT '', course TEXT NOT NULL,
    PRIMARY KEY(issuer, context_id));
CREATE TABLE IF NOT EXISTS states(
    state TEXT PRIMARY KEY, nonce TEXT NOT NULL, issuer TEXT NOT NULL, client_id TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS nonces(nonce TEXT PRIMARY KEY, used REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions(digest TEXT PRIMARY KEY, data TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tickets(digest TEXT PRIMARY KEY, session TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tokens(
    digest TEXT PRIMARY KEY, course TEXT NOT NULL, label TEXT NOT NULL DEFAULT '', created REAL NOT NULL);
"""
STATE_TTL_S = 600          # a login must reach the launch within 10 minutes
NONCE_TTL_S = 24 * 3600    # used nonces are remembered past any id_token's lifetime
SESSION_TTL_S = 8 * 3600
TICKET_TTL_S = 120


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Platform:
    issuer: str
    client_id: str
    auth_url: str
    jwks_url: str
    token_url: str = ""
    deployments: tuple[str, ...] = ()
    name: str = ""


@dataclass
class Session:
    """What an LTI launch (or an API token) grants: one course, a role, and for Deep Linking where to answer."""

    course: Optional[str]
    role: str                              # 'learner' | 'instructor'
    user: str = ""
    issuer: str = ""
    client_id: str = ""
    deployment_id: str = ""
    context_id: str = ""
    context_title: str = ""
    deep_link: Optional[dict] = None       # deep_link_return_url, data, accept_types (a picker session)
    extra: dict = field(default_factory=dict)

    @property
    def instructor(self) -> bool:
        return self.role == "instructor"


class AccessStore:
    def __init__(self, index_dir: str):
        self.path = os.path.join(os.path.abspath(index_dir), "access.sqlite")
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.executescript(SCHEMA)
            os.chmod(self.path, 0o600)
        except OSError as e:
            raise LectureFindError(f"{self.path}: cannot open the access store ({os_reason(e)})") from None
        except sqlite3.DatabaseError as e:
            raise LectureFindError(f"{self.path}: not a readable access store ({e})") from None
        self.lock = threading.Lock()

    def close(self) -> None:
        self.conn.close()

    def _q(self, sql: str, args=()) -> list[sqlite3.Row]:
        with self.lock:
            return self.conn.execute(sql, args).fetchall()

    def _do(self, sql: str, args=()) -> int:
        with self.lock:
            return self.conn.execute(sql, args).rowcount

    # -- platforms -------------------------------------------------------------------------------
    def add_platform(self, p: Platform) -> None:
        self._do("INSERT OR REPLACE INTO platforms VALUES(?,?,?,?,?,?,?)",
                 (p.issuer, p.client_id, p.auth_url, p.token_url, p.jwks_url, json.dumps(list(p.deployments)),
                  p.name))

    def remove_platform(self, issuer: str, client_id: Optional[str] = None) -> int:
        if client_id:
            return self._do("DELETE FROM platforms WHERE issuer=? AND client_id=?", (issuer, client_id))
        return self._do("DELETE FROM platforms WHERE issuer=?", (issuer,))

    def platforms(self) -> list[Platform]:
        return [self._platform(r) for r in self._q("SELECT * FROM platforms ORDER BY issuer, client_id")]

    def platform(self, issuer: str, client_id: Optional[str] = None) -> Optional[Platform]:
        """The registration of `issuer` (and `client_id`; without it, only when the issuer has exactly one)."""
        if client_id:
            rows = self._q("SELECT * FROM platforms WHERE issuer=? AND client_id=?", (issuer, client_id))
        else:
            rows = self._q("SELECT * FROM platforms WHERE issuer=?", (issuer,))
        return self._platform(rows[0]) if len(rows) == 1 else None

    @staticmethod
    def _platform(r) -> Platform:
        return Platform(r["issuer"], r["client_id"], r["auth_url"], r["jwks_url"], r["token_url"],
                        tuple(json.loads(r["deployments"] or "[]")), r["name"])

    # -- LTI contexts -> courses -----------------------------------------------------------------
    def link_context(self, issuer: str, context_id: str, course: str, title: str = "") -> None:
        self._do("INSERT OR REPLACE INTO contexts VALUES(?,?,?,?)", (issuer, context_id, title, course))

    def context_course(self, issuer: str, context_id: str) -> Optional[str]:
        rows = self._q("SELECT course FROM contexts WHERE issuer=? AND context_id=?", (issuer, context_id))
        return rows[0]["course"] if rows else None

    def contexts(self) -> list[sqlite3.Row]:
        return self._q("SELECT * FROM contexts ORDER BY issuer, context_id")

    # -- OIDC login state and single-use nonces ----------------------------------------------------
    def new_state(self, issuer: str, client_id: str) -> tuple[str, str]:
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        now = time.time()
        with self.lock:
            self.conn.execute("DELETE FROM states WHERE created < ?", (now - STATE_TTL_S,))
            self.conn.execute("INSERT INTO states VALUES(?,?,?,?,?)", (state, nonce, issuer, client_id, now))
        return state, nonce

    def take_state(self, state: str) -> Optional[sqlite3.Row]:
        """The login that issued `state`, removed so it cannot be used twice; None if unknown or expired."""
        with self.lock:
            row = self.conn.execute("SELECT * FROM states WHERE state=?", (state,)).fetchone()
            self.conn.execute("DELETE FROM states WHERE state=?", (state,))
        if row is None or row["created"] < time.time() - STATE_TTL_S:
            return None
        return row

    def use_nonce(self, nonce: str) -> bool:
        """True the first time a nonce is presented, False on a replay."""
        now = time.time()
        with self.lock:
            self.conn.execute("DELETE FROM nonces WHERE used < ?", (now - NONCE_TTL_S,))
            try:
                self.conn.execute("INSERT INTO nonces VALUES(?,?)", (nonce, now))
            except sqlite3.IntegrityError:
                return False
        return True

    # -- sessions, resume tickets, API tokens --------------------------------------------------------
    def new_session(self, s: Session, ttl: float = SESSION_TTL_S) -> str:
        secret = secrets.token_urlsafe(32)
        data = json.dumps(s.__dict__)
        now = time.time()
        with self.lock:
            self.conn.execute("DELETE FROM sessions WHERE expires < ?", (now,))
            self.conn.execute("INSERT INTO sessions VALUES(?,?,?)", (digest(secret), data, now + ttl))
        return secret

    def session(self, secret: Optional[str]) -> Optional[Session]:
        if not secret or len(secret) > 200:
            return None
        rows = self._q("SELECT data, expires FROM sessions WHERE digest=?", (digest(secret),))
        if not rows or rows[0]["expires"] < time.time():
            return None
        return Session(**json.loads(rows[0]["data"]))

    def update_session(self, secret: str, s: Session) -> None:
        self._do("UPDATE sessions SET data=? WHERE digest=?", (json.dumps(s.__dict__), digest(secret)))

    def new_ticket(self, session_secret: str) -> str:
        """A one-time, short-lived ticket that opens the same session in a new (first-party) window."""
        ticket = secrets.token_urlsafe(24)
        self._do("INSERT INTO tickets VALUES(?,?,?)", (digest(ticket), session_secret, time.time() + TICKET_TTL_S))
        return ticket

    def take_ticket(self, ticket: str) -> Optional[str]:
        if not ticket or len(ticket) > 200:
            return None
        with self.lock:
            row = self.conn.execute("SELECT * FROM tickets WHERE digest=?", (digest(ticket),)).fetchone()
            self.conn.execute("DELETE FROM tickets WHERE digest=?", (digest(ticket),))
        if row is None or row["expires"] < time.time():
            return None
        return row["session"]

    def new_token(self, course: str, label: str = "") -> str:
        token = "lf_" + secrets.token_urlsafe(32)
        self._do("INSERT INTO tokens VALUES(?,?,?,?)", (digest(token), course, label, time.time()))
        return token

    def token_course(self, token: Optional[str]) -> Optional[str]:
        if not token or len(token) > 200:
            return None
        rows = self._q("SELECT course FROM tokens WHERE digest=?", (digest(token),))
        return rows[0]["course"] if rows else None

    def tokens(self) -> list[sqlite3.Row]:
        return self._q("SELECT substr(digest, 1, 12) AS id, course, label, created FROM tokens ORDER BY created")

    def revoke_token(self, token_id: str) -> int:
        if len(token_id) < 6:
            return 0
        return self._do("DELETE FROM tokens WHERE digest LIKE ?", (token_id + "%",))

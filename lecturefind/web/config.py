"""Web settings: defaults, the environment (LECTUREFIND_*) and validation.

| key | env | default |
| --- | --- | --- |
| INDEX | LECTUREFIND_INDEX | ./lecturefind-index |
| EMBED_ORIGINS | LECTUREFIND_EMBED_ORIGINS (space/comma separated) | none: /embed only frameable by itself |
| MAX_IMAGE_BYTES | LECTUREFIND_MAX_IMAGE_MB | 10 MB |
| MAX_AUDIO_BYTES | LECTUREFIND_MAX_AUDIO_MB | 25 MB |
| RATE_LIMIT | LECTUREFIND_RATE_LIMIT ("N/SECONDS", 0 = off) | 30/60 per client |
| TRUST_PROXY | LECTUREFIND_TRUST_PROXY (number of proxies) | 0 |
| ACCESS | LECTUREFIND_ACCESS: `open` (every course to all) or `lti` (LTI sessions, API tokens; per course) | open |
| LTI_JWKS_TIMEOUT | LECTUREFIND_LTI_JWKS_TIMEOUT (seconds to wait for a platform's key set) | 5 |
| AUDIT | LECTUREFIND_AUDIT (1 = serve /audit to anyone in `open` mode; in `lti` mode instructors have it) | off |
| AUDIT_MAX_OBJECTIVES | LECTUREFIND_AUDIT_MAX_OBJECTIVES | 200 per audit on the web |
| STORE | LECTUREFIND_STORE (`faiss`, `milvus`, `milvus:PATH.db`, `milvus+http://HOST:PORT`) | the index's own |
| SEARCHERS | LECTUREFIND_SEARCHERS (searches that run at once, each on its own SQLite connection) | CPUs, ≤ 4 |
| MODELS, SEARCHER | (objects; tests share loaded models) | loaded on first use |
"""
from __future__ import annotations

import logging
import os
import re

from ..config import default_index_dir
from ..formats import Limits

log = logging.getLogger("lecturefind.web")

MAX_QUERY_CHARS = 500
MAX_K = 50
_ORIGIN = re.compile(r"^https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?$")


def config_from_env() -> dict:
    limits = Limits.from_env()     # the same upload limits as any query input
    return {
        "INDEX": default_index_dir(),
        "EMBED_ORIGINS": os.environ.get("LECTUREFIND_EMBED_ORIGINS", ""),
        "MAX_IMAGE_BYTES": limits.image_bytes,
        "MAX_AUDIO_BYTES": limits.audio_bytes,
        "RATE_LIMIT": os.environ.get("LECTUREFIND_RATE_LIMIT", "30/60"),
        "TRUST_PROXY": int(os.environ.get("LECTUREFIND_TRUST_PROXY") or 0),
        "STORE": os.environ.get("LECTUREFIND_STORE") or None,
        "SEARCHERS": int(os.environ.get("LECTUREFIND_SEARCHERS") or 0) or None,
        "ACCESS": (os.environ.get("LECTUREFIND_ACCESS") or "open").strip().lower(),
        "LTI_JWKS_TIMEOUT": float(os.environ.get("LECTUREFIND_LTI_JWKS_TIMEOUT") or 5),
        "AUDIT": os.environ.get("LECTUREFIND_AUDIT", "0") not in ("", "0", "off", "false", "no"),
        "AUDIT_MAX_OBJECTIVES": int(os.environ.get("LECTUREFIND_AUDIT_MAX_OBJECTIVES") or 200),
        "JSON_SORT_KEYS": False,
    }


def parse_origins(value) -> list[str]:
    """Allowed LMS origins: scheme://host[:port] (a leading *. wildcard allowed); anything else is dropped."""
    items = value if isinstance(value, (list, tuple)) else re.split(r"[\s,]+", value or "")
    out = []
    for item in items:
        item = item.strip().rstrip("/")
        if not item:
            continue
        if _ORIGIN.match(item):
            out.append(item)
        else:
            log.warning("ignoring embed origin %r (want scheme://host[:port])", item)
    return out


def parse_rate(value) -> tuple[int, float] | None:
    """'30/60' -> (30, 60.0); '0', 'off' or None -> no limit."""
    if value in (None, "", 0, "0", "off", "none"):
        return None
    if isinstance(value, (tuple, list)):
        n, per = value
    else:
        n, _, per = str(value).partition("/")
        per = per or "60"
    n, per = int(n), float(per)
    return (n, per) if n > 0 and per > 0 else None


def finalize_config(cfg) -> None:
    cfg["INDEX"] = os.path.abspath(cfg["INDEX"])
    if cfg.get("ACCESS", "open") not in ("open", "lti"):
        raise ValueError(f"LECTUREFIND_ACCESS must be 'open' or 'lti', not {cfg['ACCESS']!r}")
    cfg["EMBED_ORIGINS"] = parse_origins(cfg.get("EMBED_ORIGINS"))
    cfg["RATE"] = parse_rate(cfg.get("RATE_LIMIT"))
    # the whole request may carry one image and one audio file plus a few form fields
    cfg["MAX_CONTENT_LENGTH"] = int(cfg["MAX_IMAGE_BYTES"]) + int(cfg["MAX_AUDIO_BYTES"]) + 64 * 1024
    cfg.setdefault("MAX_FORM_MEMORY_SIZE", 64 * 1024)

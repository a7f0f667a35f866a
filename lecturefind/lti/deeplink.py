"""The Deep Linking answer: a signed `LtiDeepLinkingResponse` holding the chosen moment as an `ltiResourceLink`."""
from __future__ import annotations

import secrets
import time
from typing import Optional

from ..index.access_store import Session
from .keys import ToolKeys
from .launch import CLAIM, DL_CLAIM

RESPONSE_TTL_S = 300


def resource_link(title: str, launch_url: str, lecture_id: int, t: Optional[float] = None,
                  page: Optional[int] = None, text: str = "") -> dict:
    """A content item whose later launch opens the moment: the lecture and second (or page) ride as custom
    parameters."""
    custom = {"lecture_id": str(int(lecture_id))}
    if page is not None:
        custom["page"] = str(int(page))
    elif t is not None:
        custom["t"] = str(int(t))
    item = {"type": "ltiResourceLink", "title": title[:200], "url": launch_url, "custom": custom}
    if text:
        item["text"] = text[:500]
    return item


def response_jwt(keys: ToolKeys, session: Session, items: list[dict]) -> str:
    """The signed answer to the platform that sent `session`'s Deep Linking request."""
    assert session.deep_link is not None
    now = int(time.time())
    claims = {"iss": session.client_id, "aud": session.issuer, "iat": now, "exp": now + RESPONSE_TTL_S,
              "nonce": secrets.token_urlsafe(16),
              CLAIM + "message_type": "LtiDeepLinkingResponse", CLAIM + "version": "1.3.0",
              CLAIM + "deployment_id": session.deployment_id, DL_CLAIM + "content_items": items}
    if session.deep_link.get("data") is not None:
        claims[DL_CLAIM + "data"] = session.deep_link["data"]
    return keys.sign(claims)

"""Validating an LTI 1.3 launch: the platform's RS256 `id_token`, then every LTI rule, each refusal one plain reason.

Order: size, header (RS256 with a `kid`, so `alg: none` or HS256 never reach a key), the registration named by
`iss`/`aud`, the signature against the platform's JWKS (cached; an unknown `kid` refetches it once; bounded
timeout), `exp`/`iat`/`iss`/`aud` (PyJWT), `azp`, the login `state` (single use, and the browser's state cookie
when it has one), the `nonce` (the login's, used once), `deployment_id`, message type and version.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Optional

from ..errors import LectureFindError
from ..index.access_store import AccessStore, Platform

MAX_ID_TOKEN = 32 * 1024
LEEWAY_S = 30
JWKS_TIMEOUT_S = 5.0
JWKS_LIFESPAN_S = 300
JWKS_COOLDOWN_S = 30.0    # an unknown kid refetches the key set at most this often (random kids cannot flood the LMS)

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
RESOURCE_LINK = "LtiResourceLinkRequest"
DEEP_LINKING = "LtiDeepLinkingRequest"
INSTRUCTOR_ROLES = ("membership#Instructor", "membership#ContentDeveloper", "membership#Administrator",
                    "institution/person#Administrator", "membership/Instructor#TeachingAssistant",
                    "system/person#Administrator")


class LaunchError(LectureFindError):
    """A launch refused; str() says why in one line (shown on the error page, never with token contents)."""


@dataclass
class Launch:
    platform: Platform
    message_type: str
    deployment_id: str
    user: str
    roles: list[str]
    context_id: str
    context_title: str
    target_link_uri: str
    custom: dict = field(default_factory=dict)
    deep_link: Optional[dict] = None
    name: str = ""

    @property
    def instructor(self) -> bool:
        return any(r.endswith(suffix) for r in self.roles for suffix in INSTRUCTOR_ROLES)


class KeySets:
    """One `PyJWKClient` per platform key-set URL: cached for JWKS_LIFESPAN_S, refetched on an unknown kid (at
    most once per cooldown)."""

    def __init__(self, timeout: float = JWKS_TIMEOUT_S, cooldown: float = JWKS_COOLDOWN_S):
        self.timeout = timeout
        self.cooldown = cooldown
        self._clients: dict[str, object] = {}
        self._lock = threading.Lock()

    def key_for(self, url: str, token: str):
        import jwt

        with self._lock:
            client = self._clients.get(url)
            if client is None:
                client = self._clients[url] = jwt.PyJWKClient(url, cache_jwk_set=True, lifespan=JWKS_LIFESPAN_S,
                                                              timeout=self.timeout, cooldown_duration=self.cooldown)
        try:
            return client.get_signing_key_from_jwt(token).key      # type: ignore[attr-defined]
        except jwt.PyJWKClientConnectionError as e:
            raise LaunchError(f"the platform's key set ({url}) could not be fetched: {_short(e)}") from None
        except jwt.PyJWKClientError as e:
            raise LaunchError(f"the token's key is not in the platform's key set ({_short(e)})") from None


def _short(e: Exception) -> str:
    return " ".join(str(e).split())[:160]


class LaunchValidator:
    def __init__(self, store: AccessStore, keysets: Optional[KeySets] = None):
        self.store = store
        self.keysets = keysets or KeySets()

    def validate(self, id_token: str, state: str, state_cookie: Optional[str]) -> Launch:
        import jwt

        if not id_token:
            raise LaunchError("no id_token in the launch")
        if len(id_token) > MAX_ID_TOKEN:
            raise LaunchError(f"the id_token is too large ({len(id_token)} bytes; at most {MAX_ID_TOKEN})")
        try:
            header = jwt.get_unverified_header(id_token)
            unverified = jwt.decode(id_token, options={"verify_signature": False})
        except jwt.PyJWTError as e:
            raise LaunchError(f"the id_token is not a JWT ({_short(e)})") from None
        if header.get("alg") != "RS256":
            raise LaunchError(f"the id_token must be signed with RS256, not {str(header.get('alg'))[:20]!r}")
        if not header.get("kid"):
            raise LaunchError("the id_token header names no key (kid)")
        issuer = unverified.get("iss")
        aud = unverified.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if not isinstance(issuer, str) or not all(isinstance(a, str) for a in auds):
            raise LaunchError("the id_token has no valid iss or aud")
        platform = next((p for a in auds if (p := self.store.platform(issuer, a)) is not None), None)
        if platform is None:
            raise LaunchError(f"no platform registered for issuer {issuer[:120]!r} and this audience")
        key = self.keysets.key_for(platform.jwks_url, id_token)
        try:
            claims = jwt.decode(id_token, key, algorithms=["RS256"], audience=platform.client_id, issuer=issuer,
                                leeway=LEEWAY_S, options={"require": ["exp", "iat", "iss", "aud", "nonce"]})
        except jwt.ExpiredSignatureError:
            raise LaunchError("the id_token has expired") from None
        except jwt.ImmatureSignatureError:
            raise LaunchError("the id_token is issued in the future (iat)") from None
        except jwt.InvalidAudienceError:
            raise LaunchError("the id_token is not for this tool (aud)") from None
        except jwt.MissingRequiredClaimError as e:
            raise LaunchError(f"the id_token lacks the {e.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise LaunchError("the id_token's signature does not verify") from None
        except jwt.PyJWTError as e:
            raise LaunchError(f"the id_token was refused ({_short(e)})") from None
        if isinstance(claims["aud"], list) and len(claims["aud"]) > 1 and claims.get("azp") != platform.client_id:
            raise LaunchError("the id_token has several audiences and its azp is not this tool")
        if "azp" in claims and claims["azp"] != platform.client_id:
            raise LaunchError("the id_token's azp is not this tool")

        login = self.store.take_state(state or "")
        if login is None:
            raise LaunchError("unknown or expired login state (start the launch again from the course)")
        if state_cookie is not None and state_cookie != state:
            raise LaunchError("the login state does not match this browser's")
        if login["issuer"] != issuer or login["nonce"] != claims["nonce"]:
            raise LaunchError("the id_token's nonce is not the one this login sent")
        if not self.store.use_nonce(claims["nonce"]):
            raise LaunchError("the id_token's nonce was already used (a replayed launch)")

        deployment = claims.get(CLAIM + "deployment_id")
        if not isinstance(deployment, str) or deployment not in platform.deployments:
            raise LaunchError(f"unknown deployment {str(deployment)[:80]!r} for this platform")
        message_type = claims.get(CLAIM + "message_type")
        if message_type not in (RESOURCE_LINK, DEEP_LINKING):
            raise LaunchError(f"unsupported LTI message type {str(message_type)[:60]!r}")
        if claims.get(CLAIM + "version") != "1.3.0":
            raise LaunchError(f"unsupported LTI version {str(claims.get(CLAIM + 'version'))[:20]!r} (want 1.3.0)")
        deep_link = None
        if message_type == RESOURCE_LINK:
            link = claims.get(CLAIM + "resource_link")
            if not isinstance(link, dict) or not link.get("id"):
                raise LaunchError("the launch lacks its resource_link id")
        else:
            settings = claims.get(DL_CLAIM + "deep_linking_settings")
            if not isinstance(settings, dict) or not settings.get("deep_link_return_url"):
                raise LaunchError("the Deep Linking request lacks deep_link_return_url")
            deep_link = {"return_url": settings["deep_link_return_url"], "data": settings.get("data"),
                         "accept_types": settings.get("accept_types") or ["ltiResourceLink"]}
        context = claims.get(CLAIM + "context") or {}
        roles = claims.get(CLAIM + "roles") or []
        custom = claims.get(CLAIM + "custom") or {}
        return Launch(platform, message_type, deployment, str(claims.get("sub") or ""),
                      [r for r in roles if isinstance(r, str)] if isinstance(roles, list) else [],
                      str(context.get("id") or "") if isinstance(context, dict) else "",
                      str(context.get("title") or "") if isinstance(context, dict) else "",
                      str(claims.get(CLAIM + "target_link_uri") or ""), custom if isinstance(custom, dict) else {},
                      deep_link, str(claims.get("name") or ""))

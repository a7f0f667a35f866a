"""LTI 1.3: the tool's keys, OIDC login, id_token validation, Deep Linking responses.

A thin layer on PyJWT (RS256 signatures, exp/iat/aud/iss checks, `PyJWKClient` for the platform's key set with a
bounded timeout, a cache and a refetch on an unknown `kid`); everything LTI-specific (nonce, state, deployment,
message type, version, roles, context) is checked here. The web views live in `lecturefind/web/views/lti.py`,
who-may-see-what in `lecturefind/web/access.py`, the stored registrations in `lecturefind/index/access_store.py`.
"""

"""The tool's RSA key pairs: made on first use in `INDEX/lti-keys/` (0600), rotatable; the JWKS lists them all."""
from __future__ import annotations

import json
import os
import time
from typing import Optional

from ..errors import LectureFindError, os_reason

KEEP = 2        # keys published after a rotation: the current one and the one before (tokens in flight)


class ToolKeys:
    def __init__(self, index_dir: str):
        self.folder = os.path.join(os.path.abspath(index_dir), "lti-keys")
        self._cache: Optional[tuple[float, list]] = None

    def _kids(self) -> list[str]:
        """Key ids, newest first."""
        try:
            names = [n[:-4] for n in os.listdir(self.folder) if n.endswith(".pem")]
        except FileNotFoundError:
            return []
        return sorted(names, reverse=True)

    def _load(self, kid: str):
        from cryptography.hazmat.primitives import serialization

        with open(os.path.join(self.folder, kid + ".pem"), "rb") as fh:
            return serialization.load_pem_private_key(fh.read(), password=None)

    def rotate(self) -> str:
        """Make a new key pair and make it current; keys beyond the newest KEEP are removed."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        try:
            os.makedirs(self.folder, mode=0o700, exist_ok=True)
            kid = time.strftime("%Y%m%d%H%M%S", time.gmtime()) + f"-{os.urandom(3).hex()}"
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            path = os.path.join(self.folder, kid + ".pem")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
            for old in self._kids()[KEEP:]:
                os.unlink(os.path.join(self.folder, old + ".pem"))
        except OSError as e:
            raise LectureFindError(f"{self.folder}: cannot write the LTI key ({os_reason(e)})") from None
        self._cache = None
        return kid

    def current(self) -> tuple[str, object]:
        """(kid, private key) that signs; made on first use."""
        kids = self._kids() or [self.rotate()]
        return kids[0], self._load(kids[0])

    def jwks(self) -> dict:
        """The public keys, as `/lti/jwks.json` serves them."""
        from jwt.algorithms import RSAAlgorithm

        if not self._kids():
            self.current()
        keys = []
        for kid in self._kids():
            jwk = json.loads(RSAAlgorithm.to_jwk(self._load(kid).public_key()))
            keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": keys}

    def sign(self, claims: dict) -> str:
        import jwt

        kid, key = self.current()
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})    # type: ignore[arg-type]

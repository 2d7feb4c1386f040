"""Room codes (short, read aloud, typed on a phone) and the teacher's secret.

A code is 6 characters from an alphabet without the look-alikes 0/O, 1/I/L: 31^6 ~ 8.9e8
codes. The code is not a secret (it is on the projector); the secret, returned once when the
room is made, is what lets a page drive the room. The server keeps only its SHA-256.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 6
BAD_CODE = (
    f"A room code is {LENGTH} letters and digits (no 0, 1, I, L or O), e.g. K7M2QX: "
    "check the code on the teacher's screen."
)


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normal_code(raw: str) -> str | None:
    """The code as stored (upper case, without spaces or dashes), or None if it cannot be one."""
    code = raw.replace(" ", "").replace("-", "").upper()
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def secret_matches(secret: str | None, stored_hash: str) -> bool:
    """Constant-time comparison of a secret with a stored hash."""
    if not secret:
        return False
    return hmac.compare_digest(secret_hash(secret), stored_hash)

"""HMAC signatures of inbound webhooks: Nexus's own scheme and GitHub's.

Nexus (``X-Nexus-Signature``), modelled on Stripe's::

    t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>[,v1=<…>]

The timestamp is inside the signed text, so a captured request cannot be replayed once it is
older than the tolerance (5 minutes); within it, the event's unique id rejects the replay. Several
``v1=`` entries let a sender sign with the old and the new secret while a secret is rotated.

GitHub (``X-Hub-Signature-256``): ``sha256=<hex HMAC-SHA256(secret, raw body)>``; no timestamp,
so replays are caught by the unique ``X-GitHub-Delivery`` id alone.

Errors (every one means "do not trust this request", HTTP 401)::

    SignatureError
    ├── MissingSignature     no header at all
    ├── MalformedSignature   a header that does not parse
    ├── BadSignature         no signature matches the body and the secret
    └── StaleSignature       correctly signed, but the timestamp is too far from now
"""

from __future__ import annotations

import hashlib
import hmac

#: How far the signed timestamp may be from the server's clock, either way (seconds).
DEFAULT_TOLERANCE = 300
#: More ``v1=`` entries than this is not a rotation but an attempt to make us hash a lot.
MAX_SIGNATURES = 8
_HEX = frozenset("0123456789abcdef")


class SignatureError(Exception):
    """The request's signature cannot be trusted; `str()` says why in plain words."""

    status = 401
    reason = "signature"


class MissingSignature(SignatureError):
    reason = "missing"


class MalformedSignature(SignatureError):
    reason = "malformed"


class BadSignature(SignatureError):
    reason = "mismatch"


class StaleSignature(SignatureError):
    reason = "stale"


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def _hex_digest(secret: str | bytes, message: bytes) -> str:
    return hmac.new(_key(secret), message, hashlib.sha256).hexdigest()


def _is_hex_digest(value: str) -> bool:
    return len(value) == 64 and set(value) <= _HEX


def sign(secret: str | bytes, body: bytes, timestamp: int) -> str:
    """The ``X-Nexus-Signature`` value for `body` sent at `timestamp` (unix seconds)."""
    return f"t={timestamp},v1={_hex_digest(secret, b'%d.' % timestamp + body)}"


def _parse_nexus(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise MalformedSignature("the signature header is not a list of key=value pairs")
        if key == "t":
            if timestamp is not None or not (value.isascii() and value.isdigit()):
                raise MalformedSignature("the signature header needs one numeric t=")
            if len(value) > 12:
                raise MalformedSignature("the signature timestamp is not a unix time")
            timestamp = int(value)
        elif key == "v1":
            if not _is_hex_digest(value):
                raise MalformedSignature("a v1= signature is not 64 lowercase hex digits")
            signatures.append(value)
        # other schemes (v0=, a future v2=) are ignored, as Stripe does
    if timestamp is None or not signatures:
        raise MalformedSignature("the signature header needs t= and at least one v1=")
    if len(signatures) > MAX_SIGNATURES:
        raise MalformedSignature(f"more than {MAX_SIGNATURES} v1= signatures")
    return timestamp, signatures


def _matches_any(expected: str, candidates: list[str]) -> bool:
    """Compare against every candidate in constant time each, without stopping early."""
    found = False
    for candidate in candidates:
        found |= hmac.compare_digest(expected, candidate)
    return found


def verify_nexus(
    secret: str | bytes,
    header: str | None,
    body: bytes,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE,
) -> int:
    """Check an ``X-Nexus-Signature`` header; return its timestamp or raise SignatureError.

    The signature is checked before the timestamp, so only someone holding the secret learns
    that their clock is off.
    """
    if not header:
        raise MissingSignature("the X-Nexus-Signature header is missing")
    timestamp, signatures = _parse_nexus(header)
    expected = _hex_digest(secret, b"%d." % timestamp + body)
    if not _matches_any(expected, signatures):
        raise BadSignature("the signature does not match the body")
    if abs(now - timestamp) > tolerance:
        raise StaleSignature(
            f"the signature timestamp is more than {tolerance} seconds from the server's clock"
        )
    return timestamp


def verify_github(secret: str | bytes, header: str | None, body: bytes) -> None:
    """Check an ``X-Hub-Signature-256`` header or raise SignatureError."""
    if not header:
        raise MissingSignature("the X-Hub-Signature-256 header is missing")
    scheme, sep, value = header.strip().partition("=")
    if not sep or scheme != "sha256" or not _is_hex_digest(value):
        raise MalformedSignature("the signature header is not sha256=<64 hex digits>")
    if not hmac.compare_digest(_hex_digest(secret, body), value):
        raise BadSignature("the signature does not match the body")

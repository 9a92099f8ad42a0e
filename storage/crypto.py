"""Encryption of stored credentials (Fernet: AES-128-CBC + HMAC-SHA256, from `cryptography`).

The key comes from NEXUS_SECRET_KEY or, when that is unset, from `secret.key` in the data dir,
created on first run with 0600 permissions. `Vault` accepts several keys: the first encrypts,
all decrypt, which is what makes `nexus rotate-key` safe to interrupt.

`cryptography` (about 7 MB of a process's memory) is loaded on the first encryption or
decryption, not at start: an idle bot never needs it. Keys are still checked when a `Vault` is
made, with Fernet's own rule (url-safe base64 of 32 bytes), so a bad key stops the start.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

KEY_FILE_NAME = "secret.key"
#: The next key, written by `nexus rotate-key` before it re-encrypts and renamed over the old one.
STAGED_KEY_FILE_NAME = "secret.key.new"
#: The key a rotation replaced, kept so that a restored old backup can still be opened.
OLD_KEY_FILE_NAME = "secret.key.old"


class CryptoError(Exception):
    """A key is malformed, or stored data cannot be decrypted with the keys at hand."""


def generate_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")  # what Fernet makes


def _checked(key: str) -> str:
    """The key, stripped, if Fernet would take it (url-safe base64 of 32 bytes)."""
    key = key.strip()
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError, binascii.Error):
        raw = b""
    if len(raw) != 32:
        raise CryptoError(
            "the secret key is not a valid key (expected 44 url-safe base64 characters; "
            "make one with `nexus keygen`)"
        )
    return key


class Vault:
    """Encrypts and decrypts credential dictionaries."""

    def __init__(self, *keys: str) -> None:
        if not keys:
            raise CryptoError("no secret key given")
        self._keys = [_checked(k) for k in keys]

    @cached_property
    def _fernet(self) -> MultiFernet:
        from cryptography.fernet import Fernet, MultiFernet

        return MultiFernet([Fernet(k.encode("ascii")) for k in self._keys])

    def encrypt(self, data: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(data).encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> dict[str, Any]:
        from cryptography.fernet import InvalidToken

        try:
            value = json.loads(self._fernet.decrypt(token.encode("ascii")))
        except InvalidToken:
            raise CryptoError(
                "stored credentials cannot be decrypted with this secret key "
                "(was NEXUS_SECRET_KEY changed without `nexus rotate-key`?)"
            ) from None
        if not isinstance(value, dict):
            raise CryptoError("stored credentials are not a JSON object")
        return value

    def rotate(self, token: str) -> str:
        """Re-encrypt a token under the first key (it may have been made with any known key)."""
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise CryptoError(
                "stored credentials cannot be decrypted with the known keys"
            ) from None


def write_key_file(path: Path, key: str) -> None:
    """Write a key atomically (replacing any old one), readable by the owner only."""
    tmp = _private_temp_file(path, key)
    os.replace(tmp, path)


def _private_temp_file(path: Path, key: str) -> Path:
    """A 0600 file holding `key`, next to `path`, flushed to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(name, 0o600)
    return Path(name)


def load_or_create_key_file(data_dir: Path) -> tuple[str, bool]:
    """The data dir's key, creating it on first use. Returns (key, created).

    Several processes starting at once on a fresh data dir agree on one key: each writes a
    candidate to its own temp file and hard-links it into place; only the first link succeeds,
    and the others read the winner's key.
    """
    path = data_dir / KEY_FILE_NAME
    if not path.exists():
        candidate = generate_key()
        tmp = _private_temp_file(path, candidate)
        try:
            os.link(tmp, path)
            return candidate, True
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = path.read_text().strip()
    _checked(key)
    return key, False

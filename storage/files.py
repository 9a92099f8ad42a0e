"""Files kept under the data dir (post images), written atomically and named by content.

A file is written to a temporary name and renamed into place, so a crash never leaves half an
image behind a database row; the name is the SHA-256 of the content, so the same photo sent
twice is stored once and a name can never escape its folder.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

MEDIA_FOLDER = "media"
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
}


def write_media(data_dir: Path, data: bytes, mime: str) -> str:
    """Store ``data`` under ``data_dir/media``; returns the path relative to ``data_dir``."""
    name = hashlib.sha256(data).hexdigest() + _EXTENSIONS.get(mime, ".bin")
    relative = f"{MEDIA_FOLDER}/{name}"
    target = data_dir / relative
    if target.exists():
        return relative
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return relative

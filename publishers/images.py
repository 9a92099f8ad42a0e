"""Make an image acceptable to a platform before it is uploaded: :func:`fit` and :func:`probe`.

Why here and not at upload time on the platform's side: every platform refuses (or silently
mangles) files over its own limits, and each says so differently, often only after a slow
upload. Shrinking to :class:`~publishers.base.MediaLimits` first turns all of that into one
predictable step, and a file Nexus can't read at all becomes one plain :class:`Permanent`
reason instead of a different 400 per platform.

What :func:`fit` does, in order, and only as far as needed:

1. decode (JPEG, PNG, GIF or WebP; anything else, or a broken file, is ``Permanent``);
2. if the file already fits (allowed type, no EXIF rotation pending, sides, bytes and aspect
   within the limits) it is returned byte for byte: no needless recompression;
3. otherwise apply the EXIF orientation (phones store portrait photos sideways with a tag
   that several platforms ignore), pad with white to the allowed aspect range (Instagram
   refuses anything outside 4:5…1.91:1; padding never cuts off content), keep PNG where it is
   allowed (and WebP likewise), else encode JPEG, flattening transparency onto white (JPEG
   has no alpha: transparent pixels would turn black);
4. downscale so the longest side is at most ``max_side``, then step JPEG quality down
   (90 → 40) and, if still too big, downscale further until the file is within ``max_bytes``.

An animated GIF that does not fit becomes a still JPEG of its first frame.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

from publishers.base import MediaLimits
from publishers.errors import Permanent
from publishers.media import MediaItem, load_media

if TYPE_CHECKING:
    from PIL import Image

# Pillow is imported inside the functions that decode or draw: a process that never handles an
# image (most of them, most of the time) does not carry it.

UNSUPPORTED = "unsupported media: this file is not an image Nexus can read (JPEG, PNG, GIF or WebP)"
_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
_FORMAT = {mime: fmt for fmt, mime in _MIME.items()}
_QUALITIES = (90, 82, 75, 68, 60, 52, 45, 40)
_SHRINK = 0.8
_MIN_SIDE = 16
_ROTATED = {5, 6, 7, 8}  # EXIF orientations that swap width and height


def probe(data: bytes) -> tuple[int, int, str]:
    """``(width, height, mime)`` of an image as it is shown (EXIF rotation applied);
    ``Permanent`` if it is not a JPEG, PNG, GIF or WebP Nexus can read."""
    image = _open(data)
    width, height = image.size
    if _orientation(image) in _ROTATED:
        width, height = height, width
    return width, height, _MIME[str(image.format)]


def fit(item: MediaItem, limits: MediaLimits) -> tuple[bytes, str]:
    """``(data, mime)`` of ``item`` made to satisfy ``limits`` (see the module docstring)."""
    from PIL import Image, ImageOps

    data, _name, _mime = load_media(item)
    image = _open(data)
    mime = _MIME[str(image.format)]
    if _fits_as_is(image, data, mime, limits):
        return data, mime
    target = _target_mime(image, mime, limits)
    try:
        image.seek(0)
        image = ImageOps.exif_transpose(image) or image
        image = _prepare(image, target)
        image = _pad_to_aspect(image, limits, target)
        scale = min(1.0, limits.max_side / max(image.size))
        while True:
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            resized = image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)
            for encoded in _encodings(resized, target):
                if len(encoded) <= limits.max_bytes:
                    return encoded, target
            if min(size) <= _MIN_SIDE:
                break
            scale *= _SHRINK
    except (OSError, ValueError) as exc:
        raise Permanent(UNSUPPORTED) from exc
    raise Permanent(
        f"this image can't be made smaller than {limits.max_bytes // 1024} KB; "
        "send a simpler picture"
    )


# ---------------------------------------------------------------- helpers
def _open(data: bytes) -> Image.Image:
    """The decoded image (pixels loaded, so a truncated file fails here), or ``Permanent``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in _MIME:
                raise Permanent(UNSUPPORTED)
            image.load()
    except Permanent:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise Permanent("this image is too large to process; send a smaller one") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise Permanent(UNSUPPORTED) from exc
    return image


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(0x0112) or 1)
    except (TypeError, ValueError):
        return 1


def _aspect_ok(width: int, height: int, limits: MediaLimits) -> bool:
    if limits.aspect is None:
        return True
    low, high = limits.aspect
    # a 1-pixel tolerance: 1080×1350 is 4:5 exactly; rounding must not reject it
    return width <= high * height + 1 and width + 1 >= low * height


def _fits_as_is(image: Image.Image, data: bytes, mime: str, limits: MediaLimits) -> bool:
    return (
        mime in limits.formats
        and _orientation(image) == 1
        and max(image.size) <= limits.max_side
        and len(data) <= limits.max_bytes
        and _aspect_ok(image.width, image.height, limits)
    )


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        image.mode == "P" and "transparency" in image.info
    )


def _target_mime(image: Image.Image, mime: str, limits: MediaLimits) -> str:
    """Keep PNG or WebP where allowed (lossless, keeps transparency); else JPEG; else the first
    allowed type Pillow can write."""
    if mime in ("image/png", "image/webp") and mime in limits.formats:
        return mime
    if "image/jpeg" in limits.formats:
        return "image/jpeg"
    for candidate in ("image/png", "image/webp"):
        if candidate in limits.formats:
            return candidate
    raise Permanent(f"Nexus can't convert images to {', '.join(limits.formats)}")


def _prepare(image: Image.Image, target: str) -> Image.Image:
    """Pixels in a mode ``target`` can store: JPEG gets RGB (or L) with alpha on white."""
    from PIL import Image

    if target != "image/jpeg":
        return image if image.mode in ("RGB", "RGBA", "L", "LA", "P") else image.convert("RGBA")
    if _has_alpha(image):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image if image.mode in ("RGB", "L") else image.convert("RGB")


def _pad_to_aspect(image: Image.Image, limits: MediaLimits, target: str) -> Image.Image:
    from PIL import Image

    if limits.aspect is None or _aspect_ok(image.width, image.height, limits):
        return image
    low, high = limits.aspect
    width, height = image.size
    if width > high * height:
        size = (width, int(width / high) + 1)
    else:
        size = (int(low * height) + 1, height)
    if image.mode not in ("RGB", "L", "RGBA"):
        image = image.convert("RGBA" if target != "image/jpeg" else "RGB")
    fill = 255 if image.mode == "L" else (255, 255, 255, 0) if image.mode == "RGBA" else (255,) * 3
    canvas = Image.new(image.mode, size, fill)
    canvas.paste(image, ((size[0] - width) // 2, (size[1] - height) // 2))
    return canvas


def _encodings(image: Image.Image, target: str) -> Iterator[bytes]:
    """The encodings of ``image`` to try, best first, one at a time (encoding is the slow
    part, and the first one usually fits)."""
    fmt = _FORMAT[target]
    if fmt == "PNG":
        yield _save(image, fmt, optimize=True)
        return
    for quality in _QUALITIES:
        if fmt == "JPEG":
            yield _save(image, fmt, quality=quality, optimize=True, progressive=True)
        else:
            yield _save(image, fmt, quality=quality)


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()

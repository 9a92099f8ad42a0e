"""publishers.images: whatever picture the owner sends, what goes to a platform fits its limits."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from publishers.base import MediaLimits
from publishers.errors import Permanent
from publishers.images import UNSUPPORTED, fit, probe

INSTAGRAM = MediaLimits(
    10, 8 * 1024**2, 1440, formats=("image/jpeg",), required=True, aspect=(0.8, 1.91)
)
TINY = MediaLimits(4, 20_000, 300)


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def noise(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Random pixels: the worst case for compression."""
    return Image.frombytes(mode, size, os.urandom(size[0] * size[1] * len(mode)))


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_file_that_already_fits_is_returned_byte_for_byte(tmp_path: Path) -> None:
    data = encode(Image.new("RGB", (800, 600), (10, 120, 200)), "JPEG", quality=95)
    assert fit(data, INSTAGRAM) == (data, "image/jpeg")
    path = tmp_path / "photo.jpg"
    path.write_bytes(data)
    assert fit(path, INSTAGRAM) == (data, "image/jpeg")
    png = encode(Image.new("RGBA", (64, 64), (0, 0, 0, 0)), "PNG")
    assert fit(png, TINY) == (png, "image/png")


def test_a_big_photo_is_shrunk_to_the_side_and_byte_limits() -> None:
    data = encode(noise((2000, 1500)), "JPEG", quality=95)
    out, mime = fit(data, TINY)
    image = decoded(out)
    assert mime == "image/jpeg" and image.format == "JPEG"
    assert len(out) <= TINY.max_bytes and max(image.size) <= TINY.max_side
    assert image.width > image.height  # the shape is kept


def test_transparent_png_becomes_jpeg_on_white_where_png_is_not_allowed() -> None:
    image = Image.new("RGBA", (400, 400), (255, 0, 0, 255))
    image.paste((0, 0, 0, 0), (0, 0, 200, 400))  # the left half is transparent
    out, mime = fit(encode(image, "PNG"), INSTAGRAM)
    result = decoded(out).convert("RGB")
    assert mime == "image/jpeg"
    left, right = result.getpixel((50, 200)), result.getpixel((350, 200))
    assert all(c > 240 for c in left)  # white, not black
    assert right[0] > 200 and right[1] < 60


def test_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (300, 200), (0, 200, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": a portrait photo stored sideways
    data = encode(image, "JPEG", exif=exif)
    assert probe(data) == (200, 300, "image/jpeg")
    out, _ = fit(data, TINY)
    assert decoded(out).size == (200, 300)
    assert decoded(out).getexif().get(0x0112) in (None, 1)


def test_instagram_shapes_are_padded_into_its_aspect_range() -> None:
    panorama = encode(Image.new("RGB", (1200, 300), (0, 0, 255)), "JPEG")
    out, _ = fit(panorama, INSTAGRAM)
    width, height = decoded(out).size
    assert 0.8 <= width / height <= 1.91 and width == 1200
    tall = encode(Image.new("RGB", (300, 1200), (0, 0, 255)), "JPEG")
    width, height = decoded(fit(tall, INSTAGRAM)[0]).size
    assert 0.8 <= width / height <= 1.91 and height == 1200


def test_gif_and_webp_are_converted_where_not_allowed() -> None:
    frames = [Image.new("P", (120, 80), i) for i in (1, 2, 3)]
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    out, mime = fit(gif, INSTAGRAM)
    assert mime == "image/jpeg" and decoded(out).size == (120, 80)
    webp = encode(Image.new("RGB", (50, 50), (9, 9, 9)), "WEBP")
    assert fit(webp, INSTAGRAM)[1] == "image/jpeg"
    assert probe(webp) == (50, 50, "image/webp")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"%PDF-1.7 definitely not a picture",
        encode(Image.new("RGB", (100, 100)), "JPEG")[:200],  # truncated
        encode(Image.new("RGB", (10, 10)), "BMP"),  # an image, but not one we take
    ],
    ids=["empty", "pdf", "truncated-jpeg", "bmp"],
)
def test_files_that_are_not_usable_images_are_refused_in_plain_words(data: bytes) -> None:
    with pytest.raises(Permanent) as err:
        fit(data, TINY)
    assert err.value.reason == UNSUPPORTED
    with pytest.raises(Permanent):
        probe(data)


MODES = st.sampled_from(["RGB", "RGBA", "L", "LA", "P", "CMYK"])
FORMATS = st.sampled_from(["JPEG", "PNG", "GIF", "WEBP"])
LIMITS = st.sampled_from(
    [
        TINY,
        MediaLimits(10, 50_000, 512, formats=("image/jpeg",), aspect=(0.8, 1.91)),
        MediaLimits(10, 30_000, 400, formats=("image/png", "image/jpeg")),
        MediaLimits(10, 60_000, 640, formats=("image/jpeg", "image/png", "image/gif")),
    ]
)


def _sample(mode: str, fmt: str, size: tuple[int, int], busy: bool, colour: int) -> bytes:
    if fmt == "JPEG" and mode not in ("RGB", "L", "CMYK"):
        mode = "RGB"
    if fmt == "GIF":
        mode = "P"
    if mode == "CMYK" and fmt != "JPEG":
        mode = "RGB"
    base = noise(size, "RGB") if busy else Image.new("RGB", size, (colour, 255 - colour, 77))
    return encode(base.convert(mode), fmt)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mode=MODES,
    fmt=FORMATS,
    width=st.integers(1, 1400),
    height=st.integers(1, 1400),
    busy=st.booleans(),
    colour=st.integers(0, 255),
    limits=LIMITS,
)
def test_output_always_decodes_and_fits(
    mode: str,
    fmt: str,
    width: int,
    height: int,
    busy: bool,
    colour: int,
    limits: MediaLimits,
) -> None:
    data = _sample(mode, fmt, (width, height), busy, colour)
    out, mime = fit(data, limits)
    image = decoded(out)
    assert mime in limits.formats
    assert probe(out)[2] == mime
    assert len(out) <= limits.max_bytes
    assert max(image.size) <= limits.max_side
    if limits.aspect:
        low, high = limits.aspect
        assert image.width <= high * image.height + 1 and image.width + 1 >= low * image.height

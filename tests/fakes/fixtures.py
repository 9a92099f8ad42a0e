"""Fixtures the publisher contract tests share: an HTTP client, a recorded sleep, a fake server.

A test module takes them by name::

    from tests.fakes.fixtures import Sleeps, client, serve, sleeps

    masto = serve(FakeMastodon)  # the fixture ``masto``: a started FakeMastodon
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import httpx
import pytest
from PIL import Image

from tests.fakes.loopback import LoopbackServer

Fake = TypeVar("Fake", bound=LoopbackServer)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=2.0) as c:
        yield c


class Sleeps:
    """A ``sleep`` for publishers that records how long they would wait, and does not wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def picture(
    size: tuple[int, int] = (64, 48),
    fmt: str = "JPEG",
    colour: tuple[int, int, int] = (200, 60, 20),
) -> bytes:
    """A real, small image file (fakes that check uploads decode them, as platforms do)."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt)
    return out.getvalue()


def serve(factory: Callable[[], Fake], setup: Callable[[Fake], Any] | None = None) -> Any:
    """A fixture that yields ``factory()`` started (and ``setup`` applied), closed afterwards;
    its name is the name it is assigned to in the test module."""

    @pytest.fixture
    async def fake() -> AsyncIterator[Fake]:
        async with factory() as server:
            if setup is not None:
                setup(server)
            yield server

    return fake

"""The shared metrics reader and image-count check every publisher uses."""

from __future__ import annotations

import pytest

from publishers.base import MediaLimits, Metrics
from publishers.errors import Permanent
from publishers.metrics import check_media_count, media_count_problems, read_metrics


def test_read_metrics_sums_paths_and_tolerates_gaps() -> None:
    data = {"likes": {"count": 3}, "a": 2, "b": "4", "c": None, "d": True, "views": {"count": 9}}
    metrics = read_metrics(
        data, likes=["likes.count"], reposts=["a", "b", "missing"], replies=["c", "d", "x.y"]
    )
    assert metrics == Metrics(likes=3, reposts=6, replies=0, views=None)
    assert read_metrics(data, likes=[], replies=[], views="views.count").views == 9
    assert read_metrics(data, likes=[], replies=[], views="nowhere").views is None
    assert read_metrics(None, likes=["a"], replies=["a"]) == Metrics()


def test_media_count_in_plain_words() -> None:
    one = MediaLimits(max_count=1, max_bytes=1, max_side=1)
    assert media_count_problems("Y", one, 1) == []
    assert media_count_problems("Y", one, 3) == ["Y takes at most 1 image; this post has 3"]
    with pytest.raises(Permanent, match="^Y takes at most 1 image; this post has 2$"):
        check_media_count("Y", one, 2)

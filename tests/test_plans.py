"""/plan's pure rules (ai.plans): reading the ask, checking a plan as a whole, event lines."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ai.plans import (
    MAX_PLAN_POSTS,
    PlanAnswer,
    PlanAskError,
    PlanRequest,
    event_line,
    parse_ask,
    problems,
    resolve,
)

TODAY = date(2026, 12, 3)  # a Thursday
NEXT_WEEK = (date(2026, 12, 7), date(2026, 12, 13))

#: (phrase, first day, last day) of the horizons the owner may type.
HORIZONS = [
    ("next week", *NEXT_WEEK),
    ("Next Week", *NEXT_WEEK),
    ("на следующей неделе", *NEXT_WEEK),
    ("следующая неделя", *NEXT_WEEK),
    ("наступного тижня", *NEXT_WEEK),
    ("this week", TODAY, date(2026, 12, 6)),
    ("на этой неделе", TODAY, date(2026, 12, 6)),
    ("цього тижня", TODAY, date(2026, 12, 6)),
    ("in 2 weeks", TODAY, TODAY + timedelta(days=13)),
    ("через 2 недели", TODAY, TODAY + timedelta(days=13)),
    ("3 тижні", TODAY, TODAY + timedelta(days=20)),
    ("10 days", TODAY, TODAY + timedelta(days=9)),
    ("за 5 дней", TODAY, TODAY + timedelta(days=4)),
]
COUNTS = [("5 posts", 5), ("1 post", 1), ("3 поста", 3), ("11 постов", 11), ("4 пости", 4)]
THEME_WORDS = st.sampled_from(
    ["launch", "of", "v2.3", "dark", "mode", "webinar", "запуск", "релиз", "Berlin", "API"]
)


@given(
    theme=st.lists(THEME_WORDS, min_size=1, max_size=6).map(" ".join),
    horizon=st.sampled_from(HORIZONS),
    count=st.sampled_from(COUNTS),
    order=st.permutations([0, 1, 2]),
    separator=st.sampled_from([", ", " ", "; ", " , "]),
)
def test_theme_horizon_and_count_are_read_in_any_order(
    theme: str,
    horizon: tuple[str, date, date],
    count: tuple[str, int],
    order: list[int],
    separator: str,
) -> None:
    parts = [theme, horizon[0], count[0]]
    ask = parse_ask(separator.join(parts[i] for i in order), TODAY)
    assert ask.theme == theme
    assert (ask.start, ask.end) == horizon[1:]
    assert ask.count == count[1]


@given(st.sampled_from(HORIZONS), st.sampled_from(COUNTS))
def test_without_a_theme_the_plan_comes_from_events(
    horizon: tuple[str, date, date], count: tuple[str, int]
) -> None:
    ask = parse_ask(f"{horizon[0]}, {count[0]}", TODAY)
    assert ask.theme is None and ask.count == count[1]


def test_defaults_are_the_coming_week_and_no_count() -> None:
    ask = parse_ask("  launch of v2.3  ", TODAY)
    assert (ask.theme, ask.start, ask.end, ask.count) == (
        "launch of v2.3",
        TODAY,
        TODAY + timedelta(days=6),
        None,
    )
    assert parse_ask("", TODAY).theme is None


def test_next_week_on_a_sunday_is_the_week_after() -> None:
    ask = parse_ask("next week", date(2026, 12, 6))
    assert (ask.start, ask.end) == NEXT_WEEK


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("launch, 0 posts", "plan.bad_count"),
        (f"launch, {MAX_PLAN_POSTS + 1} posts", "plan.bad_count"),
        ("launch, 9 weeks", "plan.bad_horizon"),
        ("launch, 0 days", "plan.bad_horizon"),
    ],
)
def test_counts_and_horizons_out_of_range_are_refused(text: str, key: str) -> None:
    with pytest.raises(PlanAskError) as refused:
        parse_ask(text, TODAY)
    assert refused.value.key == key


SLOTS = [datetime(2026, 12, 7, 9, tzinfo=UTC) + timedelta(hours=9 * n) for n in range(4)]
REQUEST = PlanRequest(
    count=2,
    slots=[s.isoformat() for s in SLOTS],
    platforms=["telegram", "x", "linkedin"],
    theme="launch",
)


def answer(*posts: tuple[str, list[str], int]) -> PlanAnswer:
    return PlanAnswer.model_validate(
        {
            "title": "Launch",
            "posts": [
                {"angle": f"a{n}", "text": text, "platforms": platforms, "slot": slot}
                for n, (text, platforms, slot) in enumerate(posts)
            ],
        }
    )


def test_a_plan_that_holds_is_resolved_in_time_order() -> None:
    good = answer(("Later", ["x"], 3), ("Sooner", ["telegram", "x", "x"], 1))
    assert problems(good, REQUEST) == []
    plan = resolve(good, SLOTS)
    assert [p.text for p in plan.posts] == ["Sooner", "Later"]
    assert plan.posts[0].platforms == ["telegram", "x"] and plan.posts[0].at == SLOTS[0]


def test_every_problem_of_a_plan_is_named() -> None:
    bad = answer(("x " * 1600, ["linkedin"], 1), ("ok", ["mastodon"], 1), ("ok", ["x"], 9))
    assert problems(bad, REQUEST) == [
        "the plan has 3 posts; 2 were asked for",
        "post 1: the text is 3200 characters, over the LinkedIn limit of 3000",
        "post 2: slot 1 is already used by another post",
        "post 2: 'mastodon' is not a connected platform (use telegram, x, linkedin)",
        "post 3: slot 9 is not one of the free slots listed",
    ]


def test_a_long_text_is_fine_where_it_becomes_a_thread() -> None:
    assert problems(answer(("word " * 1200, ["telegram"], 1), ("b", ["x"], 2)), REQUEST) == []


def test_event_lines_say_what_an_event_is_about() -> None:
    release = {"action": "published", "release": {"tag_name": "v2.3", "name": "Dark mode"}}
    assert event_line("github.release", json.dumps(release)) == "github.release: Dark mode — v2.3"
    assert event_line("ping", "not json") == "ping"
    assert len(event_line("rss.item", json.dumps({"title": "t" * 1000}))) == 300

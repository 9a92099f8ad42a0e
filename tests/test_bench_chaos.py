"""The chaos benchmark's judgement (what counts as lost, duplicated, a hole; how the owner's
questions are read off the chat and answered) and the fakes' latency knob it relies on. The
bench itself (`python -m bench.chaos`) runs in CI after the suite; these keep its rules honest."""

from __future__ import annotations

import random
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.chaos import OWNER, Fakes, Round, RoundPlan
from bench.chaos_judge import (
    LABELS,
    Piece,
    Planned,
    Presence,
    Shape,
    Told,
    Verdict,
    card_of,
    post_text,
    presence,
    report_lines,
    told,
)
from bench.harness import nexus_env
from config.settings import load_settings
from storage.crypto import generate_key
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.telegram import FakeMessage, FakeTelegram, parse_html
from ui.callbacks import PubAct, PubCb
from ui.keyboards import overdue_keyboard, unsure_keyboard
from ui.texts import Html, Texts

EN = Texts("en")


def thread(post: Planned, cuts: list[int], images: int = 0) -> list[Piece]:
    """The post's words split at ``cuts`` into a reply chain, images on the first part."""
    words = post_text(post.key, post.shape.words).split()
    bounds = [0, *sorted(set(cuts)), len(words)]
    pieces: list[Piece] = []
    for n, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False)):
        parent = pieces[-1].id if pieces else None
        pieces.append(Piece(f"id{n}", " ".join(words[a:b]), parent, images if n == 0 else 0))
    return pieces


LONG = Planned(key=3, post_id=12, shape=Shape(40, images=1))
OTHER = Piece("other", post_text(4, 40))  # another post's words never count for this one


@given(cuts=st.lists(st.integers(1, 39), max_size=6))
def test_a_whole_thread_in_order_is_whole_however_it_is_split(cuts: list[int]) -> None:
    pieces = [OTHER, *thread(LONG, cuts, images=1)]
    assert presence(pieces, LONG, threaded=True) == Presence("whole", False)


@given(cuts=st.lists(st.integers(1, 39), min_size=1, max_size=6, unique=True), data=st.data())
def test_a_missing_part_is_a_hole_and_a_repeated_part_a_duplicate(
    cuts: list[int], data: st.DataObject
) -> None:
    pieces = thread(LONG, cuts, images=1)
    gone = data.draw(st.integers(0, len(pieces) - 1))
    assert presence(pieces[:gone] + pieces[gone + 1 :], LONG, threaded=True).state == "partial"
    again = data.draw(st.integers(0, len(pieces) - 1))
    twice = [*pieces, Piece("again", pieces[again].text, pieces[-1].id)]
    assert presence(twice, LONG, threaded=True).duplicated


def test_parts_out_of_order_a_broken_chain_or_a_lost_image_are_holes() -> None:
    first, second = thread(LONG, [20], images=1)
    assert presence([second, first], LONG, threaded=True).state == "partial"
    unchained = Piece(second.id, second.text, parent=None)
    assert presence([first, unchained], LONG, threaded=True).state == "partial"
    # Telegram sends a long post as consecutive messages, not replies
    assert presence([first, unchained], LONG, threaded=False).state == "whole"
    no_image = Piece(first.id, first.text, None, images=0)
    assert presence([no_image, second], LONG, threaded=True).state == "partial"
    assert presence([OTHER], LONG, threaded=True) == Presence("none", False)


def judge(seen: Presence, owner: Told) -> Verdict:
    verdict = Verdict()
    verdict.add(LONG, "x", seen, owner)
    return verdict


def test_nothing_there_is_lost_unless_the_owner_was_asked_or_told_it_failed() -> None:
    none = Presence("none", False)
    assert judge(none, Told()).lost == 1
    assert judge(none, Told(asked=True)).lost == 0
    assert judge(none, Told(failed=True)).lost == 0
    assert judge(none, Told(asked=True, published=True)).lost == 1  # told a lie
    partial = Presence("partial", False)
    assert judge(partial, Told()).holes == 1
    assert judge(partial, Told(failed=True)).holes == 0
    assert judge(partial, Told(asked=True, published=True)).holes == 1
    whole_twice = judge(Presence("whole", True), Told(published=True))
    assert (whole_twice.lost, whole_twice.duplicated, whole_twice.holes) == (0, 1, 0)
    # out there but never reported: not lost, yet the owner does not know
    assert judge(Presence("whole", False), Told()).untold == 1
    assert judge(Presence("whole", False), Told(failed=True)).untold == 1
    assert judge(Presence("whole", False), Told(published=True)).untold == 0


def chat_message(message_id: int, html: str, markup: dict | None = None) -> FakeMessage:
    """A message as the fake Telegram stores it after parsing the bot's HTML."""
    plain, entities = parse_html(html)
    return FakeMessage(message_id, 1, plain, html, entities, markup)


def test_the_owner_s_questions_are_read_from_the_real_cards() -> None:
    unsure = unsure_keyboard(EN, pub_id=31).model_dump(exclude_none=True)
    text = EN("alert.unsure", post_id=12, target=LABELS["bluesky"])
    card = card_of(chat_message(5, text, unsure))
    assert card is not None and (card.post_id, card.platform) == (12, "bluesky")
    assert set(card.buttons) == {
        EN.plain("btn.posted"),
        EN.plain("btn.send_again"),
        EN.plain("btn.drop_unsure"),
    }
    assert card.answer(whole=True) == card.buttons[EN.plain("btn.posted")]
    assert card.answer(whole=False) == card.buttons[EN.plain("btn.send_again")]

    overdue = overdue_keyboard(EN, post_id=12).model_dump(exclude_none=True)
    held = card_of(chat_message(6, EN("alert.overdue", post_id=12, when="today 10:00"), overdue))
    assert held is not None and (held.post_id, held.platform) == (12, None)
    assert held.answer(whole=False) == held.buttons[EN.plain("btn.publish_now")]
    assert card_of(chat_message(7, "Post #12 is scheduled")) is None


def test_the_latest_report_tells_which_targets_failed() -> None:
    def report(key: str, lines: list[str]) -> FakeMessage:
        return chat_message(9, EN(key, post_id=12, lines=Html("\n".join(lines))) + "\n\nk3w000")

    first = report("publish.failed", [EN("publish.line_failed", target="chaos-x", reason="boom")])
    later = report(
        "publish.done",
        [
            EN("publish.line_ok_nolink", target="chaos-x"),
            EN("publish.line_ok_nolink", target=LABELS["telegram"]),
        ],
    )
    assert told(report_lines([first], 12), False, "x") == Told(failed=True)
    assert told(report_lines([first, later], 12), True, "x") == Told(asked=True, published=True)
    assert report_lines([first, later], 13) is None


async def test_latency_delays_each_request_by_a_random_amount_in_range() -> None:
    async with FakeMastodon() as fake, httpx.AsyncClient() as http:
        fake.latency(0.03, 0.06, random.Random(1))
        waits = []
        for _ in range(3):
            started = time.monotonic()
            answer = await http.get(f"{fake.base_url}/api/v2/instance")
            waits.append(time.monotonic() - started)
            assert answer.status_code == 200
        assert len(fake.calls) == 3  # recorded on arrival, before the wait
        assert all(w >= 0.03 for w in waits)
        fake.latency(0, 0)
        started = time.monotonic()
        await http.get(f"{fake.base_url}/api/v2/instance")
        assert time.monotonic() - started < 0.03


async def test_telegram_latency_spares_the_long_poll() -> None:
    async with FakeTelegram() as tg, httpx.AsyncClient() as http:
        tg.latency(0.05, 0.08)
        api = f"{tg.base_url}/bot{tg.token}"
        started = time.monotonic()
        await http.post(f"{api}/getMe")
        assert time.monotonic() - started >= 0.05
        started = time.monotonic()
        await http.post(f"{api}/getUpdates", json={"timeout": 0})
        assert time.monotonic() - started < 0.05


def test_the_bench_env_is_a_valid_configuration_and_drops_the_developer_s_own(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NEXUS_TIMEZONE", "Mars/Olympus")  # would break the run if it leaked
    env = nexus_env(
        telegram_token="123456:TEST-TOKEN",
        telegram_api="http://127.0.0.1:9",
        owner_ids=[4242],
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'nexus.db'}",
        channel="@chaos_channel",
        api_urls={"x": "http://127.0.0.1:10", "vk": "http://127.0.0.1:11/method"},
        secret_key=generate_key(),
    )
    assert "NEXUS_TIMEZONE" not in env
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("NEXUS_TIMEZONE")
    settings = load_settings()
    assert settings.owner_ids == {4242} and settings.channel == "@chaos_channel"
    assert settings.api_urls["vk"] == "http://127.0.0.1:11/method"
    assert settings.http_port == 0  # several processes side by side


async def test_the_person_answers_yes_only_where_the_whole_post_is(tmp_path: Path) -> None:
    """Two cards through the fake Telegram's wire: the post is whole on Mastodon, absent on X."""
    post = Planned(key=0, post_id=5, shape=Shape(12))
    async with Fakes(random.Random(1)) as fakes, httpx.AsyncClient() as http:
        for fake in (fakes.tg, *fakes.platforms()):
            fake.latency(0, 0)
        await http.post(
            f"{fakes.mastodon.base_url}/api/v1/statuses",
            json={"status": post_text(0, 12)},
            headers={"Authorization": f"Bearer {fakes.mastodon.token}"},
        )
        api = f"{fakes.tg.base_url}/bot{fakes.tg.token}"
        for pub_id, platform in ((1, "mastodon"), (2, "x")):
            card = {
                "chat_id": OWNER,
                "text": EN("alert.unsure", post_id=5, target=LABELS[platform]),
                "parse_mode": "HTML",
                "reply_markup": unsure_keyboard(EN, pub_id=pub_id).model_dump(exclude_none=True),
            }
            assert (await http.post(f"{api}/sendMessage", json=card)).status_code == 200
        person = Round(RoundPlan(1, "sqlite", 1, 1.0, 1.0), random.Random(1), tmp_path, "")
        person.planned, person.last_kill = [post], time.monotonic()
        await person.answer_cards(fakes)
        await person.answer_cards(fakes)  # a card is answered once
        updates = (await http.post(f"{api}/getUpdates", json={"timeout": 0})).json()["result"]
    assert [u["callback_query"]["data"] for u in updates] == [
        PubCb(act=PubAct.POSTED, pub=1).pack(),
        PubCb(act=PubAct.SEND_AGAIN, pub=2).pack(),
    ]
    assert person.asked == {(5, "mastodon"), (5, "x")} and len(person.asks) == 2

"""Chaos: SIGKILL the real `nexus` mid-dispatch, answer its questions like a person, count what
went wrong on the platforms.

Each round seeds a fresh database (a SQLite file in a temp dir, or, every third round when
PostgreSQL is reachable, a fresh schema `public` in ``--pg-url``) with five targets connected
(Telegram channel, X, Bluesky, Mastodon, VK; credentials encrypted with the project's vault) and a
mix of posts due together two seconds later: short ones, long ones that become threads on X,
Bluesky and Mastodon, and posts with an image (``MIX``). Then it starts `nexus run` (plus `nexus
worker` on PostgreSQL) as subprocesses against fresh loopback fakes, which answer every request
after a random 50–300 ms. When the platforms have received a random number k of requests (1 ≤ k ≤
the number a whole undisturbed dispatch makes, measured once at the start), the bench SIGKILLs the
process group of `nexus run` (or, on PostgreSQL, of either process) and starts it again.

Meanwhile it reads the owner's chat on the fake Telegram as a person would: an "is it there?"
card (the buttons of ``btn.posted`` / ``btn.send_again``) is answered after looking at the named
platform: "Yes" when the whole post is there, "Send again" when it is not (or only part of a
thread is); an overdue card (``btn.publish_now``) is answered "Publish now". The ask latency is
from the kill to the card's arrival. A round ends when every post has its report and every card
is answered, or at ``--round-timeout``.

Then every (post, target) is judged from the fakes' recorded state and the chat; every word of a
post is a unique token (``k3w017``), so parts are told apart on any platform:

- lost: nothing of it on the platform, and the owner was neither asked nor told it failed (or
  was told it was published);
- duplicated: some part of it is on the platform twice;
- holes: only part of it is there (a missing or out-of-order thread part, a missing image), and
  the owner was told it was published, or neither asked nor told it failed.

    python -m bench.chaos [--rounds N] [--seed S] [--pg-url URL] [--no-pg] [--round-timeout S]

One line per round; the last line is machine-readable and the exit status is 1 unless
lost = duplicated = holes = 0 (and no process died on its own):

    chaos: rounds=… lost=… duplicated=… holes=… asked=… p95_ask_s=…
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
import math
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # `python bench/chaos.py` from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image

from bench.chaos_judge import (
    CHANNEL,
    LABELS,
    MIX,
    THREADED,
    Card,
    Piece,
    Planned,
    Presence,
    Verdict,
    card_of,
    post_text,
    presence,
    report_lines,
    told,
)
from bench.harness import NexusProcess, Processes, nexus_env, postgres_problem, reset_postgres
from scheduler.lifecycle import schedule_post
from storage import repositories as repo
from storage.crypto import Vault, generate_key
from storage.db import create_engine, make_session_factory
from storage.files import write_media
from storage.migrate import upgrade
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.loopback import LoopbackServer
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.telegram import FakeTelegram
from tests.fakes.vk import FakeVK
from tests.fakes.x import FakeX

OWNER = 4242
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/chaos_bench"
LATENCY_S = (0.05, 0.3)
LEAD_S = 2.0  # posts fall due this long after seeding
POLL_S = 0.02


class Fakes:
    """The loopback Telegram and platforms of one round, all answering slowly."""

    def __init__(self, rng: random.Random) -> None:
        self.tg = FakeTelegram()
        self.x = FakeX()
        self.bluesky = FakeBluesky()
        self.mastodon = FakeMastodon()
        self.vk = FakeVK()
        self.rng = rng
        self.channel_id = 0

    async def __aenter__(self) -> Fakes:
        await self.tg.start()
        self.tg.add_user(OWNER, "Owner", "en")
        self.channel_id = self.tg.add_channel(CHANNEL.lstrip("@"))
        self.tg.latency(*LATENCY_S, random.Random(self.rng.random()))
        for fake in self.platforms():
            await fake.start()
            fake.latency(*LATENCY_S, random.Random(self.rng.random()))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.tg.close()
        for fake in self.platforms():
            await fake.close()

    def platforms(self) -> tuple[LoopbackServer, ...]:
        return (self.x, self.bluesky, self.mastodon, self.vk)

    def api_urls(self) -> dict[str, str]:
        return {"x": self.x.base_url, "vk": self.vk.base_url}

    def credentials(self) -> dict[str, dict[str, str]]:
        return {
            "x": {
                "api_key": self.x.consumer_key,
                "api_secret": self.x.consumer_secret,
                "access_token": self.x.oauth1_token,
                "access_token_secret": self.x.oauth1_token_secret,
            },
            "bluesky": {
                "handle": self.bluesky.handle,
                "app_password": self.bluesky.app_password,
                "service": self.bluesky.base_url,
            },
            "mastodon": {"instance": self.mastodon.base_url, "access_token": self.mastodon.token},
            "vk": {"access_token": self.vk.token, "group_id": str(self.vk.group_id)},
        }

    def requests(self) -> int:
        """Requests the platforms have received so far (the channel's sends count too)."""
        channel = (CHANNEL, self.channel_id, str(self.channel_id))
        sends = sum(
            1
            for c in self.tg.calls
            if c.method.lower().startswith("send") and c.params.get("chat_id") in channel
        )
        return sends + sum(len(fake.calls) for fake in self.platforms())

    def pieces(self, platform: str) -> list[Piece]:
        if platform == "telegram":
            return [
                Piece(str(m.message_id), m.text, images=int(m.photo))
                for m in self.tg.messages(self.channel_id)
            ]
        if platform == "x":
            return [Piece(t.id, t.text, t.in_reply_to, len(t.media_ids)) for t in self.x.posts]
        if platform == "bluesky":
            return [
                Piece(
                    r.uri,
                    r.text,
                    (r.value.get("reply") or {}).get("parent", {}).get("uri"),
                    len((r.value.get("embed") or {}).get("images") or []),
                )
                for r in self.bluesky.posts
            ]
        if platform == "vk":
            return [
                Piece(
                    str(p.id), p.message, images=sum(a.startswith("photo") for a in p.attachments)
                )
                for p in self.vk.posts
            ]
        return [
            Piece(s.id, s.text, s.in_reply_to_id, len(s.media_ids)) for s in self.mastodon.posts
        ]

    def look(self, platform: str, post: Planned) -> Presence:
        return presence(self.pieces(platform), post, platform in THREADED)


# ------------------------------------------------------------------ one round
@dataclass
class RoundResult:
    verdict: Verdict
    asks: list[float]
    requests: int
    kill: str
    settled: bool
    crashed: str | None = None
    seconds: float = 0.0
    #: From the kill until the restarted process logged that it is up.
    restart_s: float = math.nan


def picture(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(out, "JPEG")
    return out.getvalue()


async def seed(database_url: str, data_dir: Path, vault: Vault, fakes: Fakes) -> list[Planned]:
    """Migrate, connect the targets and schedule ``MIX`` due in ``LEAD_S``, through the
    project's own repositories and ``schedule_post``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        sessions = make_session_factory(engine)
        planned = []
        async with sessions() as session:
            await repo.upsert_user(session, OWNER, "en")
            await repo.ensure_account(session, "telegram", CHANNEL)
            handles = {
                "x": "@chaos_x",
                "bluesky": fakes.bluesky.handle,
                "mastodon": "@chaos@m",
                "vk": str(fakes.vk.group_id),
            }
            for platform, creds in fakes.credentials().items():
                await repo.save_account(
                    session, platform, handles[platform], LABELS[platform], vault.encrypt(creds)
                )
            await session.commit()
            due = datetime.now(UTC) + timedelta(seconds=LEAD_S)
            for key, shape in enumerate(MIX):
                body = post_text(key, shape.words)
                post = await repo.create_draft(
                    session, author_id=OWNER, brief=body[:60], text=body, offline=True
                )
                for n in range(shape.images):
                    data = picture((40 * key % 256, 90, 30 * n % 256))
                    path = write_media(data_dir, data, "image/jpeg")
                    await repo.add_media(
                        session,
                        post.id,
                        path=path,
                        mime="image/jpeg",
                        width=320,
                        height=240,
                        size=len(data),
                    )
                await session.commit()
                assert await schedule_post(session, post, due)
                planned.append(Planned(key, post.id, shape))
        return planned
    finally:
        await engine.dispose()


@dataclass
class RoundPlan:
    number: int
    database: str  # "sqlite" or "pg"
    kill_at: int | None  # platform requests before the kill; None: no kill (calibration)
    startup_timeout: float
    settle_timeout: float


class Round:
    """One round: the fakes, the processes, the person answering, and the judgement."""

    def __init__(self, plan: RoundPlan, rng: random.Random, work: Path, pg_url: str) -> None:
        self.plan, self.rng, self.work, self.pg_url = plan, rng, work, pg_url
        self.cards: dict[int, Card] = {}
        self.answered: set[int] = set()
        self.asked: set[tuple[int, str | None]] = set()
        self.asks: list[float] = []
        self.last_kill: float | None = None
        self.planned: list[Planned] = []

    async def run(self) -> RoundResult:
        started = time.monotonic()
        data_dir = self.work / f"round{self.plan.number}"
        if self.plan.database == "pg":
            await reset_postgres(self.pg_url)
            database_url = self.pg_url
        else:
            database_url = f"sqlite+aiosqlite:///{data_dir / 'nexus.db'}"
        key = generate_key()
        async with Fakes(self.rng) as fakes, Processes() as processes:
            planned = self.planned = await seed(database_url, data_dir, Vault(key), fakes)
            env = nexus_env(
                telegram_token=fakes.tg.token,
                telegram_api=fakes.tg.base_url,
                owner_ids=[OWNER],
                data_dir=data_dir,
                database_url=database_url,
                channel=CHANNEL,
                api_urls=fakes.api_urls(),
                secret_key=key,
            )
            roles = ["run", "worker"] if self.plan.database == "pg" else ["run"]
            live = {r: await processes.start(r, env, data_dir / f"{r}.log") for r in roles}
            result = await self._watch(fakes, processes, live, env, data_dir)
            await processes.kill_all()
            for post in planned:
                lines = report_lines(fakes.tg.messages(OWNER), post.post_id)
                for platform in LABELS:
                    asked = bool({(post.post_id, platform), (post.post_id, None)} & self.asked)
                    result.verdict.add(
                        post, platform, fakes.look(platform, post), told(lines, asked, platform)
                    )
            result.requests = fakes.requests()
        result.seconds = time.monotonic() - started
        return result

    async def _watch(
        self,
        fakes: Fakes,
        processes: Processes,
        live: dict[str, NexusProcess],
        env: dict[str, str],
        data_dir: Path,
    ) -> RoundResult:
        """Kill at the planned request, restart, answer questions; until every post is settled
        or ``settle_timeout`` after the last process came up."""
        plan = self.plan
        kill_at, kill, restart_s = plan.kill_at, "none", math.nan
        booting = {role: time.monotonic() for role in live}  # role -> started at
        deadline = math.inf
        while time.monotonic() < deadline:
            for role, since in list(booting.items()):
                if live[role].ready():
                    del booting[role]
                    deadline = time.monotonic() + plan.settle_timeout
                    if kill != "none":
                        restart_s = time.monotonic() - since
                elif time.monotonic() - since > plan.startup_timeout:
                    return self._failed(f"`nexus {role}` did not start", live[role], kill)
            for role, process in live.items():
                if process.exited:
                    return self._failed(f"`nexus {role}` exited on its own", process, kill)
            if kill_at is not None and fakes.requests() >= kill_at:
                kill_at = None
                role = self.rng.choice(sorted(live))
                await live[role].kill()
                self.last_kill = time.monotonic()
                kill = f"{role}@{fakes.requests()}"
                deadline = math.inf  # until the restarted process is up
                await asyncio.sleep(self.rng.uniform(0.2, 1.0))
                live[role] = await processes.start(role, env, data_dir / f"{role}.log")
                booting[role] = self.last_kill
            await self.answer_cards(fakes)
            if not booting and self._settled(fakes):  # also before a kill that never came
                return RoundResult(Verdict(), self.asks, 0, kill, True, restart_s=restart_s)
            await asyncio.sleep(POLL_S)
        return RoundResult(Verdict(), self.asks, 0, kill, False, restart_s=restart_s)

    def _failed(self, what: str, process: NexusProcess, kill: str) -> RoundResult:
        code = process.proc.returncode
        crashed = f"{what} (exit status {code}); its log ends:\n{process.tail()}"
        return RoundResult(Verdict(), self.asks, 0, kill, False, crashed=crashed)

    def _settled(self, fakes: Fakes) -> bool:
        messages = fakes.tg.messages(OWNER)
        if set(self.cards) - self.answered:
            return False
        return all(report_lines(messages, p.post_id) is not None for p in self.planned)

    async def answer_cards(self, fakes: Fakes) -> None:
        """Answer each new card as a person would, after looking at the platform."""
        for message in fakes.tg.messages(OWNER):
            if message.message_id in self.cards or not message.reply_markup:
                continue
            card = card_of(message)
            if card is None:
                continue
            self.cards[card.message_id] = card
            self.asked.add((card.post_id, card.platform))
            if self.last_kill is not None:
                self.asks.append(time.monotonic() - self.last_kill)
            post = next((p for p in self.planned if p.post_id == card.post_id), None)
            whole = bool(
                post and card.platform and fakes.look(card.platform, post).state == "whole"
            )
            with contextlib.suppress(ValueError):  # the buttons are gone: answered elsewhere
                await fakes.tg.user_taps(OWNER, card.message_id, card.answer(whole))
            self.answered.add(card.message_id)


# ------------------------------------------------------------------ the whole run
def p95(values: Sequence[float]) -> float:
    """Nearest-rank 95th percentile (nan for none)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


async def main_async(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    pg_problem = "--no-pg" if args.no_pg else await postgres_problem(args.pg_url)
    if pg_problem:
        print(f"chaos: PostgreSQL rounds skipped ({pg_problem})", flush=True)
    total_deadline = time.monotonic() + args.total_timeout

    def plan(number: int, database: str, kill_at: int | None) -> RoundPlan:
        return RoundPlan(number, database, kill_at, args.startup_timeout, args.settle_timeout)

    results: list[RoundResult] = []
    with tempfile.TemporaryDirectory(prefix="nexus-chaos-") as tmp:
        work = Path(args.keep or tmp)
        calibration = await Round(plan(0, "sqlite", None), rng, work, args.pg_url).run()
        print(_line("calibrate sqlite", calibration, calibration.requests), flush=True)
        v = calibration.verdict
        if calibration.crashed or not calibration.settled or v.lost or v.duplicated or v.holes:
            print("chaos: the undisturbed round was not clean; nothing to measure against")
            return 1
        requests = calibration.requests
        for number in range(1, args.rounds + 1):
            if time.monotonic() > total_deadline:
                print(f"chaos: stopping after {len(results)} rounds (--total-timeout)", flush=True)
                break
            database = "pg" if not pg_problem and number % 3 == 0 else "sqlite"
            kill_at = rng.randint(1, requests)
            result = await Round(plan(number, database, kill_at), rng, work, args.pg_url).run()
            results.append(result)
            print(_line(f"round {number} {database}", result, requests), flush=True)
    lost = sum(r.verdict.lost for r in results)
    duplicated = sum(r.verdict.duplicated for r in results)
    holes = sum(r.verdict.holes for r in results)
    crashed = sum(1 for r in results if r.crashed)
    asks = [a for r in results for a in r.asks]
    untold = sum(r.verdict.untold for r in results)
    unsettled = sum(1 for r in results if not r.settled)
    print(f"chaos: untold={untold} unsettled_rounds={unsettled} crashed_rounds={crashed}")
    print(
        f"chaos: rounds={len(results)} lost={lost} duplicated={duplicated} holes={holes} "
        f"asked={len(asks)} p95_ask_s={p95(asks):.1f}",
        flush=True,
    )
    return 1 if lost or duplicated or holes or crashed else 0


def _line(name: str, result: RoundResult, requests: int) -> str:
    """One round in one line (plus the log of a process that died on its own)."""
    v = result.verdict
    asks = ",".join(f"{a:.1f}" for a in result.asks) or "-"
    notes = "; ".join(v.notes[:6]) + (f" (+{len(v.notes) - 6})" if len(v.notes) > 6 else "")
    line = (
        f"{name}: kill={result.kill}/{requests} restart_s={result.restart_s:.1f} "
        f"lost={v.lost} duplicated={v.duplicated} holes={v.holes} untold={v.untold} "
        f"asked={len(result.asks)} "
        f"ask_s={asks} settled={'yes' if result.settled else 'no'} ({result.seconds:.0f}s)"
    )
    if notes:
        line += f" [{notes}]"
    if result.crashed:
        line += f"\n  {result.crashed}"
    return line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chaos",
        description="SIGKILL `nexus` mid-dispatch and count lost, duplicated and partial posts.",
    )
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--seed", type=int, default=None, help="for a reproducible plan")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help=f"default {DEFAULT_PG}")
    parser.add_argument("--no-pg", action="store_true", help="SQLite rounds only")
    parser.add_argument(
        "--startup-timeout",
        type=float,
        default=180.0,
        help="seconds a `nexus` process may take to come up (default 180)",
    )
    parser.add_argument(
        "--settle-timeout",
        type=float,
        default=120.0,
        help="seconds after the last (re)start for every question to come and every post to be "
        "reported; must cover the product's lease and sweep (default 120)",
    )
    parser.add_argument("--total-timeout", type=float, default=6 * 3600.0, help="seconds")
    parser.add_argument("--keep", metavar="DIR", help="keep each round's data and logs in DIR")
    args = parser.parse_args(argv)
    # a kill in the middle of an upload makes the fakes' server log a traceback: expected here
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    if args.seed is None:
        args.seed = random.randrange(10**6)
    print(f"chaos: seed={args.seed} rounds={args.rounds}", flush=True)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())

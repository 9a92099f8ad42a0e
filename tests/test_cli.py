"""The `nexus` command as a user runs it: a real subprocess (`python -m bot`, or the installed
`nexus` script) with its environment, talking to the loopback fakes and a real SQLite file.

Starting the full application costs a couple of seconds of imports, so subprocesses that do not
depend on each other run concurrently."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main, parser
from storage import repositories as repo
from storage.crypto import (
    KEY_FILE_NAME,
    STAGED_KEY_FILE_NAME,
    CryptoError,
    Vault,
    generate_key,
    load_or_create_key_file,
)
from storage.db import create_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import Account
from storage.permissions import make_private
from tests.conftest import CHANNEL, OWNER
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.telegram import FakeTelegram

REPO = Path(__file__).resolve().parents[1]
SUBCOMMANDS = sorted(
    next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
)


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err


async def execute(*argv: str, cwd: Path, **env: str) -> Result:
    """Run a command with a clean environment (conftest's `clean_env` removed every NEXUS
    variable) plus `env`, importing this checkout's code."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), full_env.get("PYTHONPATH")) if p
    )
    full_env.update(env)
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=full_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())


async def nexus(*args: str, cwd: Path, **env: str) -> Result:
    return await execute(sys.executable, "-m", "bot", *args, cwd=cwd, **env)


def nexus_script() -> str:
    beside = Path(sys.executable).with_name("nexus")
    found = str(beside) if beside.exists() else shutil.which("nexus")
    assert found, "the `nexus` console script is not installed (pip install -e .)"
    return found


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir / 'nexus.db'}"


# --- help and keygen: no configuration needed --------------------------------------------------


async def test_help_from_the_script_and_the_module(tmp_path: Path) -> None:
    script, module = await asyncio.gather(
        execute(nexus_script(), "--help", cwd=tmp_path), nexus("--help", cwd=tmp_path)
    )
    assert {"run", "migrate", "check", "keygen", "rotate-key"} <= set(SUBCOMMANDS)
    for result in (script, module):
        assert result.code == 0, result.err
        assert result.out.startswith("usage: nexus")
        for command in SUBCOMMANDS:
            assert command in result.out
        assert result.err == ""
    assert script.out == module.out


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: nexus {command}")
    assert len(out.splitlines()) >= 3  # a description, not just the usage line


@pytest.mark.parametrize("argv", [[], ["publish"]], ids=["nothing", "unknown"])
def test_a_missing_or_unknown_command_shows_usage(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "usage: nexus" in capsys.readouterr().err


async def test_keygen_prints_a_fresh_valid_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = await nexus("keygen", cwd=tmp_path)
    assert result.code == 0 and result.err == ""
    assert len(result.out.splitlines()) == 1
    key = result.out.strip()
    assert Vault(key).decrypt(Vault(key).encrypt({"a": "b"})) == {"a": "b"}

    assert main(["keygen"]) == 0  # and another run gives another key
    assert capsys.readouterr().out.strip() not in ("", key)


# --- configuration errors ----------------------------------------------------------------------


def test_run_without_a_token_says_where_to_get_one(capsys: pytest.CaptureFixture[str]) -> None:
    # in-process: the configuration is refused before anything (logging included) is set up
    assert main(["run"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "TELEGRAM_BOT_TOKEN is not set" in captured.err and "@BotFather" in captured.err


async def test_run_with_bad_values_explains_and_exits_2(tmp_path: Path) -> None:
    bad_token = "hunter2-my-password-not-a-token"
    bad = await nexus(
        "run",
        cwd=tmp_path,
        TELEGRAM_BOT_TOKEN=bad_token,
        NEXUS_OWNER_IDS="12345,@me",
        NEXUS_TIMEZONE="Moscow",
    )

    assert bad.code == 2
    assert bad.out == ""
    lines = bad.err.strip().splitlines()
    for name in ("TELEGRAM_BOT_TOKEN", "NEXUS_OWNER_IDS", "NEXUS_TIMEZONE"):
        assert sum(line.strip().startswith(f"{name} ") for line in lines) == 1, bad.err
    assert "is not set" not in bad.err  # the token is there, just malformed
    assert bad_token not in bad.both
    assert "Traceback" not in bad.both
    assert len(lines) <= 6  # one message, not a wall of text
    assert not (tmp_path / "data").exists()  # nothing was created on the way


# --- migrate -----------------------------------------------------------------------------------


async def test_migrate_creates_the_database_then_has_nothing_to_do(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "data"

    first = await nexus("migrate", cwd=tmp_path, NEXUS_DATA_DIR=str(data_dir))
    assert first.code == 0, first.err
    assert "migrated" in first.out and "empty" in first.out
    assert (data_dir / "nexus.db").is_file()

    second = await nexus("migrate", cwd=tmp_path, NEXUS_DATA_DIR=str(data_dir))
    assert second.code == 0, second.err
    assert "up to date" in second.out and "migrated" not in second.out
    assert "Traceback" not in first.both + second.both


# --- check -------------------------------------------------------------------------------------


async def test_check_against_the_fakes(tg: FakeTelegram, ai: FakeAnthropic, tmp_path: Path) -> None:
    tg.add_channel("closed_channel", bot_is_admin=False)
    dirs = {name: tmp_path / name for name in ("good", "not_admin")}
    for data_dir in dirs.values():
        engine = create_engine(sqlite_url(data_dir))
        await upgrade(engine)
        await engine.dispose()
        make_private(data_dir, data_dir / "nexus.db")  # as `nexus migrate` leaves them
    common = {
        "TELEGRAM_BOT_TOKEN": tg.token,
        "TELEGRAM_API_SERVER": tg.base_url,
        "NEXUS_OWNER_IDS": str(OWNER),
        "ANTHROPIC_API_KEY": ai.api_key,
        "ANTHROPIC_BASE_URL": ai.base_url,
        "NEXUS_LOG_LEVEL": "DEBUG",
    }

    good, not_admin = await asyncio.gather(
        nexus(
            "check", cwd=tmp_path, NEXUS_CHANNEL=CHANNEL, NEXUS_DATA_DIR=str(dirs["good"]), **common
        ),
        nexus(
            "check",
            cwd=tmp_path,
            NEXUS_CHANNEL="@closed_channel",
            NEXUS_DATA_DIR=str(dirs["not_admin"]),
            **common,
        ),
    )

    assert good.code == 0, good.both
    lines = good.out.splitlines()
    assert not any(line.startswith("warn") for line in lines)  # the data dirs are private
    assert [line.split(":")[0].split() for line in lines] == [
        ["ok", "configuration"],
        ["ok", "database"],
        ["ok", "telegram"],
        ["ok", "channel"],
        ["ok", "ai"],
        ["ok", "encrypted", "values"],
    ]
    assert f"@{tg.bot_username}" in lines[2]
    assert "nexus_channel" in lines[3]

    assert not_admin.code == 1, not_admin.both
    failed = [line for line in not_admin.out.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 1 and failed[0].startswith("FAIL  channel:"), not_admin.out
    assert "admin" in failed[0]
    assert sum(line.startswith("ok") for line in not_admin.out.splitlines()) == 5

    secret_part = tg.token.split(":", 1)[1]
    for result in (good, not_admin):
        assert "Traceback" not in result.both
        assert secret_part not in result.both and ai.api_key not in result.both


# --- rotate-key --------------------------------------------------------------------------------

SECRETS = {
    "@alpha": {"token": "111:alpha-secret", "extra": "ünïcode ✓"},
    "@beta": {"token": "222:beta-secret"},
}


async def seed_accounts(data_dir: Path, keys_by_handle: dict[str, str | None]) -> dict[int, str]:
    """Migrate and add accounts, each encrypted with its key (None: no credentials);
    returns {account id: stored ciphertext or ''}."""
    engine = create_engine(sqlite_url(data_dir))
    await upgrade(engine)
    async with make_session_factory(engine)() as session:
        for handle, key in keys_by_handle.items():
            account = await repo.ensure_account(session, "telegram", handle)
            if key is not None:
                account.credentials = Vault(key).encrypt(SECRETS[handle])
        await session.commit()
    stored = await stored_credentials(data_dir)
    await engine.dispose()
    return stored


async def stored_credentials(data_dir: Path) -> dict[int, str]:
    engine = create_engine(sqlite_url(data_dir))
    async with make_session_factory(engine)() as session:
        rows = (await session.scalars(select(Account).order_by(Account.id))).all()
        stored = {a.id: a.credentials or "" for a in rows}
        handles = [a.handle for a in rows]
    await engine.dispose()
    assert handles == ["@alpha", "@beta", "@gamma"]
    return stored


def assert_only_key_opens(stored: dict[int, str], key: str, *old_keys: str) -> None:
    opened = sorted(Vault(key).decrypt(token)["token"] for token in stored.values() if token)
    assert opened == ["111:alpha-secret", "222:beta-secret"]
    for token in filter(None, stored.values()):
        for old in old_keys:
            with pytest.raises(CryptoError):
                Vault(old).decrypt(token)


async def test_rotate_key(tmp_path: Path) -> None:
    # a key file in the data dir (the default set-up)
    file_dir = tmp_path / "file"
    file_key, _ = load_or_create_key_file(file_dir)
    file_before = await seed_accounts(
        file_dir, {"@alpha": file_key, "@beta": file_key, "@gamma": None}
    )
    # NEXUS_SECRET_KEY listing two keys: a rotation being rolled out, rows under either
    env_dir = tmp_path / "env"
    env_new, env_old = generate_key(), generate_key()
    await seed_accounts(env_dir, {"@alpha": env_new, "@beta": env_old, "@gamma": None})
    # a typo in --new-key
    typo_dir = tmp_path / "typo"
    typo_key, _ = load_or_create_key_file(typo_dir)
    typo_before = await seed_accounts(
        typo_dir, {"@alpha": typo_key, "@beta": typo_key, "@gamma": None}
    )

    by_file, by_env, typo = await asyncio.gather(
        nexus("rotate-key", cwd=tmp_path, NEXUS_DATA_DIR=str(file_dir)),
        nexus(
            "rotate-key",
            cwd=tmp_path,
            NEXUS_DATA_DIR=str(env_dir),
            NEXUS_SECRET_KEY=f"{env_new},{env_old}",
        ),
        nexus("rotate-key", "--new-key", "garbage", cwd=tmp_path, NEXUS_DATA_DIR=str(typo_dir)),
    )

    # key file: replaced by a new private one that opens every row; the old one opens none
    assert by_file.code == 0, by_file.both
    assert "2 in accounts.credentials" in by_file.out
    key_file = file_dir / KEY_FILE_NAME
    new_file_key = key_file.read_text().strip()
    assert new_file_key != file_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not (file_dir / STAGED_KEY_FILE_NAME).exists()
    file_after = await stored_credentials(file_dir)
    assert file_after.keys() == file_before.keys()
    assert_only_key_opens(file_after, new_file_key, file_key)

    # NEXUS_SECRET_KEY: the new key is printed for the user to set; no key file appears
    assert by_env.code == 0, by_env.both
    printed = by_env.out.strip().splitlines()[-1]
    assert printed not in (env_new, env_old)
    assert "NEXUS_SECRET_KEY" in by_env.out
    assert_only_key_opens(await stored_credentials(env_dir), printed, env_new, env_old)
    assert not (env_dir / KEY_FILE_NAME).exists()

    # a malformed new key: exit 2, a readable line, and nothing touched
    assert typo.code == 2
    assert typo.out == ""
    assert "not a valid key" in typo.err and "nexus keygen" in typo.err
    assert "Traceback" not in typo.err and len(typo.err.strip().splitlines()) == 1
    assert (typo_dir / KEY_FILE_NAME).read_text().strip() == typo_key
    assert not (typo_dir / STAGED_KEY_FILE_NAME).exists()
    assert await stored_credentials(typo_dir) == typo_before

    for result in (by_file, by_env, typo):
        assert "Traceback" not in result.both
        assert "111:alpha-secret" not in result.both


async def test_check_verifies_connected_accounts(tg: FakeTelegram, tmp_path: Path) -> None:
    mastodon = FakeMastodon()
    await mastodon.start()
    try:
        key = generate_key()
        data_dir = tmp_path / "data"
        engine = create_engine(sqlite_url(data_dir))
        await upgrade(engine)
        async with make_session_factory(engine)() as session:
            for handle, token in (("@good@m", mastodon.token), ("@stale@m", "revoked")):
                credentials = {"instance": mastodon.base_url, "access_token": token}
                await repo.save_account(
                    session, "mastodon", handle, handle, Vault(key).encrypt(credentials)
                )
            await session.commit()
        await engine.dispose()

        result = await nexus(
            "check",
            cwd=tmp_path,
            TELEGRAM_BOT_TOKEN=tg.token,
            TELEGRAM_API_SERVER=tg.base_url,
            NEXUS_CHANNEL=CHANNEL,
            NEXUS_DATA_DIR=str(data_dir),
            NEXUS_SECRET_KEY=key,
            NEXUS_ALLOW_PRIVATE_URLS="true",  # the fake Mastodon listens on 127.0.0.1
        )
    finally:
        await mastodon.close()
    assert result.code == 1, result.both
    lines = result.out.splitlines()
    assert any(line.startswith("ok    Mastodon @good@m") for line in lines), result.out
    assert any(line.startswith("FAIL  Mastodon @stale@m") for line in lines), result.out
    assert "revoked" not in result.both and mastodon.token not in result.both

"""The `nexus` command: run, worker, migrate, check, keygen, rotate-key, backup, restore.

Exit codes: 0 success, 1 a check or operation failed, 2 the configuration is unusable (with one
readable message naming each bad variable; never a traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shlex
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from automation.server import HttpServerError
from bot.keys import open_vault, secret_values
from bot.logs import configure_logging
from config.settings import ConfigError, Settings, load_settings
from publishers.registry import account_label
from storage import repositories as repo
from storage.backup import (
    BackupError,
    NexusIsRunning,
    RunLock,
    backup_sqlite,
    default_backup_path,
    restore_sqlite,
)
from storage.crypto import (
    KEY_FILE_NAME,
    OLD_KEY_FILE_NAME,
    STAGED_KEY_FILE_NAME,
    CryptoError,
    Vault,
    generate_key,
    write_key_file,
)
from storage.db import create_engine, make_session_factory
from storage.encrypted import count_values, rotate_all, unreadable_values
from storage.migrate import MigrationError, current_revision, upgrade
from storage.models import Account
from storage.permissions import make_private, restrict_umask, too_open

log = logging.getLogger("nexus")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def _settings(require_bot: bool = True) -> Settings:

    settings = load_settings(require_bot=require_bot)
    configure_logging(settings.log_level, secret_values(settings), settings.log_format)
    return settings


# --- run -----------------------------------------------------------------------------------------


async def _run(settings: Settings, *, with_scheduler: bool) -> int:
    from bot.app import build_app, freeze_startup_objects, prepare_database
    from bot.startup import TokenRefused, reach_telegram

    await prepare_database(settings)
    app = build_app(settings, with_scheduler=with_scheduler)
    freeze_startup_objects()
    try:
        me = await reach_telegram(app.bot, settings.telegram_api_server)  # waits out no network
        mode = "with the scheduler" if with_scheduler else "without the scheduler"
        log.info("Nexus is running as @%s, %s", me.username, mode)
        await app.start_polling(handle_signals=True)
    except TokenRefused as exc:
        print(f"Nexus cannot start: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    finally:
        await app.aclose()
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    restrict_umask()  # the database, its WAL and every image are private from the start
    return asyncio.run(_run(_settings(), with_scheduler=not args.no_scheduler))


async def _worker(settings: Settings, http_port: int | None) -> int:
    """The dispatcher and the jobs, without the bot's polling (several may run on PostgreSQL);
    with `http_port`, /health and /metrics on that port."""
    from bot.app import (
        build_app,
        ensure_first_brand,
        freeze_startup_objects,
        prepare_database,
        worker_http_server,
    )

    await prepare_database(settings)
    app = build_app(settings)
    status = worker_http_server(app, http_port) if http_port is not None else None
    freeze_startup_objects()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await ensure_first_brand(app)
        await app.start_scheduler()
        app.automation.drain_soon()  # the backlog a crash left behind, at once
        if status is not None:
            await status.start()
        log.info("Nexus worker is running; stop it with Ctrl+C")
        await stop.wait()
    finally:
        if status is not None:
            await status.stop()
        await app.aclose()
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    restrict_umask()
    settings = _settings()
    port = args.http_port if args.http_port is not None else settings.worker_http_port
    return asyncio.run(_worker(settings, port))


# --- migrate -------------------------------------------------------------------------------------


async def _migrate(settings: Settings) -> int:
    make_private(settings.data_dir, settings.database_file)
    engine = create_engine(settings.resolved_database_url)
    try:
        before, head = await current_revision(engine)
        await upgrade(engine)
    finally:
        await engine.dispose()
    make_private(settings.data_dir, settings.database_file)
    if before == head:
        print(f"database is up to date (revision {head})")
    else:
        print(f"database migrated from {before or 'empty'} to {head}")
    return EXIT_OK


def cmd_migrate(args: argparse.Namespace) -> int:
    restrict_umask()
    return asyncio.run(_migrate(_settings(require_bot=False)))


# --- check ---------------------------------------------------------------------------------------


async def _check(settings: Settings) -> int:
    from bot.app import build_app

    app = build_app(settings)
    failures = 0

    async def step(name: str, probe: Callable[[], Awaitable[str]]) -> None:
        nonlocal failures
        try:
            print(f"ok    {name}: {await probe()}")
        except Exception as exc:  # every failure becomes one line, the run goes on
            failures += 1
            reason = getattr(exc, "user_message", None) or getattr(exc, "reason", None) or exc
            print(f"FAIL  {name}: {type(exc).__name__}: {reason}")

    async def database() -> str:
        current, head = await current_revision(app.engine)
        if current != head:
            raise RuntimeError(f"schema at {current or 'empty'}, code at {head}: run nexus migrate")
        return f"{app.engine.url.get_backend_name()} at revision {current}"

    async def telegram() -> str:
        me = await app.bot.get_me()
        return f"@{me.username} (id {me.id})"

    async def channel() -> str:
        if not settings.channel:
            raise RuntimeError("NEXUS_CHANNEL is not set: there is nowhere to publish")
        return await app.publishers.for_credentials("telegram", settings.channel, {}).verify()

    async def ai() -> str:
        return await app.drafter.check()

    async def secrets() -> str:
        try:
            async with app.sessions() as session:
                unreadable = await unreadable_values(session, app.vault)
                total = await count_values(session)
        except SQLAlchemyError:
            raise RuntimeError("cannot read them (see the database line above)") from None
        if unreadable:
            raise CryptoError(
                f"{len(unreadable)} of {total} encrypted value(s) do not decrypt with the current "
                f"key: {'; '.join(unreadable)} (restore the old key or re-enter them)"
            )
        return f"{total} encrypted value(s) decrypt with the current key"

    try:
        print("ok    configuration: all variables valid")
        for loose in too_open(settings.data_dir, settings.database_file):
            print(f"warn  permissions: {loose.advice()}")
        await step("database", database)
        await step("telegram", telegram)
        await step("channel", channel)
        await step("ai", ai)
        await step("encrypted values", secrets)
        for account in await _connected_accounts(app.sessions, settings.channel):
            publisher = app.publishers.for_account(account)
            await step(account_label(account), publisher.verify)
    finally:
        await app.aclose()
    return EXIT_FAILED if failures else EXIT_OK


async def _connected_accounts(
    sessions: async_sessionmaker[AsyncSession], channel: str | None
) -> list[Account]:
    """Enabled accounts other than NEXUS_CHANNEL (checked above); none before the first run."""
    try:
        async with sessions() as session:
            accounts = await repo.enabled_accounts(session)
    except SQLAlchemyError:
        return []  # the database check above has already said what is wrong
    return [a for a in accounts if not (a.platform == "telegram" and a.handle == channel)]


def cmd_check(args: argparse.Namespace) -> int:
    return asyncio.run(_check(_settings()))


# --- keys ----------------------------------------------------------------------------------------


def cmd_keygen(args: argparse.Namespace) -> int:
    print(generate_key())
    return EXIT_OK


async def _rotate(settings: Settings, new_key: str) -> int:
    """Re-encrypt every encrypted value (`storage.encrypted`: account credentials, webhook
    secrets, ...) under `new_key`, in one transaction.

    With a key file, the new key is written next to it first (`secret.key.new`, read as a second
    key by nobody but this command), the rows are re-encrypted and committed, the old key is kept
    as `secret.key.old`, and only then does the new key replace the old file: an interrupted
    rotation loses nothing, and a failed one leaves the old key and every row as they were.
    """
    try:
        new_vault = Vault(new_key)  # validates the key before anything changes
    except CryptoError:
        raise CryptoError(
            "the key given with --new-key is not a valid key (make one with `nexus keygen`)"
        ) from None
    # a running Nexus keeps using the old key file: with one, refuse until it is stopped
    lock = RunLock.acquire(settings.data_dir, exclusive=settings.secret_key is None)
    try:
        return await _rotate_locked(settings, new_vault, new_key)
    finally:
        lock.release()


async def _rotate_locked(settings: Settings, new_vault: Vault, new_key: str) -> int:
    old_vault, _ = open_vault(settings)
    key_file = settings.data_dir / KEY_FILE_NAME
    staged = settings.data_dir / STAGED_KEY_FILE_NAME
    if settings.secret_key is None:
        write_key_file(staged, new_key)
    engine = create_engine(settings.resolved_database_url)
    try:
        async with make_session_factory(engine)() as session:
            counts = await rotate_all(session, old_vault, new_vault)
            await session.commit()
    except BaseException:
        if settings.secret_key is None:
            staged.unlink(missing_ok=True)
        raise
    finally:
        await engine.dispose()
    summary = ", ".join(f"{n} in {label}" for label, n in counts.items())
    rotated = f"re-encrypted {sum(counts.values())} value(s) ({summary})"
    if settings.secret_key is None:
        backup = settings.data_dir / OLD_KEY_FILE_NAME
        write_key_file(backup, key_file.read_text().strip())
        staged.replace(key_file)
        print(f"{rotated}; the new key is in {key_file}: back it up.")
        print(f"The old key is kept in {backup}; delete it once the new key is backed up.")
    else:
        print(f"{rotated}. Set NEXUS_SECRET_KEY to the new key now:")
        print(new_key)
    return EXIT_OK


def cmd_rotate_key(args: argparse.Namespace) -> int:
    return asyncio.run(_rotate(_settings(require_bot=False), args.new_key or generate_key()))


# --- backup and restore --------------------------------------------------------------------------


def _sqlite_path(settings: Settings) -> Path | None:
    """The SQLite database file, or None on another database (PostgreSQL)."""
    url = make_url(settings.resolved_database_url)
    return Path(url.database or "") if url.get_backend_name() == "sqlite" else None


def _postgres_command(settings: Settings, tool: str, file: str) -> str:
    """The exact pg_dump/pg_restore command, with the password left out (it prompts, or reads
    PGPASSWORD/~/.pgpass)."""
    url = make_url(settings.resolved_database_url)
    bare = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    )  # built afresh: `url.set(password=None)` keeps the password
    target = bare.render_as_string(hide_password=False)
    if tool == "pg_dump":
        return f"pg_dump --format=custom --file={shlex.quote(file)} {shlex.quote(target)}"
    return f"pg_restore --clean --if-exists --dbname={shlex.quote(target)} {shlex.quote(file)}"


def _key_location(settings: Settings) -> str:
    if settings.secret_key is not None:
        return "NEXUS_SECRET_KEY"
    return str((settings.data_dir / KEY_FILE_NAME).resolve())


def _key_reminder(settings: Settings) -> str:
    return (
        f"The secret key is NOT in the backup: it is in {_key_location(settings)}. Keep a copy "
        "of it apart from the backup; without it the stored credentials and webhook secrets "
        "cannot be decrypted."
    )


def cmd_backup(args: argparse.Namespace) -> int:
    settings = _settings(require_bot=False)
    now = datetime.now(UTC)
    database = _sqlite_path(settings)
    if database is None:
        file = args.file or f"nexus-backup-{now:%Y%m%d-%H%M%S}.dump"
        print("Nexus uses PostgreSQL here: back it up with pg_dump, e.g.")
        print(_postgres_command(settings, "pg_dump", file))
        print(_key_reminder(settings))
        return EXIT_FAILED
    target = Path(args.file) if args.file else default_backup_path(settings.data_dir, now)
    try:
        size = backup_sqlite(database, target)
    except BackupError as exc:
        print(f"Backup failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"backed up {database} to {target} ({size:,} bytes, readable by you only)")
    print(_key_reminder(settings))
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    settings = _settings(require_bot=False)
    database = _sqlite_path(settings)
    if database is None:
        print("Nexus uses PostgreSQL here: restore with pg_restore while Nexus is stopped, e.g.")
        print(_postgres_command(settings, "pg_restore", args.file))
        return EXIT_FAILED
    try:
        lock = RunLock.acquire(settings.data_dir, exclusive=True)
        try:
            revision, kept = restore_sqlite(Path(args.file), database, datetime.now(UTC))
        finally:
            lock.release()
    except BackupError as exc:
        print(f"Restore refused: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"restored {args.file} into {database} (schema revision {revision}; nexus run "
        "migrates it if it is older)"
    )
    if kept is not None:
        print(f"the database it replaced is kept as {kept}")
    print(
        "The restored credentials open only with the secret key they were backed up with: "
        f"put that key in {_key_location(settings)} before you start Nexus."
    )
    return EXIT_OK


# --- entry point ---------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="nexus",
        description="Nexus: a self-hosted content autopilot that lives in Telegram.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="run the bot, the scheduler and the webhook server (applies migrations first)",
        description="Run the bot (long polling) with the embedded scheduler, and the HTTP "
        "server for webhooks, health checks, metrics and public images on NEXUS_HTTP_HOST:"
        "NEXUS_HTTP_PORT (only this process takes webhooks).",
    )
    run.add_argument(
        "--no-scheduler",
        action="store_true",
        help="run only the bot; `nexus worker` processes publish (PostgreSQL deployments)",
    )
    run.set_defaults(func=cmd_run)
    worker = sub.add_parser(
        "worker",
        help="run the scheduler and publishing without the bot",
        description="Run the dispatcher and scheduled jobs without polling Telegram. On "
        "PostgreSQL any number of workers share the queue; each post goes out once.",
    )
    worker.add_argument(
        "--http-port",
        type=int,
        help="serve /health (scheduler and database) and /metrics on this port, on "
        "NEXUS_HTTP_HOST (default: NEXUS_WORKER_HTTP_PORT; unset: none)",
    )
    worker.set_defaults(func=cmd_worker)
    sub.add_parser(
        "migrate",
        help="bring the database schema up to date",
        description="Apply database migrations (needs only the database settings).",
    ).set_defaults(func=cmd_migrate)
    sub.add_parser(
        "check",
        help="validate the configuration and reach the database, Telegram and the AI",
        description="Check configuration, database, Telegram (getMe), the channel and the AI "
        "service, one line each. Exit code 1 if any check fails.",
    ).set_defaults(func=cmd_check)
    sub.add_parser(
        "keygen",
        help="print a new secret key for NEXUS_SECRET_KEY",
        description="Print a new random key for NEXUS_SECRET_KEY.",
    ).set_defaults(func=cmd_keygen)
    rotate = sub.add_parser(
        "rotate-key",
        help="re-encrypt every stored secret under a new key",
        description="Re-encrypt every stored secret (account credentials, webhook secrets) "
        "under a new key, in one transaction; the old key file is kept as secret.key.old. "
        "With a key file in the data dir, the file is replaced; with NEXUS_SECRET_KEY, the new "
        "key is printed for you to set.",
    )
    rotate.add_argument("--new-key", help="the new key (default: a fresh random key)")
    rotate.set_defaults(func=cmd_rotate_key)
    backup = sub.add_parser(
        "backup",
        help="copy the SQLite database while Nexus runs (PostgreSQL: prints the pg_dump command)",
        description="Make a consistent copy of the SQLite database, safe while Nexus runs "
        "(SQLite's online backup). The file is readable by you only. The secret key is not "
        "inside: keep the key file (or NEXUS_SECRET_KEY) apart from the backup.",
    )
    backup.add_argument(
        "file",
        nargs="?",
        help="where to write it (default: nexus-backup-<time>.db beside the data dir)",
    )
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser(
        "restore",
        help="put a backup in place of the SQLite database (Nexus must be stopped)",
        description="Check that FILE is a sound Nexus database, keep the current database as "
        "a .bak file, and put FILE in its place atomically. Refuses while nexus run or nexus "
        "worker uses the data dir.",
    )
    restore.add_argument("file", help="a file made by nexus backup")
    restore.set_defaults(func=cmd_restore)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    except CryptoError as exc:
        print(f"Nexus cannot continue: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    except HttpServerError as exc:
        print(f"Nexus cannot start its HTTP server: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except MigrationError as exc:
        print(f"Nexus cannot bring its database schema up to date: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except NexusIsRunning as exc:
        print(f"Nexus cannot continue: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except (SQLAlchemyError, OSError) as exc:
        print(f"Nexus cannot reach its database: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_OK
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

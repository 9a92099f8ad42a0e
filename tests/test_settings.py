"""Settings as a user writes them: environment variables (or a .env file) in, either a usable
configuration or one readable report naming every bad variable, never echoing a secret."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from config.settings import HINTS, ConfigError, Settings, load_settings

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"

# The function-scoped fixture involved is the autouse `clean_env` (empty environment, empty
# working directory), which is what every example needs; examples restore what they set.
property_settings = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@contextmanager
def environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def load(**env: str) -> Settings:
    with environment(TELEGRAM_BOT_TOKEN=TOKEN, **env):
        return load_settings()


def problems(**env: str) -> str:
    with environment(**env), pytest.raises(ConfigError) as caught:
        load_settings()
    return str(caught.value)


# --- a working configuration -----------------------------------------------------------------


def test_minimal_configuration_has_sensible_defaults() -> None:
    s = load()
    assert s.telegram_bot_token is not None and s.telegram_bot_token.get_secret_value() == TOKEN
    assert s.owner_ids == frozenset() and s.channel is None
    assert s.timezone == "UTC" and s.log_level == "INFO"
    assert s.anthropic_api_key is None and s.secret_key is None
    assert s.resolved_database_url == f"sqlite+aiosqlite:///{Path('data/nexus.db').resolve()}"


def test_secrets_never_show_in_the_settings_repr() -> None:
    s = load(ANTHROPIC_API_KEY="sk-ant-very-secret", NEXUS_SECRET_KEY="k" * 44)
    shown = repr(s) + str(s) + str(s.model_dump())
    assert TOKEN not in shown and "sk-ant-very-secret" not in shown and "k" * 44 not in shown


def test_dotenv_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN={TOKEN}\nNEXUS_OWNER_IDS=11,22\nNEXUS_TIMEZONE=Europe/Berlin\n"
    )
    with environment(NEXUS_TIMEZONE="Asia/Tokyo"):
        s = load_settings()
    assert s.owner_ids == {11, 22}
    assert s.timezone == "Asia/Tokyo" and s.tz.key == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("given_url", "expected"),
    [
        ("postgres://u:p@db/nexus", "postgresql+asyncpg://u:p@db/nexus"),
        ("postgresql://u:p@db/nexus", "postgresql+asyncpg://u:p@db/nexus"),
        ("  sqlite+aiosqlite:////srv/nexus.db ", "sqlite+aiosqlite:////srv/nexus.db"),
    ],
)
def test_database_urls_are_normalised(given_url: str, expected: str) -> None:
    assert load(NEXUS_DATABASE_URL=given_url).resolved_database_url == expected


def test_base_urls_lose_their_trailing_slash() -> None:
    s = load(TELEGRAM_API_SERVER="http://localhost:8081/", ANTHROPIC_BASE_URL="https://a.b/v/")
    assert (s.telegram_api_server, s.anthropic_base_url) == (
        "http://localhost:8081",
        "https://a.b/v",
    )


def test_log_level_is_case_insensitive() -> None:
    assert load(NEXUS_LOG_LEVEL="debug").log_level == "DEBUG"


def test_database_only_commands_need_no_bot_token() -> None:
    assert load_settings(require_bot=False).telegram_bot_token is None


# --- NEXUS_OWNER_IDS -------------------------------------------------------------------------

ids = st.lists(st.integers(min_value=1, max_value=2**53), max_size=6)
blank = st.sampled_from(["", " ", "  ", "\t"])


@property_settings
@given(ids, st.lists(st.sampled_from([",", ";", " , ", ",,", ", "]), min_size=6, max_size=6), blank)
def test_owner_ids_any_separators_and_spacing(
    values: list[int], separators: list[str], pad: str
) -> None:
    raw = pad + "".join(f"{v}{sep}" for v, sep in zip(values, separators, strict=False)) + pad
    assert load(NEXUS_OWNER_IDS=raw).owner_ids == frozenset(values)


@property_settings
@given(ids, st.text(min_size=1).filter(lambda s: s.strip(" \t,;") != ""))
@example([1], "²")  # a digit to str.isdigit, not to int()
@example([1], "١٢٣")  # Arabic-Indic digits: not what anyone means by a Telegram id
@example([], "@me")
def test_owner_ids_with_anything_but_ascii_digits_are_refused(values: list[int], junk: str) -> None:
    parts = [p.strip() for p in junk.replace(";", ",").split(",") if p.strip()]
    if all(re.fullmatch(r"[0-9]+", p) for p in parts):
        return  # junk that happens to be valid ids
    raw = ",".join([*map(str, values), junk])
    if "\x00" in raw:
        return  # the environment cannot hold a NUL byte
    report = problems(TELEGRAM_BOT_TOKEN=TOKEN, NEXUS_OWNER_IDS=raw)
    assert "NEXUS_OWNER_IDS" in report and "@userinfobot" in report
    assert "Traceback" not in report


# --- NEXUS_CHANNEL ---------------------------------------------------------------------------

usernames = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{3,31}", fullmatch=True)
channel_ids = st.from_regex(r"-100[0-9]{5,13}", fullmatch=True)


@property_settings
@given(usernames, blank)
def test_channel_username_with_or_without_link(name: str, pad: str) -> None:
    assert load(NEXUS_CHANNEL=f"{pad}@{name}{pad}").channel == f"@{name}"
    assert load(NEXUS_CHANNEL=f"https://t.me/{name}").channel == f"@{name}"
    assert load(NEXUS_CHANNEL=f"https://t.me/{name}/").channel == f"@{name}"


@property_settings
@given(channel_ids)
def test_channel_numeric_id(chat_id: str) -> None:
    assert load(NEXUS_CHANNEL=chat_id).channel == chat_id


def is_valid_channel(value: str) -> bool:
    value = value.strip()
    if value.startswith("https://t.me/"):
        value = "@" + value.removeprefix("https://t.me/").strip("/")
    return bool(
        re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{3,31}", value, re.ASCII)
        or re.fullmatch(r"-100[0-9]{5,}", value, re.ASCII)
    )


@property_settings
@given(
    st.one_of(
        st.text(),
        st.builds("@{}".format, st.text()),
        st.builds("-100{}".format, st.text()),
        st.builds("https://t.me/{}".format, st.text()),
    ).filter(lambda s: "\x00" not in s and s.strip() != "")
)
@example("-100١٢٣٤٥٦")  # Arabic-Indic digits: Telegram would never find this chat
@example("nexus_channel")  # the @ is required
@example("https://t.me/+AbCdEf")  # an invite link names no channel
def test_channel_accepted_only_in_a_documented_shape(value: str) -> None:
    with environment(TELEGRAM_BOT_TOKEN=TOKEN, NEXUS_CHANNEL=value):
        try:
            channel = load_settings().channel
        except ConfigError as exc:
            assert not is_valid_channel(value), str(exc)
            assert "NEXUS_CHANNEL" in str(exc)
            return
    assert is_valid_channel(value), f"accepted {value!r} as {channel!r}"


def test_empty_channel_means_none_yet() -> None:
    assert load(NEXUS_CHANNEL="  ").channel is None


# --- the report ------------------------------------------------------------------------------


def test_missing_token_is_named_with_how_to_get_one() -> None:
    report = problems()
    assert "TELEGRAM_BOT_TOKEN is not set" in report and "@BotFather" in report


def test_every_bad_variable_is_named_once_and_no_value_is_echoed() -> None:
    bad_token = "not-a-token-but-maybe-a-password"
    report = problems(
        TELEGRAM_BOT_TOKEN=bad_token,
        NEXUS_OWNER_IDS="12,me",
        NEXUS_TIMEZONE="Mars/Olympus_Mons",
        NEXUS_CHANNEL="my channel",
        NEXUS_LOG_LEVEL="LOUD",
        NEXUS_DATABASE_URL="mysql://db",
        TELEGRAM_API_SERVER="localhost:8081",
    )
    lines = report.splitlines()
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "NEXUS_OWNER_IDS",
        "NEXUS_TIMEZONE",
        "NEXUS_CHANNEL",
        "NEXUS_LOG_LEVEL",
        "NEXUS_DATABASE_URL",
        "TELEGRAM_API_SERVER",
    ):
        assert sum(line.strip().startswith(name + " ") for line in lines) == 1, (name, report)
    assert bad_token not in report
    assert "Traceback" not in report and "pydantic" not in report.lower()
    assert "is not set" not in report  # the token is set, just wrong


@pytest.mark.parametrize(
    "bad_token",
    [
        "123456789:short",
        "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        "12:AAHdqTcvCH1vGWJxfSeofSAs0K5PA",
        "١٢٣٤٥٦:AAHdqTcvCH1vGWJxfSeofSAs0K5PA",  # Arabic-Indic digits
        "",
    ],
)
def test_malformed_token_is_reported_without_its_value(bad_token: str) -> None:
    report = problems(TELEGRAM_BOT_TOKEN=bad_token)
    assert "TELEGRAM_BOT_TOKEN" in report
    if bad_token:
        assert bad_token not in report


def test_token_with_surrounding_spaces_is_accepted() -> None:
    with environment(TELEGRAM_BOT_TOKEN=f"  {TOKEN}\n"):
        s = load_settings()
    assert s.telegram_bot_token is not None and s.telegram_bot_token.get_secret_value() == TOKEN


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NEXUS_MISFIRE_GRACE", "0"),  # every post would be held as "Nexus was not running"
        ("NEXUS_MISFIRE_GRACE", "-5"),
        ("NEXUS_MAX_ATTEMPTS", "0"),
        ("NEXUS_FEED_POLL_MINUTES", "0"),
        ("NEXUS_ALERT_COOLDOWN_MINUTES", "0"),
        ("NEXUS_QUEUE_ALERT_AT", "0"),
        ("NEXUS_WEBHOOK_RATE", "0"),
        ("NEXUS_EVERGREEN_GAP_DAYS", "0"),
        ("NEXUS_SILENCE_ALERT_HOURS", "0"),
        ("NEXUS_HTTP_PORT", "-1"),
    ],
)
def test_values_that_would_break_the_product_are_refused_by_name(name: str, value: str) -> None:
    report = problems(TELEGRAM_BOT_TOKEN=TOKEN, **{name: value})
    line = next(line for line in report.splitlines() if line.strip().startswith(name + " "))
    assert "is invalid" in line and HINTS[name] in line


def test_a_misfire_grace_of_one_minute_is_the_smallest_accepted() -> None:
    assert load(NEXUS_MISFIRE_GRACE="1").misfire_grace_minutes == 1

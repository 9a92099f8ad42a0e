"""The team's words: /team (members and their roles), invites, joining, and the audit log (/log).

People are named by the name they show in Telegram (`User.name`, refreshed whenever they write
to the bot); someone who never wrote to it yet (an owner from NEXUS_OWNER_IDS) by their id.

An audit entry is worded by the catalogue key ``log.<action>`` (e.g. ``log.post.approve``),
filled with the post or person its subject names (``post:12``, ``user:42``) and its detail (a
role is translated); an action without a key of its own (one a newer module records) still shows,
as ``log.other``, rather than breaking the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from storage.models import AuditEntry, Brand, Membership, Role, User
from ui.texts import Html, Texts
from ui.views import short_when

#: Entries per /log page.
LOG_PAGE = 10


def person(t: Texts, user_id: int | None, users: Mapping[int, User]) -> str:
    """Who someone is, in plain text: their Telegram name, else their id; None is Nexus itself
    (an automation rule, a timeout)."""
    if user_id is None:
        return t.plain("log.nexus")
    user = users.get(user_id)
    if user is not None and user.name:
        return user.name
    return t.plain("team.someone", user_id=user_id)


def role_name(t: Texts, role: Role | str) -> str:
    return t.plain(f"role.{Role(role)}")


def team_view(
    t: Texts, brand: Brand, members: Sequence[Membership], users: Mapping[int, User], me: int
) -> str:
    """/team: each member with their role, the reader marked."""
    lines = []
    for member in members:
        key = "team.line_me" if member.user_id == me else "team.line"
        lines.append(
            t(
                key,
                name=person(t, member.user_id, users),
                user_id=member.user_id,
                role=role_name(t, member.role),
            )
        )
    return t("team.list", brand=brand.name, lines=Html("\n".join(lines)))


def _subject(entry: AuditEntry) -> tuple[str, str]:
    kind, _, value = entry.subject.partition(":")
    return kind, value


def _translated(t: Texts, key: str, fallback: str) -> str:
    return t.plain(key) if t.has(key) else fallback


def audit_line(t: Texts, entry: AuditEntry, users: Mapping[int, User], tz: ZoneInfo) -> str:
    """One entry of /log: when, who, what."""
    kind, value = _subject(entry)
    subject_person = person(t, int(value), users) if kind == "user" and value.isdigit() else value
    detail = entry.detail
    values = {
        "id": value,
        "person": subject_person,
        "detail": detail,
        "role": _translated(t, f"role.{detail}", detail),
        "field": _translated(t, f"voice.field.{detail}", detail),
    }
    key = f"log.{entry.action}"
    if t.has(key):
        what = t(key, **values)
    else:
        what = t("log.other", action=entry.action, subject=entry.subject, detail=detail)
    return t(
        "log.line",
        at=short_when(entry.at, tz),
        actor=person(t, entry.actor_id, users),
        what=Html(what),
    )


def log_view(
    t: Texts,
    brand: Brand,
    entries: Sequence[AuditEntry],
    users: Mapping[int, User],
    tz: ZoneInfo,
    page: int,
    pages: int,
) -> str:
    """A page of /log, newest first."""
    if not entries:
        return t("log.empty", brand=brand.name)
    lines = "\n".join(audit_line(t, entry, users, tz) for entry in entries)
    return t("log.page", brand=brand.name, page=page + 1, pages=pages, lines=Html(lines))


def pages_of(count: int) -> int:
    return max(1, -(-count // LOG_PAGE))


def logged_time(moment: datetime, tz: ZoneInfo) -> str:
    """A time as an audit entry keeps it (its detail is stored text, read later by people in
    any language): "2026-12-04 10:00 Europe/Berlin"."""
    return f"{moment.astimezone(tz):%Y-%m-%d %H:%M} {tz.key}"

"""Credentials typed into a connection form, held in process memory only, briefly.

A platform may ask for several secrets one message at a time (X: four). Until the last one
arrives they cannot be verified, so they wait here, never in the FSM storage (which is a
database table that outlives the form): keyed by the owner's user id and the form's random id
(which the FSM data does hold), dropped when the form is left (/cancel, another command, a
finished connection: `forget_when_left`), when ``ttl`` seconds pass, or when Nexus stops. A form
whose secrets are gone asks the owner to start again.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from aiogram.fsm.storage.base import StorageKey

#: How long typed secrets wait for the rest of their form.
SECRETS_TTL_S = 10 * 60.0


@dataclass
class _Form:
    form_id: str
    values: dict[str, str] = field(default_factory=dict)
    expiry: asyncio.TimerHandle | None = None


class HeldCredentials:
    def __init__(self, ttl: float = SECRETS_TTL_S) -> None:
        self.ttl = ttl
        self._forms: dict[int, _Form] = {}

    def open(self, user_id: int) -> str:
        """Start a form for ``user_id`` (dropping any earlier one); its id, for the FSM data."""
        self.drop(user_id)
        form = _Form(secrets.token_hex(8))
        self._forms[user_id] = form
        self._arm(user_id, form)
        return form.form_id

    def resume(self, user_id: int, form_id: str) -> None:
        """Keep filling form ``form_id`` after a restart (only while it holds no secret yet)."""
        if self.get(user_id, form_id) is None:
            form = _Form(form_id)
            self._forms[user_id] = form
            self._arm(user_id, form)

    def get(self, user_id: int, form_id: str) -> dict[str, str] | None:
        """The secrets typed into form ``form_id`` so far; None if the form is not held (it
        timed out, was left, or Nexus restarted)."""
        form = self._forms.get(user_id)
        return dict(form.values) if form is not None and form.form_id == form_id else None

    def put(self, user_id: int, form_id: str, name: str, value: str) -> bool:
        form = self._forms.get(user_id)
        if form is None or form.form_id != form_id:
            return False
        form.values[name] = value
        self._arm(user_id, form)  # the time runs from the last answer
        return True

    def take(self, user_id: int, form_id: str) -> dict[str, str] | None:
        """The form's secrets, handed over once (they leave this holder)."""
        values = self.get(user_id, form_id)
        if values is not None:
            self.drop(user_id)
        return values

    def drop(self, user_id: int) -> None:
        form = self._forms.pop(user_id, None)
        if form is not None:
            form.values.clear()
            if form.expiry is not None:
                form.expiry.cancel()

    def clear(self) -> None:
        for user_id in list(self._forms):
            self.drop(user_id)

    def __len__(self) -> int:
        return len(self._forms)

    def _arm(self, user_id: int, form: _Form) -> None:
        if form.expiry is not None:
            form.expiry.cancel()
        form.expiry = asyncio.get_running_loop().call_later(self.ttl, self._expire, user_id, form)

    def _expire(self, user_id: int, form: _Form) -> None:
        if self._forms.get(user_id) is form:
            self.drop(user_id)


def forget_when_left(
    held: HeldCredentials, form_state: str | None
) -> Callable[[StorageKey, str | None], None]:
    """A state watcher (`bot.fsm.DatabaseStorage.on_state`): the owner's held secrets are
    dropped as soon as their conversation leaves ``form_state``."""

    def watcher(key: StorageKey, state: str | None) -> None:
        if state != form_state:
            held.drop(key.user_id)

    return watcher

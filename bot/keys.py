"""Secrets of the running configuration: what logs must never show, and the credential vault.

Kept apart from the app factory so that light commands (`nexus migrate`, `nexus rotate-key`)
need not import aiogram and the AI SDK.
"""

from __future__ import annotations

from pathlib import Path

from config.settings import Settings
from storage.crypto import (
    KEY_FILE_NAME,
    STAGED_KEY_FILE_NAME,
    Vault,
    load_or_create_key_file,
)


def secret_values(settings: Settings) -> list[str]:
    """Everything that must never appear in a log line."""
    values = [
        settings.telegram_bot_token,
        settings.anthropic_api_key,
        settings.secret_key,
        settings.metrics_token,
    ]
    return [v.get_secret_value() for v in values if v is not None]


def open_vault(settings: Settings) -> tuple[Vault, Path | None]:
    """The credential vault, and the key file's path if this call created it.

    NEXUS_SECRET_KEY may list several comma-separated keys (newest first) while a rotation is
    rolled out; without it the key lives in the data dir.
    """
    if settings.secret_key is not None:
        return Vault(*settings.secret_key.get_secret_value().split(",")), None
    key, created = load_or_create_key_file(settings.data_dir)
    staged = settings.data_dir / STAGED_KEY_FILE_NAME  # left by an interrupted rotate-key
    keys = [key, staged.read_text().strip()] if staged.exists() else [key]
    return Vault(*keys), (settings.data_dir / KEY_FILE_NAME if created else None)

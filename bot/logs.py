"""Logging set-up with secret redaction.

Every formatted record (message and traceback alike) passes through `RedactingFormatter`, which
replaces each configured secret with `***`. httpx logs request URLs at INFO, and Telegram URLs
carry the bot token, so its loggers are also held at WARNING.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

QUIET_LOGGERS = ("httpx", "httpcore", "httpx2", "httpcore2", "anthropic", "aiosqlite", "asyncio")


class RedactingFormatter(logging.Formatter):
    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def configure_logging(level: str, secrets: Iterable[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))

"""The application shell: the `nexus` CLI, the one factory that wires everything (`bot.app`),
the update middlewares (owner gate, database session, chat actions), the request middlewares on
the bot's session (Telegram's rate limits, Telegram's size limits) and the notifier that lets
jobs reach the owner. It holds no business rules and no chat texts.

Layering: imports every package of ours; nothing imports `bot` (tests/test_layering.py).
"""

"""One adapter per platform behind one protocol, Telegram's and each platform's text rules, the
error hierarchy every adapter maps to, and the hardened client for users' URLs. Pure adapters:
an injected HTTP client and base URL in, results or errors out.

Layering: imports nothing of ours; no database, no aiogram (tests/test_layering.py).
"""

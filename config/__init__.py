"""Nexus's settings: one pydantic-settings model read from the environment and `.env`.

It lives apart from `bot/` (the application shell) because `handlers/` and `automation/` read
settings too, and the shell imports them: keeping settings here keeps the package graph acyclic.
Layering: imports only pure helpers from `scheduler.timeparse` and `storage.db`; `bot` and
`handlers` import it (tests/test_layering.py).
"""

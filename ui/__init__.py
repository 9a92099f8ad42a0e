"""The chat's UI kit: texts, callback data, keyboards and views.

It owns how Nexus looks in Telegram and nothing else: it formats models and reports that others
hand it, sizes them to Telegram's limits (`ui.fit`), and never calls a service, the database or
the network.

Layering: may import data types and pure formatting helpers from `ai`, `scheduler`, `metrics`,
`publishers` and `storage`; only `handlers` and `bot` import it (tests/test_layering.py).
"""

"""Automation: events from webhooks and feeds, the rules that turn them into drafts, posts and
messages, and the feed sources; the HTTP server that receives signed webhooks (and serves health
checks and public images). Never imports aiogram or `bot/`: the owner is reached through
`scheduler.notify.Notifier`, readiness checks come in as probes.

Layering: imports `ai`, `scheduler`, `metrics`, `publishers` and `storage`; only `bot` and
`handlers` import it (tests/test_layering.py).
"""

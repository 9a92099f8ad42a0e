"""The post lifecycle and everything about time: `lifecycle` owns every status transition (one
conditional UPDATE each), the publication dispatcher, recurrence, slots, time parsing and the
APScheduler wiring. Jobs are module-level coroutines that take ids; the owner is reached through
the `scheduler.notify.Notifier` interface, which `bot/` implements.

Layering: imports `publishers` and `storage` only, never aiogram (tests/test_layering.py).
"""

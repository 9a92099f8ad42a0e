"""Numbers about published posts: syncing their counters, the queries behind /stats, the chart,
and the best time to post.

Layering: ``metrics`` may import ``storage``, ``publishers`` and ``scheduler``; never aiogram
(the bot's handlers call it, and so can jobs that have no bot at hand; tests/test_layering.py).

- :mod:`metrics.stats`: pure read queries (``period_stats``, ``ai_spend``, ``post_targets``).
- :mod:`metrics.chart`: ``render_chart`` turns a day series into PNG bytes.
- :mod:`metrics.best_time`: engagement by weekday × hour, learned from the owner's history.
- :mod:`metrics.sync`: the periodic job that snapshots counters 1 h → 7 d after publishing.
- :mod:`metrics.reactions`: Telegram channel reaction counts pushed by the Bot API.

Platform failures arrive as :mod:`publishers.errors` classes and are handled inside the sync
job; the package raises nothing of its own.
"""

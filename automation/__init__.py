"""Automation: events from webhooks and feeds, the rules that turn them into drafts, posts and
messages, and the feed sources. Never imports aiogram or `bot/`: the owner is reached through
`scheduler.notify.Notifier`."""

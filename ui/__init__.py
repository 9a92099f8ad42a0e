"""The chat's UI kit: texts, callback data, keyboards and views.

It owns how Nexus looks in Telegram and nothing else: it formats models and reports that others
hand it, and never calls a service, the database or the network. It may import data types and
pure formatting helpers from `scheduler`, `publishers`, `ai` and `storage`; nothing of ours imports
upwards into it except `handlers` and `bot`.
"""

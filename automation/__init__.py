"""Automation: the inbound webhook HTTP server and its signature checks (and the rules engine and
feed sources). Imports nothing of aiogram or `bot`."""

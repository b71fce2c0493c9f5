"""The Slack adapter (slack-bolt AsyncApp): `/papers` in Socket Mode or HTTP mode, Block Kit
rendering (render.py, pure), delivery for the outbox, and the app manifest (manifest.py).

Slack payloads and slack_sdk/bolt objects never leave this package; the core sees only `Reply`,
`Actor`, `Place`, rendered parts (plain dicts) and bot.core.errors.
"""

from adapters.slack.app import SlackAdapter

__all__ = ["SlackAdapter"]

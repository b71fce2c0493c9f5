"""The Slack adapter (slack-bolt AsyncApp): `/papers` in Socket Mode or HTTP mode, as your own
app (one bot token) or as a distributed app any workspace installs (OAuth).

- app.py: `SlackAdapter`, the lifecycle (the Web API client, the bolt app, Socket Mode or the
  HTTP server with /healthz and the OAuth routes) and the ChatAdapter methods the core calls;
- installs.py: bolt's installation and state stores on paperbot's store (bot.ports.Installations);
- listeners.py: the bolt listeners (command, Details, Share, App Home, the settings modal,
  shortcuts, a workspace leaving), the who/where middleware (with the SLACK_ADMIN_ONLY check),
  answers through response_url, and the one error handler;
- delivery.py: posting and DMs for the outbox, per-channel spacing, 429 handling and the
  mapping of Slack errors onto bot.core.errors;
- render.py: pure Block Kit rendering of messages; views.py: the App Home tab and the modals;
  shortcuts.py: the message shortcuts; manifest.py: the app manifest.

Slack payloads and slack_sdk/bolt objects never leave this package; the core sees only `Reply`,
`Actor`, `Place`, rendered parts (plain dicts) and bot.core.errors.
"""

from adapters.slack.app import SlackAdapter

__all__ = ["SlackAdapter"]

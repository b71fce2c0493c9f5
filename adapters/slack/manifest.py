"""The Slack app manifest (`paperbot slack-manifest`): paste it at api.slack.com/apps ->
"Create New App" -> "From an app manifest".

Written by hand (no YAML library): every string is emitted as a JSON string, which is also a
valid YAML double-quoted scalar, so the output parses the same in any YAML parser.

Every manifest has the slash command, the bot scopes, interactivity (buttons, the settings
modal, its time zone search), the Home tab (and the Messages tab for DMs), the message
shortcuts of shortcuts.py, and the events the app listens to (`app_home_opened`, and
`app_uninstalled` / `tokens_revoked`, which a distributed app needs to forget a workspace).

- By default the app uses Socket Mode (no public URL needed; events arrive on the socket).
- `request_url` produces an HTTP-mode manifest: the slash command, interactivity, the options
  load URL and the events all post to `https://your.host/slack/events` (a bare
  `https://your.host` gets that path added).
- `distribution=True` (needs `request_url`) is an app any workspace installs: also the OAuth
  redirect URL `https://your.host/slack/oauth_redirect`, never Socket Mode (Slack does not
  distribute Socket Mode apps). Turn on public distribution under "Manage Distribution".
"""

from __future__ import annotations

import json
import urllib.parse

from adapters.slack.installs import REDIRECT_PATH
from adapters.slack.shortcuts import SHORTCUTS

# im:read and mpim:read: conversations.info on the DM a command came from (whose it is).
BOT_SCOPES = ("commands", "chat:write", "chat:write.public", "im:write", "users:read", "im:read", "mpim:read")
BOT_EVENTS = ("app_home_opened", "app_uninstalled", "tokens_revoked")
EVENTS_PATH = "/slack/events"
DESCRIPTION = "Research papers from arXiv, Hugging Face, Reddit and RSS: digests, search and alerts."
USAGE_HINT = "diffusion models since:7d | paper 2504.17830 | digest on 09:00 | digest edit | subscribe <query> | help"


def _s(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def request_urls(request_url: str) -> tuple[str, str]:
    """(the events URL, the OAuth redirect URL) for a public URL: a bare `https://host` gets
    /slack/events; the redirect is /slack/oauth_redirect on the same host. ValueError for
    anything that is not an http(s) URL with a host."""
    parts = urllib.parse.urlsplit(request_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--request-url must be your public https:// URL, e.g. https://bot.example (got {request_url!r})")
    events = request_url.strip() if parts.path not in ("", "/") else f"{parts.scheme}://{parts.netloc}{EVENTS_PATH}"
    return events, f"{parts.scheme}://{parts.netloc}{REDIRECT_PATH}"


def manifest_yaml(
    command: str = "/papers",
    name: str = "paperbot",
    request_url: str | None = None,
    *,
    distribution: bool = False,
) -> str:
    """The app manifest as YAML (see the module docstring for the three kinds)."""
    if distribution and not request_url:
        raise ValueError("a distributed app runs in HTTP mode: give --request-url https://your.host")
    events_url, redirect_url = request_urls(request_url) if request_url else ("", "")
    command = command if command.startswith("/") else "/" + command
    lines = [
        "_metadata:",
        "  major_version: 1",
        "  minor_version: 1",
        "display_information:",
        f"  name: {_s(name[:35])}",
        f"  description: {_s(DESCRIPTION[:140])}",
        "features:",
        "  app_home:",
        "    home_tab_enabled: true",
        "    messages_tab_enabled: true",
        "    messages_tab_read_only_enabled: false",
        "  bot_user:",
        f"    display_name: {_s(name[:80])}",
        "    always_online: true",
        "  shortcuts:",
    ]
    for shortcut in SHORTCUTS:
        lines += [
            f"    - name: {_s(shortcut.name)}",
            "      type: \"message\"",
            f"      callback_id: {_s(shortcut.callback_id)}",
            f"      description: {_s(shortcut.description)}",
        ]
    lines += [
        "  slash_commands:",
        f"    - command: {_s(command)}",
        f"      description: {_s('Search papers, set up digests and alerts')}",
        f"      usage_hint: {_s(USAGE_HINT)}",
        "      should_escape: false",
    ]
    if events_url:
        lines.append(f"      url: {_s(events_url)}")
    lines += ["oauth_config:"]
    if distribution:
        lines += ["  redirect_urls:", f"    - {_s(redirect_url)}"]
    lines += [
        "  scopes:",
        "    bot:",
        *(f"      - {_s(scope)}" for scope in BOT_SCOPES),
        "settings:",
        "  event_subscriptions:",
    ]
    if events_url:
        lines.append(f"    request_url: {_s(events_url)}")
    lines += [
        "    bot_events:",
        *(f"      - {_s(event)}" for event in BOT_EVENTS),
        "  interactivity:",
        "    is_enabled: true",
    ]
    if events_url:
        lines.append(f"    request_url: {_s(events_url)}")
        lines.append(f"    message_menu_options_url: {_s(events_url)}")
    lines += [
        "  org_deploy_enabled: false",
        f"  socket_mode_enabled: {'false' if events_url else 'true'}",
        "  token_rotation_enabled: false",
    ]
    return "\n".join(lines) + "\n"

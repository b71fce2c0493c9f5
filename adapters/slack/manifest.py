"""The Slack app manifest (`paperbot slack-manifest`): paste it at api.slack.com/apps ->
"Create New App" -> "From an app manifest".

Written by hand (no YAML library): every string is emitted as a JSON string, which is also a
valid YAML double-quoted scalar, so the output parses the same in any YAML parser.

By default the app uses Socket Mode (no public URL needed). Passing `request_url` instead
produces an HTTP-mode manifest whose slash command and interactivity post to that URL
(`https://your.host/slack/events`).
"""

from __future__ import annotations

import json

BOT_SCOPES = ("commands", "chat:write", "chat:write.public", "im:write", "users:read")
DESCRIPTION = "Research papers from arXiv, Hugging Face, Reddit and RSS: digests, search and alerts."
USAGE_HINT = "diffusion models since:7d | paper 2504.17830 | digest on 09:00 | subscribe <query> | help"


def _s(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def manifest_yaml(command: str = "/papers", name: str = "paperbot", request_url: str | None = None) -> str:
    """The app manifest as YAML: the slash command, bot scopes, interactivity, Socket Mode."""
    command = command if command.startswith("/") else "/" + command
    lines = [
        "_metadata:",
        "  major_version: 1",
        "  minor_version: 1",
        "display_information:",
        f"  name: {_s(name[:35])}",
        f"  description: {_s(DESCRIPTION[:140])}",
        "features:",
        "  bot_user:",
        f"    display_name: {_s(name[:80])}",
        "    always_online: true",
        "  slash_commands:",
        f"    - command: {_s(command)}",
        f"      description: {_s('Search papers, set up digests and alerts')}",
        f"      usage_hint: {_s(USAGE_HINT)}",
        "      should_escape: false",
    ]
    if request_url:
        lines.append(f"      url: {_s(request_url)}")
    lines += [
        "oauth_config:",
        "  scopes:",
        "    bot:",
        *(f"      - {_s(scope)}" for scope in BOT_SCOPES),
        "settings:",
        "  interactivity:",
        "    is_enabled: true",
    ]
    if request_url:
        lines.append(f"    request_url: {_s(request_url)}")
    lines += [
        "  org_deploy_enabled: false",
        f"  socket_mode_enabled: {'false' if request_url else 'true'}",
        "  token_rotation_enabled: false",
    ]
    return "\n".join(lines) + "\n"

"""The one module that chooses and builds the platform adapters.

Nothing else under `bot/` imports `adapters` (an import-linter contract in pyproject.toml
says so, with this module as its only exception): the core talks to platforms only through
`bot.ports.ChatAdapter`. Adapters are imported lazily so that a console-only run never imports
slack_bolt or discord.py.
"""

from __future__ import annotations

from bot.app.workspaces import StoreInstallations, StorePrivateAnswers
from bot.core.clock import Clock, system_clock
from bot.core.metrics import Metrics
from bot.ports import ChatAdapter, HealthCheck
from bot.settings import Settings
from bot.store import Store


def build_adapters(
    settings: Settings,
    *,
    console: bool,
    health: HealthCheck,
    link_secret: str = "",
    store: Store | None = None,
    clock: Clock = system_clock,
    metrics: Metrics | None = None,
) -> list[ChatAdapter]:
    """Slack and/or Discord when their tokens are set, email when SMTP_HOST is; the console
    when asked or when none of them is. Email alone is a whole deployment (digests to the
    CHANNELS_FILE's `email:<address>` destinations), so it runs without a console that would
    end at the end of its input. `link_secret` signs email unsubscribe links. A distributed
    Slack app (SLACK_CLIENT_ID) keeps its installations in `store` (with `clock` for OAuth
    state expiry): it is then required. `metrics`: where Slack and Discord record how fast
    they acknowledge commands."""
    chosen: list[ChatAdapter] = []
    if settings.email_enabled:
        from adapters.email import EmailAdapter

        chosen.append(EmailAdapter(settings, link_secret=link_secret, clock=clock))
    if not console:
        if settings.slack_enabled:
            from adapters.slack import SlackAdapter

            installations = None
            if settings.slack_distributed:
                if store is None or clock is None:
                    raise ValueError("a distributed Slack app needs the store and the clock")
                installations = StoreInstallations(store, clock)
            # Kept in the store, a private answer's feedback click redraws it on any replica.
            answers = StorePrivateAnswers(store, clock) if store is not None else None
            chosen.append(
                SlackAdapter(settings, health=health, installations=installations, metrics=metrics, private_answers=answers)
            )
        if settings.discord_enabled:
            from adapters.discord import DiscordAdapter

            chosen.append(DiscordAdapter(settings, metrics=metrics))
    if console or not chosen:
        from adapters.console import ConsoleAdapter

        chosen.append(ConsoleAdapter(user=settings.console_user))
    return chosen


def slack_manifest(settings: Settings, request_url: str | None, *, distribution: bool = False) -> str:
    """The Slack app manifest (YAML) for this deployment (`paperbot slack-manifest`);
    `distribution`: an app any workspace installs through OAuth (needs `request_url`)."""
    from adapters.slack.manifest import manifest_yaml

    return manifest_yaml(command=settings.slack_command, request_url=request_url, distribution=distribution)


def discord_invite_url(application_id: str) -> str:
    """The OAuth2 URL that adds the bot to a Discord server (`paperbot discord-invite`)."""
    from adapters.discord.invite import invite_url

    return invite_url(application_id)

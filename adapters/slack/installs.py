"""bolt's installation and OAuth-state stores, kept in paperbot's store through the
`bot.ports.Installations` port (bolt never writes files or opens its own database).

`oauth_settings()` builds bolt's `AsyncOAuthSettings` for a distributed app on them:
`/slack/install` redirects straight to Slack's approval page (SLACK_AUTHORIZE_URL) with a
single-use state, also set as a browser cookie; `/slack/oauth_redirect` checks both (a replayed,
expired or forged state is refused), exchanges the code with `oauth.v2.access` through
SLACK_API_URL, and saves the installation. Every request is then answered with the token of the
workspace it came from (bolt's authorize reads `async_find_installation`).

Only workspace installs are supported: an org-wide (Enterprise Grid) install has no team id to
key its channels by, so saving one fails and the installer sees bolt's failure page.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.error import BoltError
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.oauth.installation_store import Installation as SlackInstallation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.models import Installation
from bot.ports import Installations

log = logging.getLogger(__name__)

PLATFORM = "slack"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
STATE_SECONDS = 600  # how long an install may take between /slack/install and the redirect


def record_of(installation: SlackInstallation) -> dict[str, object]:
    """A Slack installation as JSON values: bolt's own fields, timestamps as numbers."""
    record = installation.to_dict_for_copying()
    record.update(
        installed_at=installation.installed_at,
        bot_token_expires_at=installation.bot_token_expires_at,
        user_token_expires_at=installation.user_token_expires_at,
        bot_scopes=list(installation.bot_scopes or []),
        user_scopes=list(installation.user_scopes or []),
    )
    return record


def installation_of(found: Installation) -> SlackInstallation:
    """The bolt installation a stored record describes."""
    return SlackInstallation(**dict(found.record))


def bot_token_of(installations: Installations, workspace_id: str) -> str | None:
    """The bot token of a workspace's latest installation (None when it is not installed)."""
    found = installations.find_installation(PLATFORM, workspace_id)
    token = found.record.get("bot_token") if found else None
    return str(token) if token else None


class StoreInstallationStore(AsyncInstallationStore):
    """bolt's installation store on `bot.ports.Installations` (bot tokens live in installations)."""

    def __init__(self, installations: Installations) -> None:
        self.installations = installations

    @property
    def logger(self) -> logging.Logger:
        """The logger bolt expects a store to have."""
        return log

    async def async_save(self, installation: SlackInstallation) -> None:
        """Keep a new installation (the OAuth redirect, or a token rotation)."""
        if not installation.team_id:
            raise BoltError("paperbot supports workspace installs only, not org-wide installs")
        self.installations.save_installation(
            Installation(PLATFORM, installation.team_id, installation.user_id or "", record_of(installation))
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> SlackInstallation | None:
        """The installer's installation, or the workspace's latest one."""
        if not team_id:
            return None
        found = self.installations.find_installation(PLATFORM, team_id, user_id)
        return installation_of(found) if found else None

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        """The workspace's bot (from its latest installation)."""
        found = await self.async_find_installation(enterprise_id=enterprise_id, team_id=team_id)
        return found.to_bot() if found is not None and found.bot_token else None

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        """Delete one installer's installation, or all of the workspace's."""
        if team_id:
            self.installations.delete_installations(PLATFORM, team_id, user_id)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """The bot token lives in the installations: deleting the bot deletes them."""
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)


class StoreStateStore(AsyncOAuthStateStore):
    """bolt's OAuth state store on `bot.ports.Installations`: single use, expiring."""

    def __init__(self, installations: Installations, expiration_seconds: float = STATE_SECONDS) -> None:
        self.installations = installations
        self.expiration_seconds = expiration_seconds

    @property
    def logger(self) -> logging.Logger:
        """The logger bolt expects a store to have."""
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        """A new state for one install."""
        return self.installations.issue_state(PLATFORM, self.expiration_seconds)

    async def async_consume(self, state: str) -> bool:
        """Whether the state is valid; it never is again."""
        return self.installations.consume_state(PLATFORM, state)


def oauth_settings(
    *,
    client_id: str,
    client_secret: str,
    scopes: tuple[str, ...],
    authorize_url: str,
    redirect_uri: str,
    installations: Installations,
    client: AsyncWebClient,
) -> AsyncOAuthSettings:
    """bolt's OAuth settings for the distributed app (see the module docstring)."""
    store = StoreInstallationStore(installations)
    settings = AsyncOAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=list(scopes),
        user_scopes=[],
        redirect_uri=redirect_uri or None,
        install_path=INSTALL_PATH,
        install_page_rendering_enabled=False,  # straight to Slack's approval page
        redirect_uri_path=REDIRECT_PATH,
        authorization_url=authorize_url,
        installation_store=store,
        state_store=StoreStateStore(installations),
        state_expiration_seconds=STATE_SECONDS,
        logger=log,
    )
    # bolt's default authorize would make its own client for token rotation (slack.com); ours
    # goes through SLACK_API_URL like every other Web API call.
    settings.authorize = AsyncInstallationStoreAuthorize(
        logger=log,
        installation_store=store,
        client_id=client_id,
        client_secret=client_secret,
        token_rotation_expiration_minutes=settings.token_rotation_expiration_minutes,
        client=client,
    )
    return settings

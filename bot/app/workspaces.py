"""`StoreInstallations`: the store-backed `bot.ports.Installations` a distributed Slack app runs
on: installations and OAuth states (bot.store.installations), and forgetting a workspace.

Forgetting a workspace (the app uninstalled, its bot token revoked) deletes, in one transaction,
its installations and every row keyed by one of its ids: paperbot keeps a distributed app's
channel and user ids qualified by their workspace (`T123:C456`, see bot.core.ids.scoped_id), so
"the workspace's rows" are exactly those whose ids start with `T123:` — digest settings and runs,
the delivered-papers ledger, subscriptions, queued alerts, user state, notices and outbox rows in
any state. Its digests and alerts stop at once, nothing pending is sent with a dead token, and a
reinstall starts clean, as Slack asks of apps that are uninstalled.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from bot.core.clock import Clock
from bot.core.ids import scope_prefix
from bot.core.models import Installation
from bot.store import Store
from bot.store.db import transaction

log = logging.getLogger(__name__)


# How long a private answer's feedback buttons can redraw it (an ephemeral answer rarely lives
# longer on screen: Slack drops it when the client reloads).
PRIVATE_ANSWER_TTL = timedelta(days=1)


class StorePrivateAnswers:
    """`bot.ports.PrivateAnswers` on paperbot's store (bot.store.answers), with the bot's clock."""

    def __init__(self, store: Store, clock: Clock, ttl: timedelta = PRIVATE_ANSWER_TTL) -> None:
        self.store = store
        self.clock = clock
        self.ttl = ttl

    async def keep(self, platform: str, token: str, owner: str, message: str) -> None:
        """Keep `message` under `token` for `owner` until the TTL passes: in a worker thread,
        since the write waits for SQLite's lock, which a digest batch may hold for a while."""
        keep = partial(
            self.store.answers.keep, platform=platform, token=token, owner=owner, message=message,
            now=self.clock(), ttl=self.ttl,
        )
        await self.store.run_blocking(keep)

    def recall(self, platform: str, token: str, owner: str) -> str | None:
        """The message kept under `token` for `owner`, or None."""
        return self.store.answers.recall(platform=platform, token=token, owner=owner, now=self.clock())


class StoreInstallations:
    """`bot.ports.Installations` on paperbot's store, with the bot's clock for state expiry."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def save_installation(self, installation: Installation) -> None:
        """Store an installation (replacing that installer's earlier one in the workspace)."""
        with transaction(self.store.conn):
            self.store.installations.save(installation, self.clock())
        log.info("%s: installed in workspace %s", installation.platform, installation.workspace_id)

    def find_installation(self, platform: str, workspace_id: str, installer_id: str | None = None) -> Installation | None:
        """The installer's installation, or (no installer given) the workspace's latest one."""
        return self.store.installations.find(platform, workspace_id, installer_id)

    def delete_installations(self, platform: str, workspace_id: str, installer_id: str | None = None) -> int:
        """Delete the installer's installation (or every one of the workspace); how many went."""
        with transaction(self.store.conn):
            return self.store.installations.delete(platform, workspace_id, installer_id)

    def issue_state(self, platform: str, ttl_seconds: float) -> str:
        """A new random OAuth state, valid once for `ttl_seconds`."""
        return self.store.installations.issue_state(platform, self.clock(), timedelta(seconds=ttl_seconds))

    def consume_state(self, platform: str, state: str) -> bool:
        """Whether `state` was issued and has not expired; it can never be used again."""
        return bool(state) and self.store.installations.consume_state(platform, state, self.clock())

    def forget_workspace(self, platform: str, workspace_id: str) -> dict[str, int]:
        """Remove the workspace's tokens and all its data (see the module); counts by kind."""
        if not workspace_id:
            raise ValueError("forget_workspace needs a workspace id")
        prefix = scope_prefix(workspace_id)
        store = self.store
        with transaction(store.conn):
            counts = {
                "installations": store.installations.delete(platform, workspace_id),
                "channels": store.channels.forget_prefix(platform, prefix),
                "subscriptions": store.subscriptions.forget_prefix(platform, prefix),
                "queued alerts": store.alert_queue.forget_prefix(platform, prefix),
                "users": store.users.forget_prefix(platform, prefix),
                "notices": store.notices.forget_prefix(platform, prefix),
                "undelivered messages": store.outbox.forget_prefix(platform, prefix),
            }
        log.info(
            "%s: forgot workspace %s (%s)", platform, workspace_id, ", ".join(f"{n} {k}" for k, n in counts.items())
        )
        return counts

"""The Discord adapter (discord.py 2.x): `/papers` app commands, embed rendering, delivery.

discord.py objects never leave this package; the core sees only `Reply`, `Actor`, `Place`,
rendered parts (plain dicts) and bot.core.errors.
"""

from adapters.discord.client import DiscordAdapter

__all__ = ["DiscordAdapter"]

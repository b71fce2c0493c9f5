"""The deployment's channel settings file (`CHANNELS_FILE`), applied at start."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import bot.chat.grammar as cmd
from bot.core.errors import ConfigError, UserInputError
from bot.core.models import CatchUp, ChannelSettings
from bot.store import Store
from bot.store.db import transaction

_FILE_KEYS = {
    "channel", "platform", "channel_id", "time", "timezone", "tz", "days", "topics", "query", "sources",
    "max_items", "min_score", "show_updated", "quiet_note", "catch_up", "enabled", "created_by", "workspace_id",
    "rank",
}


def load_channels_file(path: str | Path, store: Store, now: datetime) -> int:
    """Apply a JSON file of channel digest settings (deployments); returns how many channels
    it names. Every problem is collected and raised as one ConfigError.

    Format: `{"channels": [{...}, ...]}` or a bare list, each entry like
    `{"channel": "slack:C0123", "time": "09:00", "timezone": "Europe/Berlin", "days": "weekdays",
    "topics": ["llm", "rl"], "query": "", "sources": ["arxiv", "hf"], "max_items": 10,
    "min_score": 0, "show_updated": false, "quiet_note": false, "catch_up": "post",
    "rank": "topic", "enabled": true, "created_by": "U0ADMIN"}`. Only `channel` (or `platform` +
    `channel_id`) is required. An email destination is `"channel": "email:ada@example.org"`
    (its `created_by`, e.g. "slack:U0ADMIN", is told when the address fails for good); without
    topics it is ranked by what is trending. Re-applying an unchanged file changes nothing
    (catch-up after a restart works).
    `now` (the runtime clock's time) stamps channels the file adds, so their first slot is
    judged against the same clock the scheduler runs on.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"CHANNELS_FILE {path}: no such file"]) from None
    except (OSError, ValueError) as exc:
        raise ConfigError([f"CHANNELS_FILE {path}: not valid JSON ({exc})"]) from None
    entries = data.get("channels") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ConfigError([f'CHANNELS_FILE {path}: expected {{"channels": [...]}} or a list of channels'])
    problems: list[str] = []
    parsed: list[ChannelSettings] = []
    for number, entry in enumerate(entries, start=1):
        try:
            parsed.append(_channel_from_entry(entry, store))
        except (UserInputError, ValueError, TypeError) as exc:
            label = entry.get("channel") or entry.get("channel_id") if isinstance(entry, dict) else None
            problems.append(f"CHANNELS_FILE {path}: channel {number}{f' ({label})' if label else ''}: {exc}")
    keys = [s.key for s in parsed]
    problems += [f"CHANNELS_FILE {path}: {key} is listed twice" for key in sorted({k for k in keys if keys.count(k) > 1})]
    if problems:
        raise ConfigError(problems)
    with transaction(store.conn):
        for settings in parsed:
            store.channels.save(settings, now)
    return len(parsed)


def _channel_from_entry(entry: Any, store: Store) -> ChannelSettings:
    if not isinstance(entry, dict):
        raise ValueError("each channel must be a JSON object")
    unknown = sorted(set(entry) - _FILE_KEYS)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_FILE_KEYS))}")
    if "channel" in entry:
        platform, _, channel_id = str(entry["channel"]).partition(":")
    else:
        platform, channel_id = str(entry.get("platform", "")), str(entry.get("channel_id", ""))
    if not platform or not channel_id:
        raise ValueError('name the channel as "channel": "slack:C0123" (or platform + channel_id)')
    if platform == "email":
        channel_id = cmd.parse_email(channel_id).address or channel_id
        if not channel_id or "@" not in channel_id:
            raise ValueError('an email destination is "channel": "email:<address>"')
    existing = store.channels.get(f"{platform}:{channel_id}")
    base = existing or ChannelSettings(platform=platform, channel_id=channel_id)
    changes: dict[str, Any] = {}
    if "time" in entry:
        changes["time_of_day"] = cmd.parse_time_of_day(str(entry["time"]))
    if "timezone" in entry or "tz" in entry:
        changes["timezone"] = cmd.parse_timezone(str(entry.get("timezone", entry.get("tz"))))
    if "days" in entry:
        days = entry["days"]
        changes["days"] = cmd.parse_days(",".join(str(d) for d in days) if isinstance(days, list) else str(days))
    if "topics" in entry:
        changes["topics"] = tuple(cmd.parse_topic(str(t)) for t in _as_list(entry["topics"]))
    if "sources" in entry:
        changes["sources"] = tuple(cmd.parse_source(str(s)) for s in _as_list(entry["sources"]))
    if "query" in entry:
        changes["query"] = str(entry["query"])[: cmd.MAX_QUERY_CHARS]
    for key, low, high in (("max_items", 1, cmd.MAX_DIGEST_ITEMS), ("min_score", 0, 1_000_000)):
        if key in entry:
            value = entry[key]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ValueError(f"{key} must be a whole number from {low} to {high}")
            changes[key] = value
    for key in ("show_updated", "quiet_note", "enabled"):
        if key in entry:
            if not isinstance(entry[key], bool):
                raise ValueError(f"{key} must be true or false")
            changes[key] = entry[key]
    if "catch_up" in entry:
        if entry["catch_up"] not in ("post", "skip"):
            raise ValueError('catch_up must be "post" or "skip"')
        changes["catch_up"] = CatchUp(entry["catch_up"])
    if "rank" in entry:
        changes["rank"] = cmd.parse_rank(str(entry["rank"]))
    for key in ("created_by", "workspace_id"):
        if key in entry:
            changes[key] = str(entry[key])
    if existing is None:
        # A channel the file introduces is on; one that exists keeps its state, so a
        # `/papers digest off` (or a pause) survives the file being re-read at every start.
        changes.setdefault("enabled", True)
    return replace(base, **changes)


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [part for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return value
    raise ValueError("expected a list or a comma-separated string")

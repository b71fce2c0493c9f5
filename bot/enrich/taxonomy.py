"""The fixed topic taxonomy: loaded once from `taxonomy.toml`, validated, and looked up.

`taxonomy.toml` (shipped next to this module as package data) is the single source of the
topics: id, display name, aliases, tier (14 "core" topics every paper is tagged with, and
"extended" ones that refine them, each optionally naming its core parent), the weighted phrases
that are evidence for a topic, arXiv categories, and related topics; plus the vocabulary of the
"is this ML research at all" gate. It is parsed with tomllib and validated ONCE, at import, into
frozen objects; a bad file raises `TaxonomyError` naming the topic and the field.

Users name topics by id (`cv`), name (`Computer Vision`) or alias (`vision`); `resolve_topic`
accepts any of those, case-insensitively, tolerant of `&`/`and`, hyphens and a plural s.
The tagger that uses the phrases lives in `bot.enrich.tagger`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

from bot.core.models import Topic

CORE = "core"
EXTENDED = "extended"
STRENGTHS = ("strong", "normal", "weak")
"""Phrase strengths, strongest first; their weights are in the file's [weights] table."""

_TOPIC_FIELDS = frozenset({
    "id", "name", "tier", "parent", "catch_all", "aliases", "arxiv_categories", "related", *STRENGTHS,
})
_RESEARCH_FIELDS = frozenset({"ml_categories", "paper_hosts", "genre", "threshold", *STRENGTHS})
_ID = re.compile(r"^[a-z][a-z0-9]*$")


class TaxonomyError(ValueError):
    """The taxonomy file is malformed; the message names the topic and the field."""


@dataclass(frozen=True, slots=True)
class TopicEntry:
    """One topic with what the tagger needs beyond the public `Topic`."""

    topic: Topic
    core: bool
    parent: str | None  # core topic id an extended topic refines
    catch_all: bool  # the topic for research with no specific evidence ("Machine Learning")
    phrases: tuple[tuple[str, float], ...]  # (phrase, weight), as written in the file
    related: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ResearchVocabulary:
    """Evidence that a text is ML/AI research at all (the gate in front of the tagger)."""

    phrases: tuple[tuple[str, float], ...]  # ML/AI vocabulary with weights
    threshold: float  # evidence a text needs before it gets any topic
    genre: tuple[str, ...]  # how research is written about ("we propose", "this paper")
    paper_hosts: tuple[str, ...]  # hosts whose links point to papers ("arxiv.org")
    ml_categories: frozenset[str]  # arXiv categories that are ML/AI research by themselves


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """The whole validated file."""

    entries: tuple[TopicEntry, ...]
    weights: Mapping[str, float]
    research: ResearchVocabulary

    @property
    def topics(self) -> tuple[Topic, ...]:
        """The public topics, in file order."""
        return tuple(entry.topic for entry in self.entries)


# --- loading and validation ------------------------------------------------------------------


def _strings(value: object, where: str, field: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise TaxonomyError(f"taxonomy: {where}: field {field!r} must be a list of non-empty strings")
    return tuple(item.strip() for item in value)


def _text(table: Mapping[str, Any], field: str, where: str) -> str:
    value = table.get(field)
    if not isinstance(value, str) or not value.strip():
        raise TaxonomyError(f"taxonomy: {where}: field {field!r} must be a non-empty string")
    return value.strip()


def _weights(table: object) -> dict[str, float]:
    if not isinstance(table, dict) or set(table) != set(STRENGTHS):
        raise TaxonomyError(f"taxonomy: [weights] must give exactly {', '.join(STRENGTHS)}")
    weights = {}
    for strength in STRENGTHS:
        value = table[strength]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise TaxonomyError(f"taxonomy: [weights]: field {strength!r} must be a positive number")
        weights[strength] = float(value)
    return weights


def _phrases(table: Mapping[str, Any], where: str, weights: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    phrases: dict[str, float] = {}
    for strength in STRENGTHS:
        for phrase in _strings(table.get(strength, []), where, strength):
            if phrase.lower() in phrases:
                raise TaxonomyError(f"taxonomy: {where}: field {strength!r}: phrase {phrase!r} is listed twice")
            phrases[phrase.lower()] = weights[strength]
    return tuple(phrases.items())


def _entry(raw: object, position: int, weights: Mapping[str, float]) -> TopicEntry:
    where = f"topic #{position + 1}"
    if not isinstance(raw, dict):
        raise TaxonomyError(f"taxonomy: {where} must be a table")
    topic_id = _text(raw, "id", where)
    where = f"topic {topic_id!r}"
    if not _ID.match(topic_id):
        raise TaxonomyError(f"taxonomy: {where}: field 'id' must be lowercase letters and digits")
    unknown = sorted(set(raw) - _TOPIC_FIELDS)
    if unknown:
        raise TaxonomyError(f"taxonomy: {where}: unknown field {unknown[0]!r}")
    tier = _text(raw, "tier", where)
    if tier not in (CORE, EXTENDED):
        raise TaxonomyError(f"taxonomy: {where}: field 'tier' must be {CORE!r} or {EXTENDED!r}")
    parent = raw.get("parent")
    if parent is not None and (tier == CORE or not isinstance(parent, str)):
        raise TaxonomyError(f"taxonomy: {where}: field 'parent' is a core topic id, for extended topics only")
    catch_all = raw.get("catch_all", False)
    if not isinstance(catch_all, bool):
        raise TaxonomyError(f"taxonomy: {where}: field 'catch_all' must be true or false")
    phrases = _phrases(raw, where, weights)
    if not phrases:
        raise TaxonomyError(f"taxonomy: {where}: needs at least one phrase (strong, normal or weak)")
    topic = Topic(
        id=topic_id,
        name=_text(raw, "name", where),
        aliases=_strings(raw.get("aliases", []), where, "aliases"),
        arxiv_categories=_strings(raw.get("arxiv_categories", []), where, "arxiv_categories"),
        keywords=tuple(phrase for phrase, _ in phrases),
    )
    related = _strings(raw.get("related", []), where, "related")
    return TopicEntry(topic, tier == CORE, parent, catch_all, phrases, related)


def _research(raw: object, weights: Mapping[str, float]) -> ResearchVocabulary:
    where = "[research]"
    if not isinstance(raw, dict):
        raise TaxonomyError(f"taxonomy: {where} table is missing")
    unknown = sorted(set(raw) - _RESEARCH_FIELDS)
    if unknown:
        raise TaxonomyError(f"taxonomy: {where}: unknown field {unknown[0]!r}")
    threshold = raw.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold <= 0:
        raise TaxonomyError(f"taxonomy: {where}: field 'threshold' must be a positive number")
    phrases = _phrases(raw, where, weights)
    if not phrases:
        raise TaxonomyError(f"taxonomy: {where}: needs ML/AI phrases (strong, normal or weak)")
    return ResearchVocabulary(
        phrases=phrases,
        threshold=float(threshold),
        genre=tuple(p.lower() for p in _strings(raw.get("genre", []), where, "genre")),
        paper_hosts=tuple(h.lower() for h in _strings(raw.get("paper_hosts", []), where, "paper_hosts")),
        ml_categories=frozenset(_strings(raw.get("ml_categories", []), where, "ml_categories")),
    )


def _check_links(entries: Sequence[TopicEntry]) -> None:
    """Ids, names and labels are unique; parents and related topics exist; one catch-all."""
    by_id: dict[str, TopicEntry] = {}
    names: set[str] = set()
    for entry in entries:
        topic = entry.topic
        if topic.id in by_id:
            raise TaxonomyError(f"taxonomy: topic {topic.id!r}: field 'id' is used twice")
        if topic.name in names:
            raise TaxonomyError(f"taxonomy: topic {topic.id!r}: field 'name' {topic.name!r} is used twice")
        by_id[topic.id] = entry
        names.add(topic.name)
    for entry in entries:
        where = f"topic {entry.topic.id!r}"
        if entry.parent is not None and (entry.parent not in by_id or not by_id[entry.parent].core):
            raise TaxonomyError(f"taxonomy: {where}: field 'parent': {entry.parent!r} is not a core topic")
        for other in entry.related:
            if other not in by_id or other == entry.topic.id:
                raise TaxonomyError(f"taxonomy: {where}: field 'related': {other!r} is not another topic")
    if sum(entry.catch_all for entry in entries) != 1:
        raise TaxonomyError("taxonomy: exactly one topic must have catch_all = true")
    owner: dict[str, str] = {}
    for entry in entries:
        topic = entry.topic
        for field, labels in (("id", (topic.id,)), ("name", (topic.name,)), ("aliases", topic.aliases)):
            for label in labels:
                for key in {_norm_label(label), _singular(_norm_label(label))}:
                    if owner.setdefault(key, topic.id) != topic.id:
                        raise TaxonomyError(
                            f"taxonomy: topic {topic.id!r}: field {field!r}: {label!r} already names "
                            f"topic {owner[key]!r}"
                        )


def load_taxonomy(text: str) -> Taxonomy:
    """Parse and validate a taxonomy file's text; raises `TaxonomyError` naming what is wrong."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TaxonomyError(f"taxonomy: not valid TOML: {error}") from error
    unknown = sorted(set(raw) - {"weights", "research", "topic"})
    if unknown:
        raise TaxonomyError(f"taxonomy: unknown top-level table {unknown[0]!r}")
    weights = _weights(raw.get("weights"))
    topics = raw.get("topic")
    if not isinstance(topics, list) or not topics:
        raise TaxonomyError("taxonomy: no [[topic]] tables")
    entries = tuple(_entry(item, position, weights) for position, item in enumerate(topics))
    _check_links(entries)
    return Taxonomy(entries, MappingProxyType(weights), _research(raw.get("research"), weights))


def _read_shipped() -> str:
    return resources.files("bot.enrich").joinpath("taxonomy.toml").read_text(encoding="utf-8")


# --- resolving what users type -------------------------------------------------------------


def _norm_label(text: str) -> str:
    """Lowercase, `&` -> `and`, hyphens/underscores/slashes -> spaces, squeeze spaces."""
    text = text.strip().lower().replace("&", " and ")
    text = re.sub(r"[-_/.,]+", " ", text)
    return " ".join(text.split())


def _singular(label: str) -> str:
    """Drop one trailing plural s from the last word (`llms` -> `llm`, `agents` -> `agent`)."""
    if len(label) > 3 and label.endswith("s") and not label.endswith(("ss", "us", "is")):
        return label[:-1]
    return label


SHIPPED: Taxonomy = load_taxonomy(_read_shipped())
"""The taxonomy shipped with the bot, validated at import."""

TAXONOMY: tuple[Topic, ...] = SHIPPED.topics
"""Every topic, in display order: the 14 core topics first, then the extended ones; the
catch-all `ml` (Machine Learning) last."""

_BY_ID: Mapping[str, Topic] = MappingProxyType({topic.id: topic for topic in TAXONOMY})
_BY_NAME: Mapping[str, Topic] = MappingProxyType({topic.name: topic for topic in TAXONOMY})
_RELATED: Mapping[str, tuple[str, ...]] = MappingProxyType({e.topic.id: e.related for e in SHIPPED.entries})
# Loading checked that no two topics claim the same label, so the order here does not matter.
_LOOKUP: Mapping[str, Topic] = MappingProxyType({
    key: topic
    for topic in TAXONOMY
    for label in (topic.id, topic.name, *topic.aliases)
    for key in (_norm_label(label), _singular(_norm_label(label)))
})


def resolve_topic(text: str) -> Topic | None:
    """A topic from its id, name or alias (`cv`, `Computer Vision`, `vision`), or None.

    Case-insensitive; `&` and `and` are the same; hyphens count as spaces; a plural s is ignored.
    """
    if not text or len(text) > 100:
        return None
    label = _norm_label(text)
    return _LOOKUP.get(label) or _LOOKUP.get(_singular(label)) or _LOOKUP.get(label.replace(" ", ""))


def topic_by_id(topic_id: str) -> Topic:
    """The topic with this id; raises KeyError for an unknown id."""
    return _BY_ID[topic_id]


def topic_name(topic_id: str) -> str:
    """The display name of a topic id ("cv" -> "Computer Vision"); an id no longer in the
    taxonomy is shown as it is rather than failing a whole reply."""
    topic = _BY_ID.get(topic_id)
    return topic.name if topic is not None else topic_id


def topic_names(topic_ids_: Sequence[str]) -> tuple[str, ...]:
    """Display names for topic ids, in order (see `topic_name`)."""
    return tuple(topic_name(topic_id) for topic_id in topic_ids_)


def topic_ids(names: Sequence[str]) -> tuple[str, ...]:
    """Topic ids for topic names (unknown names are skipped)."""
    return tuple(_BY_NAME[name].id for name in names if name in _BY_NAME)


def related_topics(topic_id: str) -> tuple[Topic, ...]:
    """Neighbouring topics to suggest when a topic search finds nothing (unknown id: none)."""
    return tuple(_BY_ID[other] for other in _RELATED.get(topic_id, ()))


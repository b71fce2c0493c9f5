"""The taxonomy data file: shipped as package data, loaded once into frozen objects, validated
with errors that name the topic and the field."""

from __future__ import annotations

import dataclasses
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from bench.bench_tagging import CORE_NAMES, WEAK_LABELS
from bot.enrich import taxonomy
from bot.enrich.taxonomy import SHIPPED, TAXONOMY, TaxonomyError, load_taxonomy, topic_by_id

ROOT = Path(__file__).resolve().parents[3]

# A valid file, small enough to break one field at a time.
MINIMAL = """
[weights]
strong = 3.0
normal = 1.5
weak = 0.6

[research]
threshold = 3.0
strong = ["neural network"]

[[topic]]
id = "cv"
name = "Computer Vision"
tier = "core"
aliases = ["vision"]
related = ["ml"]
strong = ["image segmentation"]

[[topic]]
id = "health"
name = "Healthcare"
tier = "extended"
parent = "cv"
normal = ["patients"]

[[topic]]
id = "ml"
name = "Machine Learning"
tier = "extended"
catch_all = true
weak = ["machine learning"]
"""


def test_the_minimal_file_is_valid() -> None:
    loaded = load_taxonomy(MINIMAL)
    assert [entry.topic.id for entry in loaded.entries] == ["cv", "health", "ml"]
    health = loaded.entries[1]
    assert not health.core and health.parent == "cv"
    assert health.phrases == (("patients", 1.5),)
    assert loaded.research.threshold == 3.0


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('name = "Healthcare"\n', "", "topic 'health': field 'name'"),
        ('tier = "core"', 'tier = "main"', "topic 'cv': field 'tier'"),
        ('parent = "cv"', 'parent = "nope"', "topic 'health': field 'parent'"),
        ('tier = "core"\n', 'tier = "core"\nparent = "ml"\n', "topic 'cv': field 'parent'"),
        ('aliases = ["vision"]', 'aliases = ["vision", 3]', "topic 'cv': field 'aliases'"),
        # The second topic to claim a label is the one reported, with the first one named.
        ('aliases = ["vision"]', 'aliases = ["healthcare"]', "topic 'health': field 'name': 'Healthcare' already names topic 'cv'"),
        ('related = ["ml"]', 'related = ["cv"]', "topic 'cv': field 'related'"),
        ('related = ["ml"]', 'related = ["nope"]', "topic 'cv': field 'related'"),
        ('normal = ["patients"]', 'normal = ["patients"]\ncolour = "red"', "topic 'health': unknown field 'colour'"),
        ('id = "health"', 'id = "cv"', "topic 'cv': field 'id' is used twice"),
        ('id = "health"', 'id = "Health Care"', "topic 'Health Care': field 'id'"),
        ('name = "Healthcare"', 'name = "Computer Vision"', "topic 'health': field 'name'"),
        ('normal = ["patients"]', 'normal = []', "topic 'health': needs at least one phrase"),
        ('strong = ["image segmentation"]', 'strong = ["image segmentation"]\nweak = ["Image Segmentation"]', "topic 'cv': field 'weak': phrase 'Image Segmentation' is listed twice"),
        ("catch_all = true\n", "", "exactly one topic must have catch_all"),
        ("weak = 0.6\n", "weak = -1\n", "[weights]: field 'weak'"),
        ("threshold = 3.0\n", "", "[research]: field 'threshold'"),
        ("[[topic]]\nid = \"cv\"", "[[topic]]\nid = [\"cv\"]", "topic #1: field 'id'"),
        ("strong = 3.0", "strong = 3.0\n[[[", "not valid TOML"),
    ],
)
def test_validation_errors_name_the_topic_and_the_field(old: str, new: str, message: str) -> None:
    assert old in MINIMAL
    with pytest.raises(TaxonomyError) as raised:
        load_taxonomy(MINIMAL.replace(old, new, 1))
    assert message in str(raised.value)


def test_the_shipped_file_is_package_data_and_is_what_is_loaded() -> None:
    shipped = resources.files("bot.enrich").joinpath("taxonomy.toml")
    assert shipped.is_file()
    assert load_taxonomy(shipped.read_text(encoding="utf-8")) == SHIPPED
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "enrich/*.toml" in pyproject["tool"]["setuptools"]["package-data"]["bot"]


def test_fourteen_core_topics_then_extended_ones_with_core_parents() -> None:
    core = [entry.topic.name for entry in SHIPPED.entries if entry.core]
    assert tuple(core) == CORE_NAMES
    extended = [entry for entry in SHIPPED.entries if not entry.core]
    assert len(extended) == 16
    assert [entry.topic.id for entry in extended if entry.catch_all] == ["ml"]
    core_ids = {entry.topic.id for entry in SHIPPED.entries if entry.core}
    assert all(entry.parent in core_ids for entry in extended if entry.parent)
    assert topic_by_id("agents") in TAXONOMY and SHIPPED.entries[-1].topic.id == "ml"


def test_loaded_objects_are_immutable_and_loading_has_no_side_effects() -> None:
    entry = SHIPPED.entries[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.topic.name = "Renamed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.core = False  # type: ignore[misc]
    with pytest.raises(TypeError):
        SHIPPED.weights["strong"] = 1.0  # type: ignore[index]
    assert isinstance(TAXONOMY, tuple) and isinstance(entry.phrases, tuple)
    before = (TAXONOMY, taxonomy.resolve_topic("vision"))
    other = load_taxonomy(MINIMAL)  # loading another file changes nothing that is shipped
    assert other != SHIPPED and (TAXONOMY, taxonomy.resolve_topic("vision")) == before
    assert taxonomy.resolve_topic("healthcare") == topic_by_id("health")


def test_weak_label_categories_are_the_taxonomys_own() -> None:
    for category, topic_ids in WEAK_LABELS.items():
        for topic_id in topic_ids:
            assert category in topic_by_id(topic_id).arxiv_categories, (category, topic_id)

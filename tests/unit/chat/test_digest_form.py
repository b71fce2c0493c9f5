"""The digest settings form (bot.chat.forms, BotService.digest_form): the form of a channel,
every bad field reported at once in the command's own words, and a saved form doing exactly what
the same `/papers digest on` text does, with the same permission check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import time
from pathlib import Path

import pytest

from bot.app.runtime import Runtime, build_runtime
from bot.app.samples import SAMPLE_NOW
from bot.chat.forms import parse_digest_form, time_zone_choices
from bot.core.clock import FakeClock
from bot.core.errors import FormErrors
from bot.core.forms import DIGEST_FIELDS, DigestFormValues
from bot.core.models import Actor, CatchUp, Place, SourceKind
from bot.settings import Settings

ADA = Actor("slack", "UADA")
GENERAL = Place("slack", "CGENERAL", workspace_id="T1")
GOOD = DigestFormValues(
    time="08:15", timezone="Europe/Berlin", days=("0", "2", "4"), topics=("llm", "rl"),
    max_items="12", sources=("arxiv", "hf"), catch_up="skip",
)


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings(data_dir=str(tmp_path), summarize_background=False, digest_default_time="07:30", digest_default_tz="Asia/Tokyo")
    started = await build_runtime(settings, clock=FakeClock(SAMPLE_NOW), offline=True)
    try:
        yield started
    finally:
        await started.close()


def test_a_good_form_is_the_digest_on_command() -> None:
    command = parse_digest_form(GOOD)
    assert command.at == time(8, 15) and command.timezone == "Europe/Berlin"
    assert command.days == (0, 2, 4) and command.topics == ("llm", "rl") and command.max_items == 12
    assert command.sources == (SourceKind.ARXIV, SourceKind.HF) and command.catch_up == "skip"
    # Empty topics and sources mean all of them.
    everything = parse_digest_form(replace(GOOD, topics=(), sources=()))
    assert everything.topics == () and everything.sources == ()


def test_every_bad_field_is_named_at_once() -> None:
    bad = DigestFormValues(time="25:00", timezone="Mars/Olympus", days=(), topics=("quantum-knitting",), max_items="500", sources=("myspace",), catch_up="")
    with pytest.raises(FormErrors) as caught:
        parse_digest_form(bad)
    errors = caught.value.fields
    assert set(errors) == set(DIGEST_FIELDS)
    assert "'25:00' is not a time of day" in errors["time"]
    assert "is not a time zone" in errors["timezone"]
    assert errors["days"] == "choose at least one day, e.g. Monday to Friday"
    assert "is not a topic" in errors["topics"]
    assert errors["max_items"] == "500 is out of range; give a number from 1 to 50"
    assert "is not a source" in errors["sources"]
    assert "post or skip" in errors["catch_up"]
    with pytest.raises(FormErrors) as empty:
        parse_digest_form(DigestFormValues())
    assert set(empty.value.fields) == {"time", "timezone", "days", "max_items", "catch_up"}
    with pytest.raises(FormErrors) as odd:
        parse_digest_form(replace(GOOD, days=("0", "9"), max_items="ten"))
    assert set(odd.value.fields) == {"days", "max_items"}


def test_time_zones_are_searched_by_any_part_of_their_name() -> None:
    assert [c.value for c in time_zone_choices("new york")] == ["America/New_York"]
    assert time_zone_choices("new york")[0].label == "America/New York"
    assert time_zone_choices("")[0].value == "UTC" and len(time_zone_choices("")) == 100
    assert time_zone_choices("berlin")[0].value == "Europe/Berlin"
    assert time_zone_choices("lon")[0].value in ("Europe/London", "Arctic/Longyearbyen")
    assert "Europe/London" in [c.value for c in time_zone_choices("lon")[:3]]
    assert time_zone_choices("no such place") == []


async def test_the_form_of_a_new_and_of_an_existing_digest(runtime: Runtime) -> None:
    service = runtime.service
    new = service.digest_form(ADA, GENERAL)
    assert new.is_new and new.can_change and new.denied == ""
    assert (new.settings.time_of_day, new.settings.timezone) == (time(7, 30), "Asia/Tokyo")  # the deployment's defaults
    assert ("Large Language Models (llm)", "llm") in [(c.label, c.value) for c in new.topics]
    assert [c.value for c in new.sources] == ["arxiv", "hf", "reddit", "feed"] and new.max_items == 50
    await service.handle_command("digest on 09:00 tz:Europe/Berlin topics:llm", ADA, GENERAL)
    current = service.digest_form(ADA, GENERAL)
    assert not current.is_new and current.settings.topics == ("llm",) and current.settings.timezone == "Europe/Berlin"
    guest = Actor("slack", "UGUEST", can_manage=False)
    denied = service.digest_form(guest, GENERAL)
    assert not denied.can_change and "manage this channel" in denied.denied
    assert service.digest_form(guest, Place("slack", "DUGUEST", is_dm=True)).can_change  # their own DM


async def test_saving_the_form_is_the_same_as_typing_the_command(runtime: Runtime) -> None:
    service = runtime.service
    typed = Place("slack", "CTYPED")
    text = "digest on 08:15 tz:Europe/Berlin days:mon,wed,fri topics:llm,rl max:12 sources:arxiv,hf catchup:skip"
    assert not (await service.handle_command(text, ADA, typed)).is_error
    saved = await service.handle_command(parse_digest_form(GOOD), ADA, GENERAL)
    assert not saved.is_error and "Daily digest is on" in saved.text
    by_text, by_form = runtime.store.channels.get("slack:CTYPED"), runtime.store.channels.get("slack:CGENERAL")
    assert by_text is not None and by_form is not None
    assert replace(by_form, channel_id="CTYPED", workspace_id="") == by_text
    assert by_form.catch_up == CatchUp.SKIP
    # The same permission check as the command.
    refused = await service.handle_command(parse_digest_form(GOOD), Actor("slack", "UGUEST", can_manage=False), GENERAL)
    assert refused.is_error and "manage this channel" in refused.text

"""Pure Block Kit views: the App Home tab (a `bot.core.home.Home`), the digest settings modal
(a `bot.core.forms.DigestForm`), the personal digest modal (filled from a `digest me on`
command), and a paper's details in a modal; plus reading the modals' submitted values back and
placing the core's field errors beside their fields.

Views hold at most `MAX_VIEW_BLOCKS` (100) blocks; text is escaped with render.py's `inert`
like every message. Buttons carry what to do in their value: a Home action's command and the
channel it is about as Slack names it (never a workspace: the request's workspace is used).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import time

from adapters.slack.render import (
    MAX_BUTTON_VALUE,
    context,
    fit,
    header_blocks,
    item_blocks,
    mrkdwn,
    plain,
    render_reply,
    section,
)
from adapters.slack.types import (
    Block,
    ButtonElement,
    CheckboxesElement,
    HomeView,
    InputBlock,
    InputElement,
    ModalView,
    MultiStaticSelectElement,
    NumberInputElement,
    OptionObject,
    object_or_empty,
    objects,
)
from bot.chat.grammar import MAX_DIGEST_ITEMS, DigestMeCommand
from bot.chat.view import item_view
from bot.core.errors import FormErrors
from bot.core.forms import Choice, DigestForm, DigestFormValues, PersonalDigestFormValues
from bot.core.home import Home, HomeAction, HomeActionKind, HomeEntry
from bot.core.ids import split_scoped_id
from bot.core.models import CatchUp, Reply

MAX_VIEW_BLOCKS = 100
MAX_TITLE = 24  # a view's title
MAX_OPTIONS = 100  # a select's options
MAX_PRIVATE_METADATA = 3000

HOME_RUN_ACTION = "paperbot_home_run"  # value: {"c": command, "ch": channel or ""}
HOME_EDIT_ACTION = "paperbot_home_edit"  # value: {"ch": channel}
HOME_DETAILS_ACTION = "paperbot_home_details"  # action_id prefix; value: paper id
HOME_PERSONAL_ACTION = "paperbot_home_personal"  # value: {"c": "digest me on ..."} (current settings)
PERSONAL_MODAL = "paperbot_personal_digest"  # the personal digest modal's callback_id
DIGEST_MODAL = "paperbot_digest_settings"  # the modal's callback_id
TIME_ZONE_ACTION = "paperbot_time_zone"  # the time zone select (options loaded as one types)
FIELD_ACTION = "value"  # every other input's action_id (its block_id names the field)

DEFAULT_PERSONAL_TIME = time(8, 0)  # the personal digest's own default (bot.digests.personal)
DEFAULT_PERSONAL_MAX = 10

_CHANNEL_ID = re.compile(r"^[CDG][A-Z0-9]{2,30}$")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def channel_ref(channel_id: str) -> str:
    """A channel as Slack shows it (`<#C123>`), from the core's id (maybe `T1:C123`)."""
    local = split_scoped_id(channel_id)[1]
    return f"<#{local}>" if _CHANNEL_ID.match(local) else fit(local, 80, oneline=True)


# --- the Home tab ------------------------------------------------------------------------------


def _action_button(action: HomeAction, index: int) -> ButtonElement:
    channel = split_scoped_id(action.channel_id)[1]
    if action.kind is HomeActionKind.EDIT_DIGEST:
        action_id, value = f"{HOME_EDIT_ACTION}_{index}", json.dumps({"ch": channel})
    elif action.kind is HomeActionKind.PAPER:
        # "e": an entry's button, apart from the numbered papers' Details (_1.._3) in one view.
        action_id, value = f"{HOME_DETAILS_ACTION}_e{index}", action.paper_id
    elif action.kind is HomeActionKind.EDIT_PERSONAL_DIGEST:
        action_id, value = f"{HOME_PERSONAL_ACTION}_{index}", json.dumps({"c": action.command})
    else:
        action_id, value = f"{HOME_RUN_ACTION}_{index}", json.dumps({"c": action.command, "ch": channel})
    element: ButtonElement = {"type": "button", "text": plain(action.label[:75]), "action_id": action_id, "value": value[:MAX_BUTTON_VALUE]}
    if action.danger:
        element["style"] = "danger"
        element["confirm"] = {
            "title": plain(f"{action.label}?"[:100]),
            "text": plain(f"{action.label}: are you sure?"),
            "confirm": plain(action.label[:30]),
            "deny": plain("Keep it"),
        }
    return element


def _entry_blocks(entry: HomeEntry, first_index: int) -> list[Block]:
    text = fit(entry.text, 1000)
    if entry.channel_id:
        text = f"{channel_ref(entry.channel_id)} · {text}"
    if entry.detail:
        text += "\n" + fit(entry.detail, 1000)
    buttons = [_action_button(a, first_index + i) for i, a in enumerate(entry.actions)]
    if len(buttons) == 1:
        return [section(text, accessory=buttons[0])]
    blocks: list[Block] = [section(text)]
    if buttons:
        blocks.append({"type": "actions", "elements": buttons[:25]})
    return blocks


def home_view(home: Home, *, notice: str = "") -> HomeView:
    """The Home tab of one person (`notice`: the outcome of what they just did, on top).

    Within MAX_VIEW_BLOCKS: a section that does not fit whole shows the papers and entries that
    do, then "…and N more: <see_all>"; the sections after it give way to one closing line."""
    blocks: list[Block] = []
    if notice:
        blocks.append(section(":information_source: " + fit(notice, 2000)))
    index = 0
    for number, home_section in enumerate(home.sections):
        head: list[Block] = [{"type": "divider"}] if number else []
        head += header_blocks(home_section.title)
        # Each paper and each entry is a unit: shown whole or not at all.
        units = [
            item_blocks(item_view(item, position), details=False, details_action=HOME_DETAILS_ACTION)
            for position, item in enumerate(home_section.items, start=1)
        ]
        for entry in home_section.entries:
            units.append(_entry_blocks(entry, index))
            index += len(entry.actions)
        tail: list[Block] = []
        if not home_section.entries and not home_section.items and home_section.empty:
            tail.append(context([fit(home_section.empty, 1000)]))
        if home_section.note:
            tail.append(context([fit(home_section.note, 1000)]))
        last = number == len(home.sections) - 1
        room = MAX_VIEW_BLOCKS - len(blocks) - (0 if last else 1)  # one kept for the closing line
        whole = len(head) + sum(len(u) for u in units) + len(tail)
        if whole <= room:
            blocks += head + [block for unit in units for block in unit] + tail
            continue
        shown = _units_that_fit(units, room - len(head) - 1)  # one for "…and N more"
        if shown:
            blocks += head + [block for unit in units[:shown] for block in unit]
            more = len(units) - shown
            where = f": {home_section.see_all}" if home_section.see_all else ""
            blocks.append(context([fit(f"…and {more} more{where}", 1000)]))
        if not last or not shown:
            blocks.append(context(["…more than a Home tab can show; see /papers subscriptions, /papers saved and /papers digest show."]))
        break
    return {"type": "home", "blocks": blocks or [section("Nothing here yet.")]}


def _units_that_fit(units: list[list[Block]], room: int) -> int:
    """How many of the units, from the first, fit in `room` blocks."""
    used = shown = 0
    for unit in units:
        if used + len(unit) > room:
            break
        used += len(unit)
        shown += 1
    return shown


# --- a paper in a modal ---------------------------------------------------------------------------


def paper_modal(reply: Reply) -> ModalView:
    """A paper's details (a PaperCommand's reply) in a modal."""
    blocks: list[Block] = [block for part in render_reply(reply, details_buttons=False) for block in part["blocks"]]
    return {"type": "modal", "title": plain("Paper"), "close": plain("Close"), "blocks": blocks[:MAX_VIEW_BLOCKS]}


def message_modal(title: str, text: str) -> ModalView:
    """A modal that only says something (e.g. why the settings cannot be changed)."""
    return {"type": "modal", "title": plain(title[:MAX_TITLE]), "close": plain("Close"), "blocks": [section(fit(text, 2900))]}


# --- the digest settings modal ------------------------------------------------------------------


def _option(choice: Choice) -> OptionObject:
    return {"text": plain(fit(choice.label, 75, oneline=True)), "value": choice.value[:150]}


def time_zone_options(choices: list[Choice]) -> list[OptionObject]:
    """The time zone select's options (what the options request answers)."""
    return [_option(c) for c in choices[:MAX_OPTIONS]]


def _input(field: str, label: str, element: InputElement, *, optional: bool = False, hint: str = "") -> InputBlock:
    block: InputBlock = {"type": "input", "block_id": field, "label": plain(label), "element": element, "optional": optional}
    if hint:
        block["hint"] = plain(hint)
    return block


def digest_modal(form: DigestForm, channel_id: str) -> ModalView:
    """The settings modal of one channel's digest, filled with its current values."""
    settings = form.settings
    days = [Choice(name, str(number)) for number, name in enumerate(_DAYS)]
    topics = form.topics[:MAX_OPTIONS]
    chosen_topics = [_option(c) for c in topics if c.value in settings.topics]
    chosen_sources = [_option(c) for c in form.sources if c.value in {s.value for s in settings.sources}]
    catch_up = [Choice("Post the latest missed digest, marked delayed", CatchUp.POST.value), Choice("Skip it with a one-line note", CatchUp.SKIP.value)]
    zone = Choice(settings.timezone.replace("_", " "), settings.timezone)

    topic_select: MultiStaticSelectElement = {"type": "multi_static_select", "action_id": FIELD_ACTION, "placeholder": plain("All topics"), "options": [_option(c) for c in topics]}
    if chosen_topics:
        topic_select["initial_options"] = chosen_topics
    sources: CheckboxesElement = {"type": "checkboxes", "action_id": FIELD_ACTION, "options": [_option(c) for c in form.sources]}
    if chosen_sources:
        sources["initial_options"] = chosen_sources
    day_boxes: CheckboxesElement = {"type": "checkboxes", "action_id": FIELD_ACTION, "options": [_option(c) for c in days]}
    if settings.days:
        day_boxes["initial_options"] = [_option(c) for c in days if int(c.value) in settings.days]
    where = "your DMs" if channel_id.startswith("D") else channel_ref(channel_id)
    intro = f"The daily digest of {where}." + (" It has none yet: saving switches it on." if form.is_new else "")
    blocks: list[Block] = [
        {"type": "section", "text": mrkdwn(intro)},
        _input("time", "Time of day", {"type": "timepicker", "action_id": FIELD_ACTION, "initial_time": settings.time_of_day.strftime("%H:%M")}),
        _input("timezone", "Time zone", {"type": "external_select", "action_id": TIME_ZONE_ACTION, "min_query_length": 1, "initial_option": _option(zone), "placeholder": plain("Type a city or region")}),
        _input("days", "Days", day_boxes),
        _input("topics", "Topics", topic_select, optional=True, hint="None chosen: papers of every topic."),
        _input("max_items", "Papers per digest", {"type": "number_input", "action_id": FIELD_ACTION, "is_decimal_allowed": False, "min_value": "1", "max_value": str(form.max_items), "initial_value": str(settings.max_items)}),
        _input("sources", "Sources", sources, optional=True, hint="None checked: every source."),
        _input("catch_up", "After paperbot was down", {"type": "radio_buttons", "action_id": FIELD_ACTION, "options": [_option(c) for c in catch_up], "initial_option": _option(next(c for c in catch_up if c.value == settings.catch_up.value))}),
    ]
    return {
        "type": "modal",
        "callback_id": DIGEST_MODAL,
        "title": plain("Digest settings"),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "private_metadata": json.dumps({"ch": channel_id})[:MAX_PRIVATE_METADATA],
        "blocks": blocks,
    }


def personal_digest_modal(current: DigestMeCommand) -> ModalView:
    """The form of a person's own DM digest, filled in from `current` (the `digest me on` that
    keeps its settings); saving it runs `digest me on` with what was submitted."""
    at = (current.at or DEFAULT_PERSONAL_TIME).strftime("%H:%M")
    zone_name = current.timezone or "UTC"
    zone = Choice(zone_name.replace("_", " "), zone_name)
    threshold: NumberInputElement = {
        "type": "number_input", "action_id": FIELD_ACTION, "is_decimal_allowed": True, "min_value": "0", "max_value": "1",
        "placeholder": plain("e.g. 0.5"),
    }
    if current.threshold:
        threshold["initial_value"] = f"{current.threshold:g}"
    blocks: list[Block] = [
        {"type": "section", "text": mrkdwn("Your own digest: the new papers ranked for you, by DM on arXiv announcement days.")},
        _input("time", "Time of day", {"type": "timepicker", "action_id": FIELD_ACTION, "initial_time": at}),
        _input("timezone", "Time zone", {"type": "external_select", "action_id": TIME_ZONE_ACTION, "min_query_length": 1, "initial_option": _option(zone), "placeholder": plain("Type a city or region")}),
        _input("max_items", "Papers per digest", {"type": "number_input", "action_id": FIELD_ACTION, "is_decimal_allowed": False, "min_value": "1", "max_value": str(MAX_DIGEST_ITEMS), "initial_value": str(current.max_items or DEFAULT_PERSONAL_MAX)}),
        _input("threshold", "Only papers at least this relevant (0-1)", threshold, optional=True, hint="Empty: no threshold, every digest lists its papers."),
    ]
    return {
        "type": "modal",
        "callback_id": PERSONAL_MODAL,
        "title": plain("Your daily digest"),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "blocks": blocks,
    }


def personal_digest_values(view: Mapping[str, object]) -> PersonalDigestFormValues:
    """What was submitted in the personal digest modal, as the core reads it."""
    element = _submitted(view)
    return PersonalDigestFormValues(
        time=str(element("time").get("selected_time") or ""),
        timezone=str(object_or_empty(element("timezone").get("selected_option")).get("value") or ""),
        max_items=str(element("max_items").get("value") or ""),
        threshold=str(element("threshold").get("value") or ""),
    )


def _submitted(view: Mapping[str, object]) -> Callable[[str], Mapping[str, object]]:
    """The submitted element of each field of a modal (`view.state.values`), by block id."""
    values = object_or_empty(object_or_empty(view.get("state")).get("values"))

    def element(field: str) -> Mapping[str, object]:
        block = object_or_empty(values.get(field))
        return object_or_empty(next(iter(block.values()), {}))

    return element


def modal_channel(view: Mapping[str, object]) -> str:
    """The channel (as Slack names it) a settings modal is about ("" when unreadable)."""
    try:
        data = json.loads(str(view.get("private_metadata") or "{}"))
    except ValueError:
        return ""
    channel = data.get("ch") if isinstance(data, dict) else None
    return channel if isinstance(channel, str) and _CHANNEL_ID.match(channel) else ""


def digest_values(view: Mapping[str, object]) -> DigestFormValues:
    """What was submitted in a settings modal (`view.state.values`), as the core reads it."""
    element = _submitted(view)

    def one(field: str) -> str:
        option = element(field).get("selected_option") or {}
        return str(option.get("value", "")) if isinstance(option, Mapping) else ""

    def many(field: str) -> tuple[str, ...]:
        return tuple(str(o.get("value", "")) for o in objects(element(field).get("selected_options") or []))

    return DigestFormValues(
        time=str(element("time").get("selected_time") or ""),
        timezone=one("timezone"),
        days=many("days"),
        topics=many("topics"),
        max_items=str(element("max_items").get("value") or ""),
        sources=many("sources"),
        catch_up=one("catch_up"),
    )


def field_errors(errors: FormErrors) -> dict[str, str]:
    """The core's field errors as Slack's `response_action: errors` (block id -> message)."""
    return {field: message[:150] for field, message in errors.fields.items()}

"""Slack's raw payloads as paperbot builds them: Block Kit objects, blocks, messages and views
as TypedDicts, kept apart from the code that builds them (as discord.py keeps `discord/types/`).

Only what paperbot sends is described, each with the `type` Slack dispatches on as a Literal, so
mypy checks every block a renderer builds against its kind; optional keys are `NotRequired`.
They are plain dicts at run time: what Slack receives (and the outbox stores) is unchanged.

What Slack sends us (bolt's request bodies) is not described here: those are read as
`Mapping[str, object]` through the small checking accessors at the end of this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, NotRequired, TypedDict

# --- composition objects -------------------------------------------------------------------------


class PlainText(TypedDict):
    """A plain_text object (headers, labels, button texts)."""

    type: Literal["plain_text"]
    text: str
    emoji: NotRequired[bool]


class MrkdwnText(TypedDict):
    """A mrkdwn text object; paperbot always sends it verbatim."""

    type: Literal["mrkdwn"]
    text: str
    verbatim: NotRequired[bool]


TextObject = PlainText | MrkdwnText


class ConfirmDialog(TypedDict):
    """The "are you sure?" dialog of a button that removes something."""

    title: PlainText
    text: PlainText
    confirm: PlainText
    deny: PlainText


class OptionObject(TypedDict):
    """One option of a select, checkboxes or radio buttons."""

    text: PlainText
    value: str


# --- elements ------------------------------------------------------------------------------------


class ButtonElement(TypedDict):
    """A button."""

    type: Literal["button"]
    text: PlainText
    action_id: str
    value: NotRequired[str]
    style: NotRequired[Literal["primary", "danger"]]
    confirm: NotRequired[ConfirmDialog]


class TimepickerElement(TypedDict):
    """A time picker (HH:MM)."""

    type: Literal["timepicker"]
    action_id: str
    initial_time: NotRequired[str]


class ExternalSelectElement(TypedDict):
    """A select whose options the app serves as one types (the time zone)."""

    type: Literal["external_select"]
    action_id: str
    min_query_length: NotRequired[int]
    initial_option: NotRequired[OptionObject]
    placeholder: NotRequired[PlainText]


class MultiStaticSelectElement(TypedDict):
    """A select of several options, given with it."""

    type: Literal["multi_static_select"]
    action_id: str
    options: list[OptionObject]
    initial_options: NotRequired[list[OptionObject]]
    placeholder: NotRequired[PlainText]


class CheckboxesElement(TypedDict):
    """Checkboxes."""

    type: Literal["checkboxes"]
    action_id: str
    options: list[OptionObject]
    initial_options: NotRequired[list[OptionObject]]


class RadioButtonsElement(TypedDict):
    """Radio buttons."""

    type: Literal["radio_buttons"]
    action_id: str
    options: list[OptionObject]
    initial_option: NotRequired[OptionObject]


class NumberInputElement(TypedDict):
    """A number input (Slack sends numbers as strings both ways)."""

    type: Literal["number_input"]
    action_id: str
    is_decimal_allowed: bool
    min_value: NotRequired[str]
    max_value: NotRequired[str]
    initial_value: NotRequired[str]
    placeholder: NotRequired[PlainText]


InputElement = (
    TimepickerElement
    | ExternalSelectElement
    | MultiStaticSelectElement
    | CheckboxesElement
    | RadioButtonsElement
    | NumberInputElement
)


# --- blocks --------------------------------------------------------------------------------------


class SectionBlock(TypedDict):
    """A section of mrkdwn, maybe with a button beside it."""

    type: Literal["section"]
    text: MrkdwnText
    accessory: NotRequired[ButtonElement]


class HeaderBlock(TypedDict):
    """A header (plain text, at most 150 characters)."""

    type: Literal["header"]
    text: PlainText


class ContextBlock(TypedDict):
    """Small print: at most 10 mrkdwn elements."""

    type: Literal["context"]
    elements: list[MrkdwnText]


class ActionsBlock(TypedDict):
    """A row of buttons."""

    type: Literal["actions"]
    elements: list[ButtonElement]
    block_id: NotRequired[str]  # rows of feedback buttons are found again by it


class DividerBlock(TypedDict):
    """A horizontal rule."""

    type: Literal["divider"]


class InputBlock(TypedDict):
    """One field of a modal; its block_id names the field."""

    type: Literal["input"]
    block_id: str
    label: PlainText
    element: InputElement
    optional: bool
    hint: NotRequired[PlainText]


Block = SectionBlock | HeaderBlock | ContextBlock | ActionsBlock | DividerBlock | InputBlock
"""Every block paperbot sends."""


# --- messages and views --------------------------------------------------------------------------


class Message(TypedDict):
    """One message (a rendered part): what chat.postMessage and a response_url take."""

    text: str  # the notification and accessibility fallback
    blocks: list[Block]
    thread_ts: NotRequired[str]  # a reply in that message's thread


class ResponseMessage(TypedDict):
    """A message sent through a command's response_url (bolt's `respond` keywords)."""

    response_type: NotRequired[Literal["ephemeral", "in_channel"]]  # absent: as the original
    replace_original: bool
    text: str
    blocks: list[dict[str, object]]


class HomeView(TypedDict):
    """The App Home tab of one person (views.publish)."""

    type: Literal["home"]
    blocks: list[Block]


class ModalView(TypedDict):
    """A modal (views.open)."""

    type: Literal["modal"]
    title: PlainText
    close: PlainText
    blocks: list[Block]
    submit: NotRequired[PlainText]
    callback_id: NotRequired[str]
    private_metadata: NotRequired[str]


View = HomeView | ModalView


# --- reading what Slack sends ----------------------------------------------------------------------

Body = dict[str, object]
"""A request body as bolt hands it to a listener (a slash command's form, an event, an
interaction). Read only through `.get`, `in` and the accessors below, which check each nested
value's type (an object, a list, a string) instead of trusting it."""


def mapping(body: Mapping[str, object], key: str) -> Mapping[str, object]:
    """The object `body[key]`, or an empty one when it is missing or empty. Anything else there
    (a string where Slack sends an object) is a request paperbot cannot read: TypeError, which
    the listeners answer with their apology."""
    value = body.get(key)
    if not value:
        return {}
    if isinstance(value, Mapping):
        return value
    raise TypeError(f"unreadable request: {key!r} is a {type(value).__name__}, not an object")


def object_or_empty(value: object) -> Mapping[str, object]:
    """`value` when it is an object, else an empty one (for what a person submitted, where a
    field left empty may come as null)."""
    return value if isinstance(value, Mapping) else {}


def text(body: Mapping[str, object], key: str) -> str:
    """`body[key]` as text: a string as it is, a number in figures, anything else ""."""
    value = body.get(key)
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""


def first_action(body: Mapping[str, object]) -> Mapping[str, object]:
    """The clicked element of a block_actions body (`actions[0]`); a body without one is a
    request paperbot cannot read (TypeError)."""
    actions = body.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], Mapping):
        return actions[0]
    raise TypeError("unreadable request: no clicked action in it")


def objects(value: object) -> list[Mapping[str, object]]:
    """The objects of a list (anything else in it, or a non-list, is left out)."""
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def as_dicts(items: Sequence[Mapping[str, object]]) -> list[dict[str, object]]:
    """Blocks or options as slack_sdk and bolt are typed to take them (plain dicts; the same
    JSON, since a TypedDict is a dict at run time)."""
    return [dict(item) for item in items]


def sdk_view(view: View) -> dict[str, object]:
    """A view as `views.publish` / `views.open` are typed to take it (the same JSON)."""
    return dict(view)

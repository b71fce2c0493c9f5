"""adapters/slack/app.py `_dispatch_acked`: a slash command already acked before bolt ran has
nowhere to put bolt's response, so anything bolt answered besides an empty 200 is logged."""

from __future__ import annotations

import logging
from typing import cast

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from adapters.slack.app import _dispatch_acked


class AnsweringApp:
    """Stands in for bolt's AsyncApp: answers every dispatch with one fixed response."""

    def __init__(self, response: BoltResponse) -> None:
        self.response = response
        self.dispatched: list[AsyncBoltRequest] = []

    async def async_dispatch(self, request: AsyncBoltRequest) -> BoltResponse:
        self.dispatched.append(request)
        return self.response


@pytest.mark.parametrize(
    ("status", "body", "logged"),
    [(200, "", False), (200, "Please reinstall the app", True), (401, "", True)],
)
async def test_only_a_response_that_reached_nobody_is_logged(
    status: int, body: str, logged: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app = AnsweringApp(BoltResponse(status=status, body=body))
    request = AsyncBoltRequest(body="command=%2Fpapers&text=help", mode="socket_mode")
    with caplog.at_level(logging.WARNING, logger="adapters.slack.app"):
        await _dispatch_acked(cast(AsyncApp, app), request)
    assert app.dispatched == [request]
    warnings = [r.getMessage() for r in caplog.records if "already acked" in r.getMessage()]
    assert bool(warnings) is logged
    if logged:
        assert str(status) in warnings[0] and body in warnings[0]

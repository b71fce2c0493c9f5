"""The web site in a real browser: `paperbot run --offline` as a user starts it (a subprocess
on a free port), driven by headless Chromium (Debian's package, through Playwright).

Opens today's page, switches to another day, opens "Read more", follows a topic, searches,
checks that a hostile paper's markup stays text with no script run and that a phone-width
screen needs no sideways scrolling, and saves a screenshot of today's page to
docs/screenshot.png (shown in the README).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.store import Store
from tests.support.factories import make_paper
from tests.support.processes import free_port

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOT = REPO / "docs" / "screenshot.png"
HOSTILE_TITLE = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> "><b>Hostile</b> title'

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (.ci/run installs it)"),
]


def _wait_ready(base: str, process: subprocess.Popen[str], log: list[str], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("the site never became ready:\n" + "".join(log)[-3000:])


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    port = free_port()
    keep = ("PATH", "HOME", "LANG", "TMPDIR", "LD_PRELOAD", "FAKETIME", "FAKETIME_NO_CACHE", "TZ")
    env = {k: v for k, v in os.environ.items() if k in keep} | {
        "PYTHONPATH": str(REPO), "PAPERBOT_DATA_DIR": str(tmp_path), "HTTP_PORT": str(port),
        "LOG_LEVEL": "info", "SUMMARIZE_BACKGROUND": "false",
    }
    # stdin stays open: the console adapter would end the run at the end of its input.
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--offline"], cwd=tmp_path, env=env,
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    log: list[str] = []
    assert process.stderr is not None
    threading.Thread(target=lambda: log.extend(process.stderr or []), daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, process, log)
        yield base, tmp_path / "paperbot.db", log
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, "".join(log)[-3000:]
    assert sum(f"web site at {base}/" in line for line in log) == 1  # the URL is logged once


def _browser_env() -> dict[str, str]:
    # Chromium runs on the real clock even when the suite runs under libfaketime.
    return {k: v for k, v in os.environ.items() if not k.startswith(("LD_PRELOAD", "FAKETIME", "DONT_FAKE"))}


def test_the_site_in_headless_chromium(site: tuple[str, Path, list[str]]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, database, _ = site
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, env=_browser_env()
        )
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 1300})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))

            # Today's page: the samples' last announcement day, with tabs for seven days.
            response = page.goto(f"{base}/")
            assert response is not None and response.status == 200
            assert "script-src" not in response.headers["content-security-policy"]
            expect(page.locator("h1")).to_contain_text("Today: Thursday 11 June 2026")
            expect(page.locator("nav.days li")).to_have_count(7)
            assert page.locator("article.paper").count() == 50  # the first page of the day's 263
            expect(page.locator(".status").first).to_contain_text("papers announced today")
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))

            # "Read more" opens Summary / Methodology / ... in place, without JavaScript.
            first = page.locator("article.paper").first
            details = first.locator("details")
            assert details.get_attribute("open") is None
            first.locator("summary").click()
            assert details.get_attribute("open") is not None
            expect(details.locator("h4").first).to_be_visible()

            # Another day.
            page.get_by_role("link", name="Wed 10 Jun").click()
            page.wait_for_url(f"{base}/day/2026-06-10")
            expect(page.locator("h1")).to_have_text("Wednesday 10 June 2026")
            assert page.locator("article.paper").count() > 0

            # A topic, from a paper's tag.
            tag = page.locator("ul.tags a").first
            name = tag.inner_text()
            tag.click()
            page.wait_for_url(f"{base}/topic/**")
            expect(page.locator("h1")).to_have_text(name)
            assert page.locator("article.paper").count() > 0

            # Search, with the chat's grammar.
            page.fill("#q", "diffusion since:7d")
            page.press("#q", "Enter")
            page.wait_for_url(f"{base}/search?q=**")
            expect(page.locator("h1")).to_contain_text("papers for “diffusion” · since 7d")
            assert page.locator("article.paper").count() > 0

            # A hostile paper announced "today" (the samples' day), written as an ingest would.
            store = Store.open(str(database))
            try:
                store.papers.ingest([make_paper(
                    paper_id="2606.99999", title=HOSTILE_TITLE, abstract=HOSTILE_TITLE + " javascript:alert(1)",
                    published=datetime(2026, 6, 11, 4, tzinfo=UTC), categories=("cs.CL",), url="javascript:alert(2)",
                )], datetime(2026, 6, 11, 12, tzinfo=UTC))
            finally:
                store.close()
            # The hostile paper: its markup is text, no script ran, no javascript: link.
            page.goto(f"{base}/")
            expect(page.get_by_text(HOSTILE_TITLE, exact=True).first).to_be_visible()
            assert page.evaluate("window.__xss === undefined")
            page.goto(f"{base}/paper/2606.99999")
            expect(page.locator("h1")).to_have_text(HOSTILE_TITLE)
            assert page.evaluate("window.__xss === undefined")
            assert page.locator("main img, main script, main b").count() == 0
            hrefs = page.eval_on_selector_all("a", "links => links.map(a => a.getAttribute('href'))")
            assert not [href for href in hrefs if href and href.strip().lower().startswith("javascript:")]
            # Phone width: nothing wider than the screen (no sideways scrolling).
            page.set_viewport_size({"width": 360, "height": 780})
            page.goto(f"{base}/")
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
            assert errors == []
        finally:
            browser.close()

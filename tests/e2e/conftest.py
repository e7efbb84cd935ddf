"""Browser tests: Playwright (sync API) driving Debian's Chromium against a live server.

One backend (SQLite) keeps the suite short; the API suites cover PostgreSQL. Screenshots of the main
pages are written to docs/screenshots/ as the tests pass through them (see docs/ui.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import make_config
from twostep.bootstrap import Container, build
from twostep.services.operations.setup import initialize

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - the bootstrap installs it
    sync_playwright = None  # type: ignore[assignment]

if sync_playwright is None or not os.path.exists(CHROMIUM):
    pytest.skip(
        "browser tests need playwright (requirements.lock) and Debian's chromium at /usr/bin/chromium "
        "(apt-get install -y chromium; scripts/bootstrap does it)",
        allow_module_level=True,
    )


@pytest.fixture(scope="session")
def session_container(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    data_dir = tmp_path_factory.mktemp("e2e-data")
    container = build(make_config(data_dir, f"sqlite:///{data_dir / 'twostep.db'}"))
    initialize(container)
    yield container
    container.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, live_server: Any) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1100, "height": 900}, accept_downloads=True
    )
    context.set_default_timeout(10_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    # A CSP violation shows up as a console error: any of them fails the test.
    pg.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    pg.ts_errors = errors  # type: ignore[attr-defined]  # a test that expects a violation clears it
    yield pg
    context.close()
    assert not errors, errors


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)

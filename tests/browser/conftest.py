"""Browser tests of the web reader: Playwright driving Debian's Chromium (Playwright's own
browser download cannot work here) against a real server, with the model API stood in
by the local stand-in so the real SDK path streams the answers."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.conftest import server_env
from tests.mailbox import Mailbox
from tests.services import ROOT, ServerProcess, running_server
from tests.standin_anthropic import StandIn

SCREENSHOTS = ROOT / ".bookmind" / "screenshots"
# what the probe found necessary here: no sandbox as root, and no background traffic to
# hosts this network cannot reach
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


def chromium_path() -> str | None:
    return (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        pytest.skip(
            "browser tests need Chromium: `apt-get install chromium` (.ci/run does it as "
            "root), or set CHROMIUM to a Chromium binary"
        )
    return path


@pytest.fixture(scope="module")
async def web_server(
    database_url: str, standin: StandIn, mailbox: Mailbox
) -> AsyncIterator[ServerProcess]:
    # access tokens last 30 s so that the tests outlive several: the page must renew
    # them (and its socket's) without the reader noticing
    env = server_env(
        database_url, ANTHROPIC_API_KEY="test-key", ANTHROPIC_BASE_URL=standin.url,
        ANTHROPIC_MODEL="claude-sonnet-5-5", ACCESS_TOKEN_TTL_S="30", SMTP_URL=mailbox.url,
    )  # fmt: skip
    async with running_server(env) as proc:
        yield proc


@pytest.fixture(scope="module")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        await b.close()


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"

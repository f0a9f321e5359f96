"""What a reader does in the web reader, as steps the tests share: sign up or in, open a
book at a chapter, select a paragraph and highlight it. Everything goes through the page
as a reader would use it (labels, buttons), never through the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

PASSWORD = "correct horse battery staple"


@dataclass
class Reader:
    username: str
    context: BrowserContext
    page: Page
    errors: list[str]
    first_token: str = ""


async def _new_page(browser: Browser, base_url: str) -> tuple[BrowserContext, Page, list[str]]:
    context = await browser.new_context(viewport={"width": 1280, "height": 860}, base_url=base_url)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto("/")
    return context, page, errors


async def sign_up(browser: Browser, base_url: str, prefix: str = "reader") -> Reader:
    username = f"{prefix}_{uuid.uuid4().hex[:8]}"
    context, page, errors = await _new_page(browser, base_url)
    form = page.locator("form", has=page.get_by_role("heading", name="Create an account"))
    await form.get_by_label("Email").fill(f"{username}@example.com")
    await form.get_by_label("Username").fill(username)
    await form.get_by_label("Password").fill(PASSWORD)
    await form.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("heading", name="Library")).to_be_visible()
    return Reader(username, context, page, errors)


async def sign_in(browser: Browser, base_url: str, username: str) -> Reader:
    """The same reader on another device: a browser context of its own."""
    context, page, errors = await _new_page(browser, base_url)
    form = page.locator("form", has=page.get_by_role("heading", name="Sign in"))
    await form.get_by_label("Email or username").fill(username)
    await form.get_by_label("Password").fill(PASSWORD)
    await form.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Library")).to_be_visible()
    return Reader(username, context, page, errors)


async def open_book(page: Page, title: str, chapter: str) -> None:
    await page.goto("/#/")
    await page.get_by_role("link", name=title).first.click()
    await expect(page.locator("#book-text p").first).to_be_visible()
    # the view has its state (and has taken focus, as a new page does)
    await expect(page.locator("main")).to_have_attribute("aria-busy", "false")
    await page.get_by_label("Contents").select_option(label=chapter)
    await expect(page.locator("#chapter-title")).to_have_text(chapter)


def paragraph(page: Page, n: int) -> Locator:
    return page.locator("#book-text p").nth(n)


async def highlight_paragraph(page: Page, n: int, *, public: bool = False) -> str:
    """Select paragraph `n` by triple-click and highlight it; returns its text."""
    p = paragraph(page, n)
    await p.click(click_count=3)
    form = page.get_by_role("form", name="Highlight")
    await expect(form).to_be_visible()
    public_box = form.get_by_label("Public")
    if public != await public_box.is_checked():
        await public_box.set_checked(public)
    await form.get_by_role("button", name="Highlight", exact=True).click()
    await expect(form).to_be_hidden()
    return (await p.text_content()) or ""

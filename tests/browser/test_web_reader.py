"""The web reader in a real Chromium against a real server (issue 15): sign up, upload a
corpus EPUB and watch it become ready, read and highlight, and see every change reach
the reader's other device and other readers live, across a network drop; AI answers that
stream with citations that jump to the passage; a follower's live feed; quote cards.

The readers of one module share one server and one book, and the tests run in order:
each picks up where the story left off, as a reader's day would."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.browser.conftest import screenshot_path
from tests.browser.pages import (
    Reader,
    highlight_paragraph,
    open_book,
    paragraph,
    sign_in,
    sign_up,
)
from tests.mailbox import Mailbox, link_in
from tests.services import CORPUS, ROOT, ServerProcess
from tests.standin_anthropic import Scenario, StandIn

pytestmark = pytest.mark.e2e

BOOK = "alice-in-wonderland_epub3.epub"
TITLE = "Alice's Adventures in Wonderland"
CHAPTER = "Down The Rabbit-Hole"
LIVE_WITHIN_MS = 1000


@dataclass
class Story:
    owner: Reader  # uploaded the book, reads on this device
    owner_tablet: Reader  # the same reader on another device
    other: Reader  # another reader, of the public book


@pytest.fixture(scope="module")
async def story(browser: Browser, web_server: ServerProcess) -> AsyncIterator[Story]:
    owner = await sign_up(browser, web_server.base_url, "ada")
    page = owner.page
    owner.first_token = await page.evaluate("window.bookmind.session.access_token")
    await page.evaluate("""() => {
        window.__statuses = [];
        new MutationObserver(() => document.querySelectorAll("li.book").forEach(
            (li) => window.__statuses.push(li.dataset.status))
        ).observe(document.querySelector("ul.books"), {childList: true, subtree: true});
    }""")
    await page.get_by_label("Visibility").select_option("public")
    await page.set_input_files("#upload-file", CORPUS / BOOK)
    await expect(page.get_by_role("link", name=TITLE)).to_be_visible(timeout=120_000)
    statuses = await page.evaluate("window.__statuses")
    # ingestion was followed live, stage by stage, from the upload to ready
    assert "processing" in statuses and statuses[-1] == "completed", statuses
    # the upload's own line follows it too: no "reading it now" beside a ready book
    await expect(page.locator(".upload-status")).to_have_text(f"{TITLE} is ready to read.")
    await page.screenshot(path=screenshot_path("library"))

    tablet = await sign_in(browser, web_server.base_url, owner.username)
    other = await sign_up(browser, web_server.base_url, "bea")
    for reader in (owner, tablet, other):
        await open_book(reader.page, TITLE, CHAPTER)
    yield Story(owner, tablet, other)
    for reader in (owner, tablet, other):
        assert reader.errors == [], f"{reader.username}: uncaught errors in the page"
        await reader.context.close()


def mark_of(page: Page, text: str, cls: str = "mine") -> Locator:
    return page.locator(f"#book-text mark.{cls}", has_text=text[:40])


async def test_a_highlight_reaches_the_readers_other_device_and_other_readers_within_a_second(
    story: Story,
) -> None:
    text = await highlight_paragraph(story.owner.page, 2, public=True)
    await expect(mark_of(story.owner.page, text)).to_be_visible()
    acked = time.monotonic()
    await expect(mark_of(story.owner_tablet.page, text)).to_be_visible(timeout=LIVE_WITHIN_MS)
    await expect(mark_of(story.other.page, text, "theirs")).to_be_visible(timeout=LIVE_WITHIN_MS)
    assert time.monotonic() - acked < LIVE_WITHIN_MS / 1000 + 0.3
    # the mark is exactly the selected sentence: the offsets are the server's own
    marked = await story.owner_tablet.page.locator("#book-text mark.mine").all_text_contents()
    assert "".join(marked) == text.strip()
    # the other reader sees whose it is
    theirs = mark_of(story.other.page, text, "theirs")
    await expect(theirs).to_have_attribute("title", f"@{story.owner.username}'s public highlight")
    # its card in the side panel shows the start of the words, cut between two words
    shown = await story.owner.page.locator(".panel button.quote").first.text_content()
    assert shown is not None and shown.endswith("…") and len(shown) <= 161, shown
    assert text.strip().startswith(shown[:-1]) and not text.strip()[len(shown) - 1].isalnum()
    await story.owner.page.screenshot(path=screenshot_path("reader"))


async def test_presence_counts_the_other_reader(story: Story) -> None:
    # the tablet is the same reader: only the other reader counts as "others"
    await expect(story.owner.page.locator(".presence")).to_have_text("1 other reading")


async def test_a_device_that_was_offline_shows_every_missed_highlight_once(story: Story) -> None:
    tablet = story.owner_tablet.page
    await tablet.evaluate("window.__same_page = true")
    await story.owner_tablet.context.set_offline(True)
    await expect(tablet.locator("#connection")).to_have_text("Offline")
    texts = [await highlight_paragraph(story.owner.page, n) for n in range(4, 9)]
    await expect(story.owner.page.locator("#book-text mark.mine")).to_have_count(6)
    assert await tablet.locator("#book-text mark.mine").count() == 1  # it really was offline
    await story.owner_tablet.context.set_offline(False)
    for text in texts:
        await expect(mark_of(tablet, text)).to_be_visible(timeout=10_000)
    ids = await tablet.eval_on_selector_all(
        "#book-text mark.mine", "(ms) => ms.map((m) => m.dataset.id)"
    )
    assert len(set(ids)) == 6 and len(ids) == 6, ids  # each once, none twice
    await expect(tablet.get_by_role("list", name="Your highlights").locator("li")).to_have_count(6)
    assert await tablet.evaluate("window.__same_page") is True  # resumed, not reloaded


async def test_an_answer_streams_in_and_its_citations_jump_to_the_passage(
    story: Story, standin: StandIn
) -> None:
    words = "Alice follows the White Rabbit because she burns with curiosity [1] ."
    # the default, not `next`: the book's chapter summaries may still be asking the model
    standin.default = Scenario(tokens=[w + " " for w in words.split()], delay_s=0.08)
    page = story.owner.page
    await page.get_by_role("button", name="Ask AI").click()
    await page.evaluate("""() => {
        window.__lengths = [];
        const box = document.querySelector(".transcript");
        new MutationObserver(() => {
            const answer = box.querySelector(".answer");
            if (answer && answer.getAttribute("aria-busy") === "true")
                window.__lengths.push(answer.textContent.length);
        }).observe(box, {childList: true, subtree: true, characterData: true});
    }""")
    await page.get_by_label(f"Ask about “{TITLE}”").fill("Why does Alice follow the rabbit?")
    await page.get_by_label("Allow spoilers").check()
    await page.get_by_role("button", name="Ask", exact=True).click()
    answer = page.locator(".transcript .answer").last
    await expect(answer).to_have_attribute("aria-busy", "false", timeout=20_000)
    lengths = await page.evaluate("window.__lengths")
    growing = sorted(set(n for n in lengths if n > 0))
    assert len(growing) >= 5, f"the answer appeared in {len(growing)} steps: {lengths}"
    await expect(answer).to_contain_text("burns with curiosity")
    await expect(page.locator("#ask-quota")).to_contain_text("left today")
    await page.screenshot(path=screenshot_path("ask"))

    await answer.locator("a.cite").first.click()
    cited = page.locator("#book-text p.cited").first
    await expect(cited).to_be_visible()
    await expect(cited).to_be_in_viewport()


async def test_a_chapter_opening_with_its_own_title_shows_it_once(story: Story) -> None:
    page = story.owner.page
    await open_book(page, TITLE, CHAPTER)
    # the book's first line is the title: drawn as the heading, the page's own hidden
    heading = page.get_by_role("heading", name=CHAPTER, exact=True)
    await expect(heading).to_have_count(1)
    await expect(heading).to_have_class("echo-title")
    await expect(page.locator("#chapter-title")).to_be_hidden()
    # still the book's text: the first paragraph, at the chapter's first offset
    await expect(paragraph(page, 0)).to_have_text(CHAPTER)


async def test_a_highlight_is_edited_from_the_keyboard(story: Story) -> None:
    page = story.owner.page
    await open_book(page, TITLE, CHAPTER)
    mark = page.locator("#book-text mark.mine").first
    await mark.focus()
    await page.keyboard.press("Enter")
    form = page.get_by_role("form", name="Highlight")
    await form.get_by_label("Note").fill("the daisy-chain")
    await form.get_by_role("button", name="Save").click()
    await expect(form).to_be_hidden()
    await expect(mark).to_have_attribute("title", "Your highlight: the daisy-chain")
    # the tablet hears the edit too
    tablet_mark = story.owner_tablet.page.locator("#book-text mark.mine").first
    await expect(tablet_mark).to_have_attribute("title", "Your highlight: the daisy-chain")
    await mark.focus()
    await page.keyboard.press("Enter")
    await page.keyboard.press("Escape")
    await expect(form).to_be_hidden()


async def test_highlights_are_exported_and_the_export_links_back_to_them(story: Story) -> None:
    page = story.owner.page
    await open_book(page, TITLE, CHAPTER)
    await page.get_by_role("button", name="Highlights (").click()
    await page.get_by_label("Export this book's highlights as").select_option("markdown")
    async with page.expect_download() as download:
        await page.get_by_role("button", name="Export", exact=True).click()
    saved = await download.value
    assert saved.suggested_filename.endswith(" - highlights.md")
    markdown = Path(await saved.path()).read_text(encoding="utf-8")
    assert markdown.startswith("---\ntitle: ") and "\n> " in markdown
    link = re.search(r"\]\((http[^)]+/#/book/[0-9a-f-]+/at/\d+-\d+)\)", markdown)
    assert link is not None, markdown
    await page.goto(link[1])  # Obsidian's link opens the book at those words
    await expect(page.locator("#book-text mark.mine").first).to_be_in_viewport()


async def test_bookmarks_and_notes_reach_the_other_device(story: Story) -> None:
    page, tablet = story.owner.page, story.owner_tablet.page
    await open_book(tablet, TITLE, CHAPTER)
    await (
        page.get_by_role("toolbar", name="Reading")
        .get_by_role("button", name="Bookmark this place")
        .click()
    )
    await page.get_by_role("button", name="Notes (").click()
    await page.get_by_label("A note on this page").fill("Remember the marmalade jar.")
    await page.get_by_role("button", name="Add note").click()
    await expect(tablet.get_by_role("button", name="Bookmarks (1)")).to_be_visible(timeout=2000)
    await expect(tablet.get_by_role("button", name="Notes (1)")).to_be_visible(timeout=2000)
    await tablet.get_by_role("button", name="Notes (1)").click()
    await expect(tablet.get_by_role("list", name="Your notes")).to_contain_text("marmalade jar")


async def test_the_reader_fits_a_phone_screen(story: Story) -> None:
    page = story.other.page
    await page.set_viewport_size({"width": 390, "height": 844})
    await expect(page.locator("#book-text p").first).to_be_visible()
    overflow = await page.evaluate("document.scrollingElement.scrollWidth - innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the phone"
    await page.screenshot(path=screenshot_path("phone"))
    await page.set_viewport_size({"width": 1280, "height": 860})


async def test_a_followers_feed_shows_a_new_public_highlight_live(story: Story) -> None:
    other = story.other.page
    await other.get_by_role("link", name="Social").click()
    await other.get_by_label("Username").fill(story.owner.username)
    await other.get_by_role("button", name="Follow").click()
    following = other.get_by_role("list", name="Following")
    await expect(following).to_contain_text(story.owner.username)

    await open_book(story.owner.page, TITLE, CHAPTER)
    text = await highlight_paragraph(story.owner.page, 10, public=True)
    feed = other.get_by_role("list", name="Feed")
    item = feed.locator("li", has_text=text[:40])
    await expect(item).to_be_visible(timeout=2000)
    # whose, and in which book
    await expect(item.locator(".who")).to_contain_text(
        f"@{story.owner.username} highlighted in {TITLE}"
    )
    await other.screenshot(path=screenshot_path("social"))


async def test_a_highlight_becomes_a_quote_card_once_the_address_is_confirmed(
    story: Story, mailbox: Mailbox
) -> None:
    page = story.owner.page

    async def open_share_dialog() -> Locator:
        await page.get_by_role("button", name="Highlights (", exact=False).click()
        await (
            page.get_by_role("list", name="Your highlights")
            .get_by_role("button", name="Share")
            .first.click()
        )
        dialog = page.get_by_role("dialog", name="Share as a quote card")
        await expect(dialog).to_be_visible()
        return dialog

    dialog = await open_share_dialog()
    await dialog.get_by_role("button", name="Create card").click()
    await expect(dialog.get_by_role("alert")).to_contain_text("confirm your email address")
    await dialog.get_by_role("button", name="Close").click()
    # the link in the mail sign-up sent, opened in the same browser
    mail = await mailbox.wait_for(f"{story.owner.username}@example.com", "Confirm your email")
    await page.goto(link_in(mail, "#/confirm-email/"))
    await expect(page.locator("#main").get_by_role("status")).to_have_text(
        "Your email address is confirmed."
    )
    await open_book(page, TITLE, CHAPTER)

    dialog = await open_share_dialog()
    await dialog.get_by_role("button", name="Create card").click()
    card = dialog.locator("img.card")
    await expect(card).to_be_visible(timeout=20_000)
    await page.wait_for_function(
        "() => document.querySelector('dialog img.card').naturalWidth > 0", timeout=20_000
    )
    await expect(dialog.get_by_role("link")).to_contain_text("/q/")
    await page.screenshot(path=screenshot_path("quote-card"))
    await dialog.get_by_role("button", name="Close").click()


async def test_a_selection_is_explained_the_answer_cancelled_and_the_quota_explained(
    story: Story, standin: StandIn, database_url: str
) -> None:
    standin.default = Scenario(tokens=["and so on "] * 300, delay_s=0.05)
    page = story.owner.page
    await open_book(page, TITLE, CHAPTER)
    await page.get_by_role("button", name="Ask AI").click()
    await paragraph(page, 3).click(click_count=3)
    await page.get_by_role("form", name="Highlight").get_by_role("button", name="Explain").click()
    exchange = page.locator(".transcript .exchange").last
    await expect(exchange.locator(".question")).to_contain_text("Explain this passage.")
    await expect(exchange.locator(".answer")).to_contain_text("and so on", timeout=10_000)
    await page.get_by_role("button", name="Cancel").click()
    await expect(exchange).to_contain_text("Cancelled: what was written so far is kept.")
    await page.get_by_role("button", name="Past conversations").click()
    await expect(page.locator(".past")).to_contain_text("Explain this passage.")

    user_id = await page.evaluate("window.bookmind.userId")
    conn = await asyncpg.connect(database_url)
    await conn.execute(
        """INSERT INTO ai_daily_usage (user_id, day, asks)
           VALUES ($1, (now() AT TIME ZONE 'UTC')::date, 5)
           ON CONFLICT (user_id, day) DO UPDATE SET asks = 5""",
        uuid.UUID(user_id),
    )
    await conn.close()
    await page.get_by_label(f"Ask about “{TITLE}”").fill("Who is the Queen of Hearts?")
    await page.get_by_role("button", name="Ask", exact=True).click()
    refused = page.locator(".transcript .exchange").last
    await expect(refused).to_contain_text("5 questions a day")
    await expect(page.locator("#ask-quota")).to_have_text(
        "0 of 5 questions left today (free plan)."
    )
    standin.default = Scenario()


async def test_font_size_and_theme_follow_the_reader_to_another_device(story: Story) -> None:
    owner, tablet = story.owner.page, story.owner_tablet.page
    text = owner.locator("#book-text")
    before = await text.evaluate("(e) => parseFloat(e.style.fontSize)")
    await owner.get_by_role("button", name="Larger text").click()
    await owner.get_by_label("Theme").select_option("dark")
    await expect(owner.locator("body")).to_have_attribute("data-theme", "dark")
    await owner.wait_for_timeout(1000)  # the preferences are saved in the background
    await tablet.reload()
    await expect(tablet.locator("#book-text p").first).to_be_visible()
    await expect(tablet.locator("body")).to_have_attribute("data-theme", "dark")
    after = await tablet.locator("#book-text").evaluate("(e) => parseFloat(e.style.fontSize)")
    assert after == before + 2
    await owner.get_by_label("Theme").select_option("light")


async def test_the_position_is_offered_on_the_device_that_is_behind(story: Story) -> None:
    owner, tablet = story.owner.page, story.owner_tablet.page
    await owner.get_by_label("Contents").select_option(label="A Mad Tea-Party")
    # on opening: the tablet restores its own place and offers the other device's
    await owner.wait_for_timeout(2000)  # the position is saved 1.2 s after the reader stops
    await tablet.reload()
    banner = tablet.get_by_role("status").filter(has_text="You read further on")
    await expect(banner).to_contain_text("“A Mad Tea-Party”")
    await expect(tablet.locator("#chapter-title")).to_have_text(CHAPTER)
    # live: the other device reads on, and the offer follows it
    await owner.get_by_label("Contents").select_option(label="The Queen's Croquet Ground")
    await expect(banner).to_contain_text("“The Queen's Croquet Ground”", timeout=5000)
    await banner.get_by_role("button", name="Continue from there").click()
    await expect(tablet.locator("#chapter-title")).to_have_text("The Queen's Croquet Ground")
    await expect(banner).to_be_hidden()


async def test_a_kindle_clippings_file_is_imported_and_its_highlights_appear(
    story: Story,
) -> None:
    page = story.owner.page
    await open_book(page, TITLE, CHAPTER)
    tab = page.get_by_role("button", name=re.compile(r"Highlights \(\d+\)"))
    before = int(re.findall(r"\d+", await tab.inner_text())[0])
    clippings = ROOT / "tests" / "data" / "imports" / "My Clippings.txt"
    await page.get_by_label("Import highlights from Kindle, KOReader or Readwise").set_input_files(
        clippings
    )
    await page.get_by_role("button", name="Import", exact=True).click()
    status = page.get_by_role("form", name="Import from another app").get_by_role("status")
    await expect(status).to_contain_text("Imported 9 new", timeout=20_000)
    await expect(status).to_contain_text("1 not found in this book, 1 for other books")
    await expect(tab).to_have_text(f"Highlights ({before + 8})")  # the bookmark is not one
    await page.screenshot(path=screenshot_path("import"))


async def test_stats_and_a_session_that_outlived_its_access_tokens(story: Story) -> None:
    page = story.owner.page
    await page.get_by_role("link", name="Stats").click()
    await expect(page.get_by_role("heading", name="Your reading")).to_be_visible()
    await expect(page.locator(".chart rect")).to_have_count(30)
    await page.screenshot(path=screenshot_path("stats"))
    # access tokens last 30 s here: the page renews them before they expire, and its
    # socket's in-band, without the socket ever being dropped
    await page.wait_for_function(
        f"() => window.bookmind.session.access_token !== {story.owner.first_token!r}",
        timeout=40_000,
    )
    await page.wait_for_timeout(1000)
    assert await page.evaluate("window.bookmind.status") == "online"
    assert await page.evaluate("window.bookmind.welcomes") == 1
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_a_file_that_is_not_a_book_is_refused_with_the_reason(
    browser: Browser, web_server: ServerProcess
) -> None:
    reader = await sign_up(browser, web_server.base_url, "dee")
    await reader.page.set_input_files("#upload-file", CORPUS / "hostile" / "zipbomb_zbsm.epub")
    alert = reader.page.get_by_role("alert").filter(has_text="zipbomb_zbsm.epub")
    await expect(alert).to_be_visible()
    await expect(alert).not_to_have_text("zipbomb_zbsm.epub: ")  # a reason follows the name
    await expect(reader.page.locator("li.book", has_text="zipbomb")).to_have_count(0)
    await reader.context.close()


async def test_a_sync_password_set_in_settings_signs_koreader_in(
    browser: Browser, web_server: ServerProcess
) -> None:
    reader = await sign_up(browser, web_server.base_url, "kobo")
    await reader.page.get_by_role("link", name="Settings").click()
    await expect(reader.page.locator(".facts")).to_contain_text(f"{web_server.base_url}/kosync")
    await reader.page.get_by_label("Sync password").fill("paper and ink")
    await reader.page.get_by_role("button", name="Set sync password").click()
    await expect(
        reader.page.get_by_role("status").filter(has_text="Sync password set")
    ).to_be_visible()
    key = hashlib.md5(b"paper and ink").hexdigest()
    headers = {"x-auth-user": reader.username, "x-auth-key": key}
    async with httpx.AsyncClient() as http:
        auth = await http.get(f"{web_server.base_url}/kosync/users/auth", headers=headers)
    assert auth.status_code == 200
    await reader.context.close()


async def test_a_wrong_password_is_refused_and_a_forgotten_one_reset_by_mail(
    browser: Browser, web_server: ServerProcess, mailbox: Mailbox
) -> None:
    reader = await sign_up(browser, web_server.base_url, "cy")
    page = reader.page
    await page.get_by_role("button", name="Sign out").click()
    form = page.locator("form", has=page.get_by_role("heading", name="Sign in"))
    await form.get_by_label("Email or username").fill(reader.username)
    await form.get_by_label("Password").fill("not the password")
    await form.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).not_to_be_empty()
    await expect(page.get_by_role("heading", name="Library")).to_be_hidden()

    await page.get_by_text("Forgot your password?").click()
    forgot = page.get_by_role("form", name="Reset password")
    await forgot.get_by_label("Email").fill(f"{reader.username}@example.com")
    await forgot.get_by_role("button", name="Send me a link").click()
    await expect(page.get_by_role("status")).to_contain_text("a link to choose a new password")
    mail = await mailbox.wait_for(f"{reader.username}@example.com", "Reset your BookMind password")
    await page.goto(link_in(mail, "#/reset-password/"))
    chosen = page.get_by_role("form", name="New password")
    await chosen.get_by_label("New password").fill("a new password for cy")
    await chosen.get_by_role("button", name="Set password").click()
    await expect(page.get_by_role("status")).to_contain_text("Sign in with your new password")
    await page.get_by_role("link", name="Sign in").click()
    await form.get_by_label("Email or username").fill(reader.username)
    await form.get_by_label("Password").fill("a new password for cy")
    await form.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Library")).to_be_visible()
    await reader.context.close()


async def test_a_clippings_file_of_books_not_in_the_library_says_so(
    browser: Browser, web_server: ServerProcess
) -> None:
    reader = await sign_up(browser, web_server.base_url, "kindle")
    await reader.page.get_by_role("link", name="Settings").click()
    clippings = ROOT / "tests" / "data" / "imports" / "My Clippings.txt"
    await reader.page.get_by_label("Import into your library").set_input_files(clippings)
    await reader.page.get_by_role("button", name="Import", exact=True).click()
    status = reader.page.get_by_role("form", name="Import from another app").get_by_role("status")
    await expect(status).to_contain_text("Not in your library: Alice's Adventures in Wonderland "
                                         "(10), Pride and Prejudice (1).")  # fmt: skip
    await reader.page.screenshot(path=screenshot_path("settings"), full_page=True)
    await reader.context.close()

"""Reading devices against a real server (issue 16). KOReader's progress sync (kosync):
the reference server's routes, statuses and error codes, exactly as KOReader's client
reads them; a KOReader device's page turns reaching a BookMind device live, and a
BookMind device's position reaching KOReader as a `progress` it can open; readers kept
apart; progress on a file not yet uploaded applied when it arrives. The OPDS catalog as
a reading app walks it: Basic auth with the sync password, the navigation root, the
reader's books with download and cover links, paging, public books, by author, search,
and the downloaded bytes equal to the upload; other readers' private books never appear.

The PDF is KOReader's own test file (../shared/corpus/koreader; its document id is the
one KOReader's tests expect); the EPUB is Alice (KOReader's Leaves of Grass takes minutes
to index, and its id is checked in tests/unit/test_fingerprint.py). One module, so the
books are ingested once; the OPDS tests come first (they expect no position yet)."""

from __future__ import annotations

import hashlib
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import lxml.html
import pytest

from domain.books.fingerprint import partial_md5
from domain.books.parse_epub import spine_documents
from tests.e2e.helpers import SYNC_PASSWORD, Account, kosync_reader, register, upload_ready
from tests.factories import make_book
from tests.services import CORPUS, ServerProcess
from tests.wsclient import WsClient

pytestmark = pytest.mark.e2e

EPUB = CORPUS / "alice-in-wonderland_epub3.epub"
EPUB_ID = partial_md5(EPUB.read_bytes())
PDF, PDF_ID = CORPUS / "koreader" / "tall.pdf", "41cce710f34e5ec21315e19c99821415"
KOREADER_ACCEPT = "application/vnd.koreader.v1+json"


def key(password: str = SYNC_PASSWORD) -> str:
    return hashlib.md5(password.encode()).hexdigest()


def device(account: Account, password: str = SYNC_PASSWORD) -> httpx.AsyncClient:
    """A KOReader-style client: its headers, its Accept, no Content-Type of its own."""
    return httpx.AsyncClient(base_url="", headers={
        "x-auth-user": account.username, "x-auth-key": key(password),
        "Accept": KOREADER_ACCEPT,
    }, timeout=30)  # fmt: skip


def api(server: ServerProcess, account: Account) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.base_url + "/api/v1", timeout=60,
                             headers={"Authorization": f"Bearer {account.token}"})  # fmt: skip


async def upload(server: ServerProcess, account: Account, path: Path) -> str:
    return await upload_ready(server.base_url, server.ws_url, account, path)


def put_body(document: str | None, progress: Any, percentage: Any, **extra: Any) -> dict[str, Any]:
    return {"document": document, "progress": progress, "percentage": percentage,
            "device": "KOReader test", "device_id": "A1B2C3D4E5F6", **extra}  # fmt: skip


def assert_json(response: httpx.Response) -> None:
    assert response.headers["content-type"] == "application/json"  # exactly: KOReader


@pytest.fixture(scope="module")
async def reader(server: ServerProcess) -> Account:
    return await kosync_reader(server)


@pytest.fixture(scope="module")
async def epub_book(server: ServerProcess, reader: Account) -> str:
    return await upload(server, reader, EPUB)


@pytest.fixture(scope="module")
async def pdf_book(server: ServerProcess, reader: Account) -> str:
    return await upload(server, reader, PDF)


@pytest.fixture
async def koreader(server: ServerProcess, reader: Account) -> AsyncIterator[httpx.AsyncClient]:
    async with device(reader) as client:
        client.base_url = httpx.URL(server.base_url + "/kosync")
        yield client


ATOM = "{http://www.w3.org/2005/Atom}"
ACQUISITION = "application/atom+xml;profile=opds-catalog;kind=acquisition"
NAVIGATION = "application/atom+xml;profile=opds-catalog;kind=navigation"


def app(server: ServerProcess, account: Account, password: str = SYNC_PASSWORD
        ) -> httpx.AsyncClient:  # fmt: skip
    return httpx.AsyncClient(base_url=server.base_url, auth=(account.username, password),
                             timeout=30)  # fmt: skip


async def feed(http: httpx.AsyncClient, href: str, kind: str) -> ET.Element:
    answer = await http.get(href)
    assert answer.status_code == 200, (href, answer.text)
    assert answer.headers["content-type"].startswith(kind), answer.headers["content-type"]
    root = ET.fromstring(answer.content)
    # what every Atom feed and entry must carry (RFC 4287 §4.1)
    assert root.tag == f"{ATOM}feed"
    for element in [root, *root.iter(f"{ATOM}entry")]:
        for child in ("id", "title", "updated"):
            assert element.find(f"{ATOM}{child}") is not None, (href, child)
    return root


def link(element: ET.Element, rel: str) -> str | None:
    found = [x.get("href") for x in element.iter(f"{ATOM}link") if x.get("rel") == rel]
    return found[0] if found else None


def titles(root: ET.Element) -> list[str]:
    return [e.findtext(f"{ATOM}title") or "" for e in root.iter(f"{ATOM}entry")]


async def test_an_app_is_asked_to_sign_in_and_refused_with_the_wrong_password(
    server: ServerProcess, reader: Account
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        answer = await http.get("/opds")
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Basic ")
    async with app(server, reader, "not the password") as http:
        assert (await http.get("/opds")).status_code == 401
    # the account's own password is not the sync password
    async with app(server, reader, "pass-" + reader.username) as http:
        assert (await http.get("/opds/books")).status_code == 401


async def test_root_to_my_books_to_download_gives_the_uploaded_bytes(
    server: ServerProcess, reader: Account, epub_book: str
) -> None:
    async with app(server, reader) as http:
        root = await feed(http, "/opds", NAVIGATION)
        assert titles(root) == ["My books", "Recently read", "Public books", "By author"]
        assert link(root, "search") == "/opds/search.xml"
        mine = next(e for e in root.iter(f"{ATOM}entry")
                    if e.findtext(f"{ATOM}title") == "My books")  # fmt: skip
        books = await feed(http, link(mine, "subsection") or "", ACQUISITION)
        entry = next(e for e in books.iter(f"{ATOM}entry")
                     if e.findtext(f"{ATOM}id") == f"urn:uuid:{epub_book}")  # fmt: skip
        assert entry.findtext(f"{ATOM}title") == "Alice's Adventures in Wonderland"
        assert entry.findtext(f"{ATOM}author/{ATOM}name") == "Lewis Carroll"
        acquisition = [x for x in entry.iter(f"{ATOM}link")
                       if x.get("rel") == "http://opds-spec.org/acquisition"]  # fmt: skip
        assert acquisition[0].get("type") == "application/epub+zip"
        download = await http.get(acquisition[0].get("href") or "")
        assert download.status_code == 200 and download.content == EPUB.read_bytes()
        cover = await http.get(link(entry, "http://opds-spec.org/image/thumbnail") or "")
        assert cover.status_code == 200 and cover.headers["content-type"] == "image/jpeg"
        found = await feed(http, "/opds/search?q=wonderland%20carroll", ACQUISITION)
        assert titles(found) == ["Alice's Adventures in Wonderland"]
        assert titles(await feed(http, "/opds/search?q=%25", ACQUISITION)) == []  # no wildcard
        by = await feed(http, "/opds/authors", NAVIGATION)
        carroll = next(e for e in by.iter(f"{ATOM}entry")
                       if e.findtext(f"{ATOM}title") == "Lewis Carroll")  # fmt: skip
        listed = await feed(http, link(carroll, "subsection") or "", ACQUISITION)
        assert "Alice's Adventures in Wonderland" in titles(listed)
        search = await http.get("/opds/search.xml")
        assert search.status_code == 200 and b"{searchTerms}" in search.content
        assert titles(await feed(http, "/opds/recent", ACQUISITION)) == []  # not opened yet
    bearer = {"Authorization": f"Bearer {reader.token}"}
    async with httpx.AsyncClient(base_url=server.base_url + "/api/v1", headers=bearer) as api:
        moved = await api.put(f"/books/{epub_book}/progress", json={
            "current_page": 3, "progress_percentage": 0.1, "device": "phone"})  # fmt: skip
        assert moved.status_code == 200
    async with app(server, reader) as http:
        recent = await feed(http, "/opds/recent", ACQUISITION)
        assert titles(recent) == ["Alice's Adventures in Wonderland"]


async def test_lists_are_paged_and_other_readers_private_books_never_appear(
    server: ServerProcess, reader: Account, database_url: str
) -> None:
    other = await register(server.base_url)
    conn = await asyncpg.connect(database_url)
    try:
        for i in range(51):
            await make_book(conn, other.id, title=f"Paged {i:02}", public=True)
        await make_book(conn, other.id, title="Someone's secret diary")
        await make_book(conn, other.id, title="Shared openly", public=True)
    finally:
        await conn.close()
    async with app(server, reader) as http:
        first = await feed(http, "/opds/public", ACQUISITION)
        assert len(titles(first)) == 50 and link(first, "next") == "/opds/public?page=2"
        assert titles(first)[0] == "Shared openly"  # newest first
        second = await feed(http, link(first, "next") or "", ACQUISITION)
        assert link(second, "previous") == "/opds/public?page=1" and link(second, "next") is None
        seen = titles(first) + titles(second)
        assert len(seen) == len(set(seen)) and {f"Paged {i:02}" for i in range(51)} <= set(seen)
        assert "Someone's secret diary" not in seen
        mine = titles(await feed(http, "/opds/books", ACQUISITION))
        assert "Shared openly" not in mine  # My books are the reader's own
        for query in ("secret", "diary"):
            assert titles(await feed(http, f"/opds/search?q={query}", ACQUISITION)) == []
        assert (await http.get("/opds/books?page=0")).status_code in (400, 422)
        assert (await http.get("/opds/nothing-here")).status_code == 404


async def test_health_registration_and_sign_in(
    server: ServerProcess, reader: Account, koreader: httpx.AsyncClient
) -> None:
    health = await koreader.get("/healthcheck")
    assert health.status_code == 200 and health.json() == {"state": "OK"}
    assert_json(health)
    create = await koreader.post("/users/create", json={"username": "x", "password": key()})
    assert create.status_code == 402 and create.json()["code"] == 2005
    assert_json(create)
    ok = await koreader.get("/users/auth")
    assert ok.status_code == 200 and ok.json() == {"authorized": "OK"}
    assert_json(ok)
    base = server.base_url + "/kosync/users/auth"
    async with httpx.AsyncClient() as http:
        for headers in (
            {},  # no credentials
            {"x-auth-user": reader.username, "x-auth-key": key("not it")},
            {"x-auth-user": reader.username, "x-auth-key": SYNC_PASSWORD},  # not its MD5
            {"x-auth-user": "nobody_here", "x-auth-key": key()},
        ):
            refused = await http.get(base, headers=headers)
            assert refused.status_code == 401, headers
            assert refused.json() == {"code": 2001, "message": "Unauthorized"}
            assert_json(refused)
        # the username in any case, or the email, with the key in either case
        for user in (reader.username.upper(), f"{reader.username}@example.com"):
            answer = await http.get(base, headers={"x-auth-user": user,
                                                   "x-auth-key": key().upper()})  # fmt: skip
            assert answer.status_code == 200, user


async def test_guessing_the_sync_password_is_throttled(server: ServerProcess) -> None:
    target = await kosync_reader(server)
    async with httpx.AsyncClient(base_url=server.base_url + "/kosync") as http:
        statuses = []
        for i in range(7):
            answer = await http.get("/users/auth", headers={
                "x-auth-user": target.username, "x-auth-key": key(f"guess {i}")})  # fmt: skip
            statuses.append(answer.status_code)
        assert statuses[:5] == [401] * 5 and statuses[-1] == 429, statuses
        assert answer.json()["code"] == 2001 and int(answer.headers["retry-after"]) >= 1


async def test_bad_requests_get_the_reference_codes_and_change_nothing(
    koreader: httpx.AsyncClient,
) -> None:
    document = "0123456789abcdef0123456789abcdef"
    cases: list[tuple[Any, int, int]] = [
        (put_body(document, "12", None), 403, 2003),  # percentage missing
        (put_body(document, "12", "a lot"), 403, 2003),  # not a number
        (put_body(document, "12", True), 403, 2003),
        (put_body(document, None, 0.5), 403, 2003),  # progress missing
        (put_body(document, "12", 0.5, device=None), 403, 2003),  # device missing
        (put_body(document, "12", 0.5, device=""), 403, 2003),
        (put_body(None, "12", 0.5), 403, 2004),  # document missing
        (put_body("", "12", 0.5), 403, 2004),
        (put_body("with:colon", "12", 0.5), 403, 2004),
    ]
    for body, status, code in cases:
        answer = await koreader.put("/syncs/progress", json=body)
        assert (answer.status_code, answer.json()["code"]) == (status, code), body
        assert_json(answer)
    for raw in (b"[1, 2]", b'"text"', b"{not json", b""):
        answer = await koreader.put("/syncs/progress", content=raw)
        assert answer.status_code == 400 and answer.json()["code"] == 2003, raw
    assert (await koreader.get(f"/syncs/progress/{document}")).json() == {}  # nothing stored


async def test_a_document_with_no_progress_is_an_empty_object(
    koreader: httpx.AsyncClient,
) -> None:
    answer = await koreader.get("/syncs/progress/ffffffffffffffffffffffffffffffff")
    assert answer.status_code == 200 and answer.json() == {}  # not 404: KOReader's rule
    assert_json(answer)


async def test_progress_is_kept_byte_for_byte_and_each_reader_sees_only_their_own(
    server: ServerProcess, koreader: httpx.AsyncClient
) -> None:
    document = "00000000000000000000000000000abc"
    progress = "/body/DocFragment[3]/body/div[2]/p[7]/text().12 «ü»"
    # no Content-Type, a percentage as a string (the reference server's tonumber)
    put = await koreader.put("/syncs/progress", content=httpx.Request(
        "PUT", "http://x", json=put_body(document, progress, "0.25")).content)  # fmt: skip
    assert put.status_code == 200, put.text
    assert put.json()["document"] == document
    assert abs(put.json()["timestamp"] - time.time()) < 5
    got = (await koreader.get(f"/syncs/progress/{document}")).json()
    assert got == {"document": document, "progress": progress, "percentage": 0.25,
                   "device": "KOReader test", "device_id": "A1B2C3D4E5F6",
                   "timestamp": put.json()["timestamp"]}  # fmt: skip
    other = await kosync_reader(server)
    async with device(other) as theirs:
        mine = await theirs.get(f"{server.base_url}/kosync/syncs/progress/{document}")
        assert mine.json() == {}  # the same document id, another reader: nothing
        await theirs.put(f"{server.base_url}/kosync/syncs/progress",
                         json=put_body(document, "/body/DocFragment[9]", 0.9))  # fmt: skip
    assert (await koreader.get(f"/syncs/progress/{document}")).json()["progress"] == progress


async def _chapter_of(database_url: str, book_id: str, offset: int) -> asyncpg.Record:
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            """SELECT chapter_number, source_index, start_offset, end_offset, content
               FROM book_chapters
               WHERE book_id = $1 AND start_offset <= $2 AND $2 <= end_offset""",
            book_id, offset,
        )  # fmt: skip
        assert row is not None
        return row
    finally:
        await conn.close()


def _words_at(xhtml: bytes, pointer: str) -> str:
    """What a KOReader XPointer names in a spine item, read with lxml alone: the words
    from its character on (blank runs folded, as crengine does)."""
    path, _, char = pointer.rpartition(".")
    *elements, text = path.split("/")[4:]  # after /body/DocFragment[n]/body
    element = lxml.html.fromstring(xhtml).find("body")
    for step in elements:
        name, _, index = step.rstrip("]").partition("[")
        element = [c for c in element if c.tag == name][int(index or 1) - 1]
    nodes = [t for t in [element.text, *(c.tail for c in element)] if t and t.strip()]
    node = nodes[int(text[7:-1] or 1) - 1 if "[" in text else 0]
    return re.sub(r"\s+", " ", node)[int(char) :]


async def test_an_epub_position_reaches_a_bookmind_device_live_and_back(
    server: ServerProcess, reader: Account, epub_book: str, koreader: httpx.AsyncClient,
    database_url: str,
) -> None:  # fmt: skip
    spine = spine_documents(EPUB.read_bytes())
    phone = WsClient(server.ws_url, reader.token, "phone")
    await phone.open()
    # the third paragraph of chapter 2 (the 7th spine item), 25 characters in
    xpointer = "/body/DocFragment[7]/body/section/p[3]/text().25"
    sent = time.monotonic()
    put = await koreader.put("/syncs/progress", json=put_body(EPUB_ID, xpointer, 0.06))
    assert put.status_code == 200
    heard = await phone.wait_for(lambda f: f.get("event") == "progress.updated", 5)
    assert time.monotonic() - sent < 1.0
    data = heard["data"]
    assert data["book_id"] == epub_book and data["device"] == "KOReader test (A1B2C3)"
    offset = data["current_character_offset"]
    chapter = await _chapter_of(database_url, epub_book, offset)
    assert chapter["source_index"] == 7  # the spine item KOReader named
    here = chapter["content"][offset - chapter["start_offset"] :]
    assert here[:40] == _words_at(spine[7], xpointer)[:40]  # the very words
    async with api(server, reader) as http:
        view = (await http.get(f"/books/{epub_book}/progress")).json()
    assert "KOReader test (A1B2C3)" in {d["device"] for d in view["devices"]}

    # the phone reads on, two chapters later, mid-paragraph: KOReader is sent a path to
    # that paragraph, at or just before the phone's spot
    later = await _chapter_of(database_url, epub_book, chapter["end_offset"] + 500)
    landing = await _chapter_of(database_url, epub_book, later["end_offset"] + 2500)
    target = landing["start_offset"] + 2500
    moved = await phone.call("progress.update", {
        "book_id": epub_book, "current_page": 40, "current_character_offset": target,
        "progress_percentage": 0.3})  # fmt: skip
    assert moved["type"] == "ack"
    got = (await koreader.get(f"/syncs/progress/{EPUB_ID}")).json()
    assert got["progress"].startswith(f"/body/DocFragment[{landing['source_index']}]/body/")
    words = _words_at(spine[landing["source_index"]], got["progress"])[:30]
    local = target - landing["start_offset"]
    found = landing["content"].rfind(words, 0, local + len(words))
    assert found >= 0, (got["progress"], words, landing["content"][local - 200 : local + 50])
    assert "\n\n" not in landing["content"][found:local]
    assert got["percentage"] == 0.3 and got["device"] == "phone"
    assert got["device_id"] != "A1B2C3D4E5F6" and got["timestamp"] >= put.json()["timestamp"]
    await phone.close()


async def test_a_pdf_page_reaches_a_bookmind_device_and_back(
    server: ServerProcess, reader: Account, pdf_book: str, koreader: httpx.AsyncClient
) -> None:
    phone = WsClient(server.ws_url, reader.token, "phone")
    await phone.open()
    put = await koreader.put("/syncs/progress", json=put_body(PDF_ID, 3, 0.4))  # a number
    assert put.status_code == 200
    heard = await phone.wait_for(lambda f: f.get("event") == "progress.updated", 5)
    assert heard["data"]["current_page"] == 3
    got = (await koreader.get(f"/syncs/progress/{PDF_ID}")).json()
    assert got["progress"] == "3" and got["device"] == "KOReader test"  # its own, as sent
    moved = await phone.call("progress.update", {
        "book_id": pdf_book, "current_page": 5, "progress_percentage": 0.7})  # fmt: skip
    assert moved["type"] == "ack"
    got = (await koreader.get(f"/syncs/progress/{PDF_ID}")).json()
    assert got["progress"] == "5" and got["percentage"] == 0.7
    await phone.close()


async def test_progress_sent_before_the_upload_becomes_the_books(server: ServerProcess) -> None:
    later = await kosync_reader(server)
    async with device(later) as kindle:
        put = await kindle.put(f"{server.base_url}/kosync/syncs/progress",
                               json=put_body(PDF_ID, "4", 0.5))  # fmt: skip
        assert put.status_code == 200
    book_id = await upload(server, later, PDF)
    async with api(server, later) as http:
        latest = (await http.get(f"/books/{book_id}/progress")).json()["latest"]
    assert latest["device"] == "KOReader test (A1B2C3)" and latest["current_page"] == 4


async def test_the_sync_password_is_checked_like_a_password(server: ServerProcess) -> None:
    account = await register(server.base_url)
    async with api(server, account) as http:
        short = await http.put("/users/me/sync-password", json={"password": "short"})
        assert short.status_code == 422 and short.json()["field"] == "password"
    async with httpx.AsyncClient(base_url=server.base_url + "/api/v1") as http:
        anonymous = await http.put("/users/me/sync-password", json={"password": "long enough"})
        assert anonymous.status_code == 401
    # without a sync password, no device gets in, whatever it sends
    async with device(account, "pass-" + account.username) as kobo:
        answer = await kobo.get(f"{server.base_url}/kosync/users/auth")
        assert answer.status_code == 401

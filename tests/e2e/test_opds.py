"""The OPDS catalog as a reading app walks it: Basic auth with the sync password, the
navigation root, the reader's books with download and cover links, paging, public
books, by author, search, and the downloaded bytes equal to the upload. Other readers'
private books never appear."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import asyncpg
import httpx
import pytest

from tests.e2e.helpers import SYNC_PASSWORD, Account, kosync_reader, register, upload_ready
from tests.factories import make_book
from tests.services import CORPUS, ServerProcess

pytestmark = pytest.mark.e2e

ALICE = CORPUS / "alice-in-wonderland_epub3.epub"
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


@pytest.fixture(scope="module")
async def reader(server: ServerProcess) -> Account:
    return await kosync_reader(server)


@pytest.fixture(scope="module")
async def alice(server: ServerProcess, reader: Account) -> str:
    return await upload_ready(server.base_url, server.ws_url, reader, ALICE)


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
    server: ServerProcess, reader: Account, alice: str
) -> None:
    async with app(server, reader) as http:
        root = await feed(http, "/opds", NAVIGATION)
        assert titles(root) == ["My books", "Recently read", "Public books", "By author"]
        assert link(root, "search") == "/opds/search.xml"
        mine = next(e for e in root.iter(f"{ATOM}entry")
                    if e.findtext(f"{ATOM}title") == "My books")  # fmt: skip
        books = await feed(http, link(mine, "subsection") or "", ACQUISITION)
        entry = next(e for e in books.iter(f"{ATOM}entry")
                     if e.findtext(f"{ATOM}id") == f"urn:uuid:{alice}")  # fmt: skip
        assert entry.findtext(f"{ATOM}title") == "Alice's Adventures in Wonderland"
        assert entry.findtext(f"{ATOM}author/{ATOM}name") == "Lewis Carroll"
        acquisition = [x for x in entry.iter(f"{ATOM}link")
                       if x.get("rel") == "http://opds-spec.org/acquisition"]  # fmt: skip
        assert acquisition[0].get("type") == "application/epub+zip"
        download = await http.get(acquisition[0].get("href") or "")
        assert download.status_code == 200 and download.content == ALICE.read_bytes()
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
        moved = await api.put(f"/books/{alice}/progress", json={
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
            await make_book(conn, reader.id, title=f"Paged {i:02}")
        await make_book(conn, other.id, title="Someone's secret diary")
        await make_book(conn, other.id, title="Shared openly", public=True)
    finally:
        await conn.close()
    async with app(server, reader) as http:
        first = await feed(http, "/opds/books", ACQUISITION)
        assert len(titles(first)) == 50 and link(first, "next") == "/opds/books?page=2"
        second = await feed(http, link(first, "next") or "", ACQUISITION)
        assert link(second, "previous") == "/opds/books?page=1" and link(second, "next") is None
        assert len(set(titles(first)) | set(titles(second))) == len(titles(first)) + len(
            titles(second)
        )  # none twice
        public = titles(await feed(http, "/opds/public", ACQUISITION))
        assert "Shared openly" in public and "Someone's secret diary" not in public
        for query in ("secret", "diary"):
            assert titles(await feed(http, f"/opds/search?q={query}", ACQUISITION)) == []
        assert (await http.get("/opds/books?page=0")).status_code in (400, 422)
        assert (await http.get("/opds/nothing-here")).status_code == 404

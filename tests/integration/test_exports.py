"""Exports (issue 17) of a reader's highlights, notes and bookmarks on Alice, ingested by
the real code, each read back the way its tool reads it: Markdown front matter and
quote blocks, Readwise's CSV with RFC 4180 quoting, W3C Web Annotations whose selectors
point at the very words, Kindle clippings in Kindle's layout. Another reader sees none
of it."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

import asyncpg
import pytest

from domain.errors import NotFound
from domain.exports import formats
from domain.exports.operations import gather, render
from domain.reading import annotations as notes
from domain.reading import bookmarks, highlights
from domain.reading.models import AnnotationCreate, BookmarkCreate, HighlightCreate
from server.settings import Settings
from server.storage import LocalStorage
from tests.factories import make_user
from tests.ingested import ingest_corpus_book
from workers import context

BASE = "https://books.example"


@dataclass
class Marked:
    pool: asyncpg.Pool
    reader: UUID
    other: UUID
    book: UUID
    text: dict[int, str]  # chapter start offset -> content
    spans: list[tuple[int, int]]


@pytest.fixture(scope="module")
async def marked(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Marked]:
    from server.db import create_pool

    pool = await create_pool(database_url, min_size=1, max_size=4)
    files = LocalStorage(tmp_path_factory.mktemp("files"))
    context.bind(Settings(), pool, files, lambda _: None)
    async with pool.acquire() as conn:
        reader, other = await make_user(conn), await make_user(conn)
    book = await ingest_corpus_book(
        pool, files, reader, "alice-in-wonderland_epub3.epub", public=True
    )
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT start_offset, content FROM book_chapters WHERE book_id = $1 "
            "ORDER BY chapter_number", book)  # fmt: skip
        text = {r["start_offset"]: r["content"] for r in rows}
        spans = []
        for words, note, tags in [
            ("Alice was beginning to get very tired", 'A "famous" opening,\ntwo lines', ["start"]),
            ("Curiouser and curiouser!", None, ["words", "favourite quote"]),
            ("It was the White Rabbit", None, []),
        ]:  # fmt: skip
            start = next(s + c.index(words) for s, c in text.items() if words in c)
            spans.append((start, start + len(words)))
            written = await highlights.create(conn, reader, book, HighlightCreate(
                selected_text=words, page_number=1 + start // 2000, start_offset=start,
                end_offset=start + len(words), note=note, tags=tags, color="blue",
            ), None)  # fmt: skip
            if words.startswith("It was"):
                await notes.create(conn, reader, book, AnnotationCreate(
                    annotation_type="text", content="Late again.", page_number=1,
                    highlight_id=written.value.id), None)  # fmt: skip
        await notes.create(conn, reader, book, AnnotationCreate(
            annotation_type="text", content="A loose thought", page_number=3,
            position_data={"offset": 4000}), None)  # fmt: skip
        await bookmarks.create(conn, reader, book, BookmarkCreate(
            title="The tea party", page_number=9, position_data={"offset": 17000},
        ), None)  # fmt: skip
        await highlights.create(conn, other, book, HighlightCreate(
            selected_text="Alice", page_number=1, start_offset=spans[0][0],
            end_offset=spans[0][0] + 5, public=True), None)  # fmt: skip
    yield Marked(pool, reader, other, book, text, spans)
    await pool.close()


async def export(m: Marked, kind: str, user: UUID | None = None, one: bool = True) -> str:
    async with m.pool.acquire() as conn:
        books = await gather(conn, user or m.reader, m.book if one else None)
    return render(kind, books, BASE, library=not one)


def words_at(m: Marked, start: int, end: int) -> str:
    chapter = max(s for s in m.text if s <= start)
    return m.text[chapter][start - chapter : end - chapter]


async def test_markdown_is_what_obsidian_reads(marked: Marked) -> None:
    md = await export(marked, "markdown")
    front = md.split("---\n")[1]
    assert 'title: "Alice\'s Adventures in Wonderland"' in front or "title:" in front
    assert re.search(r"^source: BookMind$", front, re.M)
    assert f'url: "{BASE}/#/book/{marked.book}"' in front and "highlights: 3" in front
    assert "> Alice was beginning to get very tired" in md
    assert 'A "famous" opening,\ntwo lines' in md and "#start" in md and "#favourite-quote" in md
    for start, end in marked.spans:
        assert f"[Open in BookMind]({BASE}/#/book/{marked.book}/at/{start}-{end})" in md
    assert "Late again." in md  # a note made on a highlight goes with it
    assert "## Notes" in md and "A loose thought" in md
    assert f"- [The tea party]({BASE}/#/book/{marked.book}/at/17000)" in md
    chapters = re.findall(r"^## (.+)$", md, re.M)
    assert len(chapters) >= 3  # a section per chapter holding highlights, then notes, bookmarks


async def test_readwise_csv_has_its_header_and_survives_quoting(marked: Marked) -> None:
    rows = list(csv.reader(io.StringIO(await export(marked, "readwise"), newline="")))
    assert rows[0] == formats.READWISE_HEADER
    body = {r[0]: r for r in rows[1:]}
    assert len(body) == 3
    first = body["Alice was beginning to get very tired"]
    assert (
        first[1].startswith("Alice") and first[2] and first[4] == 'A "famous" opening,\ntwo lines'
    )
    assert first[5] == "blue" and first[7] == "page"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", first[9])
    assert body["Curiouser and curiouser!"][6] == "words, favourite quote"
    assert body["It was the White Rabbit"][4] == "Late again."


async def test_web_annotations_point_at_the_very_words(marked: Marked) -> None:
    doc = json.loads(await export(marked, "annotation"))
    assert doc["@context"] == "http://www.w3.org/ns/anno.jsonld"
    assert doc["type"] == "AnnotationCollection" and doc["total"] == len(doc["first"]["items"])
    marks = [
        a
        for a in doc["first"]["items"]
        if any(s["type"] == "TextQuoteSelector" for s in a["target"]["selector"])
    ]
    assert len(marks) == 3
    for item in marks:
        quote = next(s for s in item["target"]["selector"] if s["type"] == "TextQuoteSelector")
        place = next(s for s in item["target"]["selector"] if s["type"] == "TextPositionSelector")
        assert words_at(marked, place["start"], place["end"]) == quote["exact"]
        assert (
            words_at(marked, place["start"] - len(quote["prefix"]), place["start"])
            == quote["prefix"]
        )
        assert (
            words_at(marked, place["end"], place["end"] + len(quote["suffix"])) == quote["suffix"]
        )
        assert len(quote["suffix"]) == 32
        assert item["id"].startswith("urn:uuid:") and item["target"]["source"].startswith(BASE)
    motivations = {a["motivation"] for a in doc["first"]["items"]}
    assert {"highlighting", "commenting", "bookmarking"} <= motivations


CLIPPING = re.compile(
    r"^(?P<title>.+)\r\n- Your (?P<kind>Highlight|Note|Bookmark) (?:on page (?P<page>\d+) \| )?"
    r"(?:at )?Location (?P<loc>\d+(?:-\d+)?) \| Added on \w+day, \w+ \d{1,2}, \d{4} "
    r"\d{1,2}:\d\d:\d\d [AP]M\r\n\r\n(?P<text>.*)$", re.S)  # fmt: skip


async def test_clippings_are_laid_out_as_a_kindle_writes_them(marked: Marked) -> None:
    raw = await export(marked, "clippings")
    entries = [e for e in raw.split("==========\r\n") if e.strip()]
    parsed = [CLIPPING.match(e.removesuffix("\r\n")) for e in entries]
    assert all(parsed), entries
    kinds = [p["kind"] for p in parsed if p]
    assert kinds.count("Highlight") == 3 and kinds.count("Bookmark") == 1
    assert kinds.count("Note") == 3  # two on highlights, one loose
    title = parsed[0]["title"] if parsed[0] else ""
    assert re.fullmatch(r".+ \(.+\)", title)  # Title (Author)
    texts = {p["text"] for p in parsed if p and p["kind"] == "Highlight"}
    assert "Curiouser and curiouser!" in texts
    assert 'A "famous" opening,\r\ntwo lines' in {p["text"] for p in parsed if p}


async def test_another_reader_exports_only_their_own(marked: Marked) -> None:
    theirs = await export(marked, "readwise", user=marked.other, one=False)
    rows = list(csv.reader(io.StringIO(theirs, newline="")))
    assert [r[0] for r in rows[1:]] == ["Alice"]
    stranger = await _stranger(marked)
    with pytest.raises(NotFound):  # a private book is not theirs to export
        await export(marked, "markdown", user=stranger)


async def _stranger(m: Marked) -> UUID:
    async with m.pool.acquire() as conn:
        await conn.execute("UPDATE books SET visibility = 'private' WHERE id = $1", m.book)
        return await make_user(conn)


async def test_everything_of_mine_holds_each_book_once(marked: Marked) -> None:
    md = await export(marked, "markdown", one=False)
    assert md.count("> Alice was beginning to get very tired") == 1
    assert "# BookMind highlights" in md

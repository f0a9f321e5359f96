"""Highlights in and out (issue 17), on Alice ingested by the real code (once: the other
copies reuse its index), the imports run by the real task body.

Exports of a reader's highlights, notes and bookmarks are read back the way each tool
reads them: Markdown front matter and quote blocks, Readwise's CSV with RFC 4180
quoting, W3C Web Annotations whose selectors point at the very words, Kindle clippings
in Kindle's layout; another reader sees none of it.

Imports put every placed highlight on the words it quotes, with its note, color, tags
and date; a second import of the same file creates nothing; entries of another book and
a quote the book does not hold are reported, never placed; and what one account exports
another imports at the same offsets."""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import pytest

from domain.anchoring import text as anchor_text
from domain.anchoring.quotes import normalise
from domain.errors import Conflict, Forbidden, Invalid, NotFound
from domain.exports import formats
from domain.exports.archive import PIECE, TABLES, archive
from domain.exports.operations import gather, render
from domain.imports import operations as imports
from domain.imports.models import ImportJob
from domain.reading import annotations as notes
from domain.reading import bookmarks, highlights
from domain.reading.models import AnnotationCreate, BookmarkCreate, HighlightCreate
from server.storage import LocalStorage
from tests.factories import make_user
from tests.ingested import ingest_corpus_book
from tests.services import CORPUS, ROOT, session_settings
from workers import context
from workers.imports import run_import

ALICE = "alice-in-wonderland_epub3.epub"


@dataclass
class Services:
    pool: asyncpg.Pool
    files: LocalStorage


@pytest.fixture(scope="module")
async def services(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Services]:
    from server.db import create_pool

    pool = await create_pool(database_url, min_size=1, max_size=4)
    files = LocalStorage(tmp_path_factory.mktemp("files"))
    context.bind(session_settings(), pool, files, lambda _: None)
    yield Services(pool, files)
    await pool.close()


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
async def marked(services: Services) -> Marked:
    pool, files = services.pool, services.files
    async with pool.acquire() as conn:
        reader, other = await make_user(conn), await make_user(conn)
    book = await ingest_corpus_book(pool, files, reader, ALICE, public=True)
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
    return Marked(pool, reader, other, book, text, spans)


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
    assert first[5] == "blue" and first[7] == "location"
    assert first[8] == str(marked.spans[0][0] // 150 + 1)
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


DATA = ROOT / "tests" / "data" / "imports"


@dataclass
class Library:
    pool: asyncpg.Pool
    files: LocalStorage
    reader: UUID
    book: UUID
    text: str
    pages: anchor_text.BookText


@pytest.fixture(scope="module")
async def library(services: Services) -> Library:
    pool, files = services.pool, services.files
    async with pool.acquire() as conn:
        reader = await make_user(conn)
    book = await ingest_corpus_book(pool, files, reader, ALICE)
    async with pool.acquire() as conn:
        rows = await conn.fetch(anchor_text.Q.book_text, book)
    pages = anchor_text.book_text("", None, rows)
    return Library(pool, files, reader, book, pages.text, pages)


async def run(lib: Library, name: str, user: UUID | None = None, book: UUID | None = None,
              data: bytes | None = None) -> ImportJob:  # fmt: skip
    async with lib.pool.acquire() as conn:
        job = await imports.start(conn, user or lib.reader, book or lib.book,
                                  data or (DATA / name).read_bytes(), name, None)  # fmt: skip
    assert await run_import(job.id) == "completed"
    async with lib.pool.acquire() as conn:
        return await imports.get(conn, user or lib.reader, job.id)


def same_words(a: str, b: str) -> bool:
    """The same words once typography is set aside, or (an approximate match) nearly."""
    x, y = normalise(a).text, normalise(b).text
    return x == y or difflib.SequenceMatcher(None, x, y).ratio() >= 0.95


async def test_kindle_clippings_land_on_their_words(library: Library) -> None:
    job = await run(library, "My Clippings.txt")
    assert job.status == "completed" and job.total == 11
    by_status = {s: [x for x in job.report if x.status == s] for s in
                 ("created", "present", "unmatched", "other_book")}  # fmt: skip
    assert len(by_status["other_book"]) == 1  # Pride and Prejudice
    assert [x.text[:30] for x in by_status["unmatched"]] == ["This sentence is not in the bo"]
    assert len(by_status["created"]) == 9  # 8 highlights and the bookmark
    async with library.pool.acquire() as conn:
        rows = {r["id"]: r for r in await conn.fetch(
            "SELECT * FROM highlights WHERE user_id = $1 AND book_id = $2",
            library.reader, library.book)}  # fmt: skip
    for line in by_status["created"]:
        if line.kind != "highlight":
            continue
        row = rows[line.id]
        assert line.start_offset == row["start_offset"] and line.end_offset == row["end_offset"]
        assert same_words(library.text[row["start_offset"] : row["end_offset"]], line.text)
        assert row["selected_text"] == library.text[row["start_offset"] : row["end_offset"]]
    opening = next(r for r in rows.values() if r["selected_text"].startswith("Alice was"))
    assert opening["note"] == "Her sister's book had no pictures."
    assert opening["created_at"] == datetime(2024, 8, 22, 19, 0, 10, tzinfo=UTC)  # the Kindle's
    assert opening["position_data"]["import"]["location"] == [7, 8]
    drink = next(r for r in rows.values() if "DRINK ME" in r["selected_text"])
    assert drink["selected_text"].startswith('with the words "DRINK ME"')  # the book's quotes


async def test_the_same_file_again_creates_nothing(library: Library) -> None:
    async with library.pool.acquire() as conn:
        before = await conn.fetchval("SELECT count(*) FROM highlights WHERE user_id = $1",
                                     library.reader)  # fmt: skip
    job = await run(library, "My Clippings.txt")
    assert job.created == 0 and job.present == 9 and job.unmatched == 1
    async with library.pool.acquire() as conn:
        after = await conn.fetchval("SELECT count(*) FROM highlights WHERE user_id = $1",
                                    library.reader)  # fmt: skip
    assert after == before


@pytest.mark.parametrize("name", ["koreader.json", "koreader.md", "readwise.csv"])
async def test_koreader_and_readwise_files_land_on_their_words(library: Library, name: str) -> None:
    job = await run(library, name)
    assert job.unmatched == 0
    placed = [x for x in job.report if x.status in {"created", "present"}]
    assert len(placed) + job.other_book == job.total
    for line in placed:
        assert line.start_offset is not None and line.end_offset is not None
        assert same_words(library.text[line.start_offset : line.end_offset], line.text)
    if name == "readwise.csv":  # tags and the quoted multi-line note came along
        async with library.pool.acquire() as conn:
            row = await conn.fetchrow("SELECT note, tags FROM highlights WHERE id = $1",
                                      placed[0].id)  # fmt: skip
        assert row is not None and row["note"] == "Wise child,\nvery wise."
        assert row["tags"] == ["caution", "bottles"]


async def test_what_one_reader_exports_another_imports_at_the_same_offsets(
    library: Library,
) -> None:
    async with library.pool.acquire() as conn:
        writer, newcomer = await make_user(conn), await make_user(conn)
    mine = await ingest_corpus_book(library.pool, library.files, writer, ALICE)
    theirs = await ingest_corpus_book(library.pool, library.files, newcomer, ALICE)
    spans = []
    async with library.pool.acquire() as conn:
        for words in ("Curiouser and curiouser!", "Who are you?", "said the Caterpillar",
                      "It was the White Rabbit"):  # fmt: skip
            start = library.text.index(words)
            spans.append((start, start + len(words)))
            await highlights.create(conn, writer, mine, HighlightCreate(
                selected_text=words, page_number=library.pages.page_at(start), start_offset=start,
                end_offset=start + len(words), note=f"on {words}",
            ), None)  # fmt: skip
        books = await gather(conn, writer, mine)
    for kind in ("clippings", "readwise"):
        exported = render(kind, books, "https://x", library=False).encode()
        job = await run(library, f"export.{kind}", user=newcomer, book=theirs, data=exported)
        got = sorted((x.start_offset, x.end_offset) for x in job.report if x.id)
        assert got == sorted(spans), kind
        assert job.unmatched == 0


async def test_bad_files_and_other_readers_books_are_refused(library: Library) -> None:
    async with library.pool.acquire() as conn:
        stranger = await make_user(conn)
        with pytest.raises(NotFound):  # a private book of someone else
            await imports.start(conn, stranger, library.book, b"x", "f.txt", None)
        with pytest.raises(Invalid):
            await imports.start(conn, library.reader, library.book, b"", "f.txt", None)
        with pytest.raises(Invalid):
            await imports.start(conn, library.reader, library.book, b"Dear diary", "d.txt", None)
        with pytest.raises(Invalid):
            await imports.start(conn, library.reader, library.book, b"{}", "e.json", "koreader")
        with pytest.raises(NotFound):
            await imports.get(conn, stranger, (await imports.start(
                conn, library.reader, library.book, (DATA / "koreader.md").read_bytes(),
                "k.md", None)).id)  # fmt: skip


async def test_the_whole_account_comes_out_as_a_zip_in_bounded_pieces(
    marked: Marked, services: Services
) -> None:
    pieces = [p async for p in archive(services.pool, services.files, marked.reader)]
    assert len(pieces) > len(TABLES) and max(len(p) for p in pieces) <= 2 * PIECE
    zipped = zipfile.ZipFile(io.BytesIO(b"".join(pieces)))
    assert zipped.testzip() is None  # every member's CRC checks
    names = zipped.namelist()
    assert {f"{t}.json" for t in TABLES} <= set(names)
    (profile,) = json.loads(zipped.read("profile.json"))
    assert profile["id"] == str(marked.reader)
    assert not {"encrypted_password", "sync_password_hash", "last_sign_in_ip"} & set(profile)
    marks = json.loads(zipped.read("highlights.json"))
    assert {h["selected_text"] for h in marks} == {
        "Alice was beginning to get very tired", "Curiouser and curiouser!",
        "It was the White Rabbit"}  # fmt: skip
    assert len(json.loads(zipped.read("bookmarks.json"))) == 1
    assert len(json.loads(zipped.read("annotations.json"))) == 2
    (book,) = json.loads(zipped.read("books.json"))
    (original,) = [n for n in names if n.startswith(f"files/{book['id']}/")]
    assert zipped.read(original) == (CORPUS / ALICE).read_bytes()


def second_edition(original: bytes) -> bytes:
    """Alice as another publisher might set it: curly quotes, an editor's preface before
    the first chapter's text, and one paragraph (the Caucus-race's first) cut."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as old, zipfile.ZipFile(out, "w") as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename.endswith(".xhtml"):
                head, tag, page = re.split(r"(<body[^>]*>)", data.decode(), maxsplit=1)
                page = re.sub(
                    r">([^<]+)<",
                    lambda m: (
                        ">"
                        + re.sub(  # text only, not tags
                            r'"([^"\n]{1,80})"', "\u201c\\1\u201d", m[1]
                        )
                        + "<"
                    ),
                    page,
                )
                if item.filename.endswith("chapter_001.xhtml"):
                    section = '<section epub:type="chapter">'
                    preface = ("<p>A preface by the editor of this edition, who thanks the "
                               "reader for their patience.</p>")  # fmt: skip
                    page = page.replace(section, section + preface, 1)
                if item.filename.endswith("chapter_003.xhtml"):
                    page = re.sub(r"<p>They were indeed a queer-looking party.*?</p>", "", page,
                                  count=1, flags=re.S)  # fmt: skip
                data = (head + tag + page).encode()
            compress = zipfile.ZIP_STORED if item.filename == "mimetype" else zipfile.ZIP_DEFLATED
            new.writestr(item, data, compress_type=compress)
    return out.getvalue()


async def test_a_new_edition_moves_every_mark_to_its_words_or_orphans_it(
    services: Services,
) -> None:
    from domain.books import operations as books
    from workers.ingest import ingest_book

    pool = services.pool
    async with pool.acquire() as conn:
        owner, friend = await make_user(conn), await make_user(conn)
    book = await ingest_corpus_book(pool, services.files, owner, ALICE, public=True)
    async with pool.acquire() as conn:
        old = anchor_text.book_text("", None, await conn.fetch(anchor_text.Q.book_text, book)).text
        made = {}
        for who, words in [(owner, "Curiouser and curiouser!"), (owner, "Who are you?"),
                           (friend, "It was the White Rabbit, trotting slowly back again"),
                           (owner, "They were indeed a queer-looking party")]:  # fmt: skip
            start = old.index(words)
            written = await highlights.create(conn, who, book, HighlightCreate(
                selected_text=words, page_number=1, start_offset=start,
                end_offset=start + len(words), public=who == friend), None)  # fmt: skip
            made[words] = written.value.id
        rabbit = old.index("W. RABBIT")
        mark = await bookmarks.create(conn, owner, book, BookmarkCreate(
            page_number=5, position_data={"offset": rabbit}), None)  # fmt: skip
        stored = await conn.fetchrow("SELECT quote_prefix, quote_suffix FROM highlights "
                                     "WHERE id = $1", made["Who are you?"])  # fmt: skip
        assert stored is not None
        start = old.index("Who are you?")
        assert stored["quote_prefix"] == old[start - 32 : start]  # the selector, kept at once
        assert stored["quote_suffix"] == old[start + 12 : start + 44]
        replaced = await books.replace_file(
            conn, services.files, owner, book, second_edition((CORPUS / ALICE).read_bytes()),
            filename="alice-second-edition.epub", max_bytes=10**8)  # fmt: skip
    assert replaced.value.processing_status == "pending"
    async with pool.acquire() as conn:
        with pytest.raises(Conflict):  # not while the book is being read
            await books.replace_file(conn, services.files, owner, book, b"%PDF-1.4",
                                     filename="x.pdf", max_bytes=10**8)  # fmt: skip
        with pytest.raises(Forbidden):  # a reader of the public book is not its owner
            await books.replace_file(conn, services.files, friend, book, b"%PDF-1.4",
                                     filename="x.pdf", max_bytes=10**8)  # fmt: skip
    assert await ingest_book(book) == "completed"
    async with pool.acquire() as conn:
        new = anchor_text.book_text("", None, await conn.fetch(anchor_text.Q.book_text, book)).text
        rows = {r["id"]: r for r in await conn.fetch(
            "SELECT id, selected_text, start_offset, end_offset, orphaned FROM highlights "
            "WHERE book_id = $1", book)}  # fmt: skip
        moved = await conn.fetchrow("SELECT position_data, orphaned FROM bookmarks WHERE id = $1",
                                    mark.value.id)  # fmt: skip
        updates = await conn.fetchval(
            "SELECT count(*) FROM channel_events WHERE event = 'highlight.updated' "
            "AND channel IN ($1, $2)", f"user:{owner}", f"user:{friend}")  # fmt: skip
    assert new != old and "A preface by the editor" in new
    for words, highlight_id in made.items():
        row = rows[highlight_id]
        if words.startswith("They were indeed"):  # its paragraph is gone: kept, flagged
            assert row["orphaned"] and row["selected_text"] == words
            continue
        assert not row["orphaned"], words
        assert same_words(new[row["start_offset"] : row["end_offset"]], words), words
        assert row["start_offset"] != old.index(words)  # the preface moved everything
    assert moved is not None and not moved["orphaned"]
    assert new[moved["position_data"]["offset"] :].startswith("W. RABBIT")
    assert updates >= 4  # every device heard of every moved or orphaned highlight


async def test_a_file_of_several_books_goes_into_the_books_of_the_library(
    services: Services,
) -> None:
    async with services.pool.acquire() as conn:
        reader = await make_user(conn)
    book = await ingest_corpus_book(services.pool, services.files, reader, ALICE)
    clippings = (DATA / "My Clippings.txt").read_bytes()
    async with services.pool.acquire() as conn:
        made = await imports.start_library(conn, reader, clippings, "My Clippings.txt", None)
    assert [job.book_id for job in made.imports] == [book]
    assert [(u.title, u.author, u.entries) for u in made.unmatched] == [
        ("Pride and Prejudice", "Austen, Jane", 1)]  # fmt: skip
    assert await run_import(made.imports[0].id) == "completed"
    async with services.pool.acquire() as conn:
        job = await imports.get(conn, reader, made.imports[0].id)
    assert (job.total, job.created, job.unmatched, job.other_book) == (10, 9, 1, 0)
    assert [x.n for x in job.report] == [n for n in range(1, 12) if n != 9]  # as in the file

"""Ingestion through the real task code, then retrieval quality on our own question set:
the passage that answers each question must come back in the top 5 (by meaning: the
questions avoid the answer's rare words where they can)."""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
import numpy as np
import pytest
from pgvector import Vector

from domain.books import bm25
from domain.books import operations as books
from domain.books import search as search_module
from domain.books.chunk import INDEX_VERSION
from domain.books.fingerprint import partial_md5
from domain.books.search import search, search_library
from server.embeddings import make_embedder
from server.storage import LocalStorage
from tests.factories import make_user
from tests.ingested import ingest_corpus_book
from tests.services import CORPUS, session_settings
from workers import context, reindex
from workers.document_ids import fill_document_ids
from workers.ingest import ingest_book

# question -> words found in the supporting passage (the checked answer). The corpus copy
# is an abridged edition (no Mock Turtle, no Gryphon): every answer here is in it.
ALICE = {
    "What did the little bottle's label tell Alice to do?": "drink me",
    "What was the caterpillar smoking while sitting on the mushroom?": "hookah",
    "Which animal shared the tea table with the Hatter and the Dormouse?": "march hare",
    "What game did the Queen of Hearts invite everyone to play?": "croquet",
    "What did the cat leave behind after it slowly disappeared?": "grin",
    "What did the rabbit pull out of his pocket to check the time?": "watch",
    "What in the kitchen made everybody sneeze?": "pepper",
    "How did the soaked animals get dry again after swimming?": "caucus",
}


@pytest.fixture(scope="module")
async def ingested(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[asyncpg.Pool, object, object]]:
    from server.db import create_pool

    pool = await create_pool(database_url, min_size=1, max_size=4)
    files = LocalStorage(tmp_path_factory.mktemp("files"))
    context.bind(session_settings(), pool, files, lambda _: None)
    async with pool.acquire() as conn:
        user = await make_user(conn)
    yield pool, user, await ingest_corpus_book(pool, files, user, "alice-in-wonderland_epub3.epub")
    await pool.close()


async def test_ingestion_stores_chapters_passages_and_metadata(ingested: tuple) -> None:  # type: ignore[type-arg]
    pool, _, book_id = ingested
    book = await pool.fetchrow("SELECT * FROM books WHERE id = $1", book_id)
    assert book["processing_status"] == "completed"
    assert book["title"] == "Alice's Adventures in Wonderland"  # from the file: none was given
    assert book["author"] == "Lewis Carroll"
    assert 1 <= book["difficulty_level"] <= 10 and book["reading_time_minutes"] >= 30
    assert {"alice", "rabbit", "queen"} <= set(book["key_concepts"])
    assert len(book["topics"]) == 5 and "alice" in book["topics"]
    passages = await pool.fetchval(
        "SELECT count(*) FROM book_embeddings WHERE book_id = $1", book_id
    )
    assert passages > 40
    dims = await pool.fetchval("SELECT vector_dims(embedding) FROM book_embeddings LIMIT 1")
    assert dims == 384
    # re-running replaces, never duplicates
    await pool.execute("UPDATE books SET processing_status = 'processing' WHERE id = $1", book_id)
    assert await ingest_book(book_id) == "completed"
    again = await pool.fetchval("SELECT count(*) FROM book_embeddings WHERE book_id = $1", book_id)
    assert again == passages


async def test_supporting_passage_in_top_5(ingested: tuple) -> None:  # type: ignore[type-arg]
    pool, user, book_id = ingested
    embedder = make_embedder(session_settings())
    found = {}
    async with pool.acquire() as conn:
        for question, answer in ALICE.items():
            hits = await search(conn, embedder, user, book_id, question, 5)
            found[question] = any(answer in h.text.lower() for h in hits)
    misses = [q for q, ok in found.items() if not ok]
    print(f"retrieval: {len(found) - len(misses)}/{len(found)} supporting passages in the top 5")
    assert len(misses) <= 1, misses


async def test_rare_words_and_spoiler_limit(ingested: tuple) -> None:  # type: ignore[type-arg]
    pool, user, book_id = ingested
    embedder = make_embedder(session_settings())
    async with pool.acquire() as conn:
        hits = await search(conn, embedder, user, book_id, "hookah", 3)
        assert "hookah" in hits[0].text.lower()
        first = hits[0]
        assert first.chapter_title and first.chapter_number and first.start_page
        limited = await search(conn, embedder, user, book_id, "hookah", 10,
                               before_offset=first.start_offset)  # fmt: skip
        assert all(h.end_offset <= first.start_offset for h in limited)


class _BrokenModel:
    model_name, dimensions = "broken", 384

    def embed(self, texts: list[str]) -> list[list[float]]:
        raise RuntimeError("the model process died")

    def embed_query(self, text: str) -> list[float]:
        raise RuntimeError("the model process died")


async def test_a_failed_embedding_fails_the_search_and_leaves_the_connection_usable(
    ingested: tuple,  # type: ignore[type-arg]
) -> None:
    """The postings are read while the question is embedded: when the model fails first,
    nothing may go on using the connection after the search has given it back."""
    pool, user, book_id = ingested
    async with pool.acquire() as conn:
        with pytest.raises(RuntimeError, match="model process died"):
            await search(conn, _BrokenModel(), user, book_id, "the caterpillar's hookah", 3)
        assert await conn.fetchval("SELECT 1") == 1
        hits = await search(conn, make_embedder(session_settings()), user, book_id, "hookah", 3)
    assert "hookah" in hits[0].text.lower()


async def _ranked_as_documented(
    conn: asyncpg.Connection, book_id: UUID, question: str, vector: list[float], before: int | None
) -> list[tuple[UUID, float]]:
    """The method docs/benchmarks.md describes, computed here the long way from every
    stored lexeme and every window: BM25 (k1 1.2, b 0.75) over passages holding any question
    word, the nearest window's distance, each ranking's best 50 fused by RRF (k 60)."""
    k1, b, candidates = 1.2, 0.75, search_module.CANDIDATES
    lexemes = set(await conn.fetchval(
        "SELECT ARRAY(SELECT lexeme FROM unnest(to_tsvector('english', $1)))", question
    ))  # fmt: skip
    passages = {r["id"]: r for r in await conn.fetch(
        "SELECT id, chunk_index, word_count, end_offset FROM book_embeddings WHERE book_id = $1",
        book_id)}  # fmt: skip
    terms: dict[UUID, dict[str, int]] = {}  # passage -> question lexeme -> tf
    for r in await conn.fetch(
        """SELECT e.id, w.lexeme, coalesce(array_length(w.positions, 1), 1) AS tf
           FROM book_embeddings e, unnest(e.tsv) w WHERE e.book_id = $1 AND w.lexeme = ANY($2)""",
        book_id, list(lexemes),
    ):  # fmt: skip
        terms.setdefault(r["id"], {})[r["lexeme"]] = r["tf"]
    n = len(passages)
    avgdl = sum(p["word_count"] for p in passages.values()) / n
    df = {t: sum(t in found for found in terms.values()) for t in lexemes}
    allowed = {i for i, p in passages.items() if before is None or p["end_offset"] <= before}
    bm25 = {
        i: sum(
            math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            * tf
            * (k1 + 1)
            / (tf + k1 * (1 - b + b * passages[i]["word_count"] / avgdl))
            for t, tf in found.items()
        )
        for i, found in terms.items()
        if i in allowed
    }
    nearest: dict[UUID, float] = {}
    for r in await conn.fetch(
        "SELECT passage_id, embedding <=> $2 AS d FROM passage_windows WHERE book_id = $1",
        book_id, Vector(vector),
    ):  # fmt: skip
        if r["passage_id"] in allowed:
            nearest[r["passage_id"]] = min(r["d"], nearest.get(r["passage_id"], 2.0))
    fused: dict[UUID, float] = {}
    order = {i: p["chunk_index"] for i, p in passages.items()}
    for ranking in (sorted(bm25, key=lambda i: (-bm25[i], order[i])),
                    sorted(nearest, key=lambda i: (nearest[i], i))):  # fmt: skip
        for rank, i in enumerate(ranking[:candidates], start=1):
            fused[i] = fused.get(i, 0.0) + 1 / (60 + rank)
    # equal scores (ranks 2 and 3, or 3 and 2) in the book's order
    return sorted(fused.items(), key=lambda kv: (-kv[1], passages[kv[0]]["chunk_index"]))


async def test_search_ranks_exactly_as_its_method_says(ingested: tuple) -> None:  # type: ignore[type-arg]
    """The search takes shortcuts (postings instead of tsvectors, only the nearest windows):
    they must not change a single rank."""
    pool, _, book_id = ingested
    embedder = make_embedder(session_settings())
    async with pool.acquire() as conn:
        middle = await conn.fetchval(
            "SELECT max(end_offset) / 2 FROM book_embeddings WHERE book_id = $1", book_id
        )
        for question in [*ALICE, "hookah"]:
            vector = embedder.embed_query(question)
            for before in (None, middle):
                hits = await search_module.ranked_passages(
                    conn, embedder, [book_id], question, 10, before
                )
                expected = await _ranked_as_documented(conn, book_id, question, vector, before)
                assert [(h.chunk_id, round(h.score, 9)) for _, h in hits] == [
                    (i, round(s, 9)) for i, s in expected[:10]
                ], (question, before)


async def test_the_same_file_twice_reuses_passages(ingested: tuple) -> None:  # type: ignore[type-arg]
    import time

    pool, _, book_id = ingested
    async with pool.acquire() as conn:
        other = await make_user(conn)
        again = await books.upload(
            conn, context.current().files, other,
            (CORPUS / "alice-in-wonderland_epub3.epub").read_bytes(),
            filename="copy.epub", title="My copy", author=None, visibility="private",
            max_bytes=10**8,
        )  # fmt: skip
    started = time.perf_counter()
    assert await ingest_book(again.value.id) == "completed"
    took = time.perf_counter() - started
    counts = await pool.fetch(
        """SELECT book_id, count(*) AS n, sum(length(content)) AS chars FROM book_embeddings
           WHERE book_id = ANY($1) GROUP BY book_id""",
        [book_id, again.value.id],
    )
    assert len(counts) == 2 and counts[0]["n"] == counts[1]["n"]
    assert counts[0]["chars"] == counts[1]["chars"]
    copy = await pool.fetchrow("SELECT * FROM books WHERE id = $1", again.value.id)
    assert copy["title"] == "My copy" and copy["author"] == "Lewis Carroll"
    assert copy["word_count"] > 9000 and copy["processing_status"] == "completed"
    original = await pool.fetchrow("SELECT topics, key_concepts FROM books WHERE id = $1", book_id)
    assert (copy["topics"], copy["key_concepts"]) == (original["topics"], original["key_concepts"])
    assert took < 5, f"reuse took {took:.1f}s: it parsed and embedded again?"
    embedder = make_embedder(session_settings())
    async with pool.acquire() as conn:
        hits = await search(conn, embedder, other, again.value.id, "hookah", 3)
    assert "hookah" in hits[0].text.lower()


async def test_reuse_takes_metadata_from_the_file_not_from_another_reader(
    ingested: tuple,  # type: ignore[type-arg]
) -> None:
    pool, _, book_id = ingested
    file_title = await pool.fetchval("SELECT file_title FROM books WHERE id = $1", book_id)
    assert file_title  # the EPUB names itself
    # the first owner renames their copy: that is theirs, and must not travel
    await pool.execute(
        "UPDATE books SET title = 'Notes for my thesis', author = 'Dr. Secret' WHERE id = $1",
        book_id,
    )
    async with pool.acquire() as conn:
        third = await make_user(conn)
        again = await books.upload(
            conn, context.current().files, third,
            (CORPUS / "alice-in-wonderland_epub3.epub").read_bytes(),
            filename="alice.epub", title=None, author=None, visibility="private",
            max_bytes=10**8,
        )  # fmt: skip
    assert await ingest_book(again.value.id) == "completed"
    copy = await pool.fetchrow("SELECT title, author FROM books WHERE id = $1", again.value.id)
    assert (copy["title"], copy["author"]) == (file_title, "Lewis Carroll")


async def _copy_of_alice(pool: asyncpg.Pool, *, public: bool = False) -> tuple[UUID, UUID]:
    """Another reader's copy of the same file (made by reuse, so in a second)."""
    async with pool.acquire() as conn:
        owner = await make_user(conn)
        made = await books.upload(
            conn, context.current().files, owner,
            (CORPUS / "alice-in-wonderland_epub3.epub").read_bytes(),
            filename="alice.epub", title="Another Alice", author=None,
            visibility="public" if public else "private", max_bytes=10**8,
        )  # fmt: skip
    assert await ingest_book(made.value.id) == "completed"
    return owner, made.value.id


async def _index_of(pool: asyncpg.Pool, book_id: UUID) -> tuple[int, int, int]:
    row = await pool.fetchrow(
        """SELECT b.index_version,
                  (SELECT count(*) FROM book_embeddings e WHERE e.book_id = b.id) AS passages,
                  (SELECT count(*) FROM passage_windows w WHERE w.book_id = b.id) AS windows
           FROM books b WHERE b.id = $1""",
        book_id,
    )
    assert row is not None
    return row["index_version"], row["passages"], row["windows"]


async def _postings_match_passages(pool: asyncpg.Pool, book_id: UUID) -> None:
    """The book's postings (migration 0034) say what its passages' tsvectors say: each
    lexeme's passages, counts and lengths, and the book's totals."""
    stored = {}
    for r in await pool.fetch(
        "SELECT lexeme, chunks, tfs, lengths FROM book_terms WHERE book_id = $1", book_id
    ):
        chunks = np.frombuffer(r["chunks"], dtype=">i4").tolist()
        tfs = np.frombuffer(r["tfs"], dtype=">i2").tolist()
        lengths = np.frombuffer(r["lengths"], dtype=">i2").tolist()
        for chunk, tf, length in zip(chunks, tfs, lengths, strict=True):
            stored[r["lexeme"], chunk] = (tf, length)
    passages = await pool.fetch(
        "SELECT chunk_index, word_count, tsv::text AS tsv FROM book_embeddings WHERE book_id = $1",
        book_id,
    )
    expected = {}
    for p in passages:
        for entry in re.findall(r"'((?:[^']|'')*)'(?::([\d,A-D]+))?", p["tsv"]):
            lexeme, positions = entry[0].replace("''", "'"), entry[1]
            tf = len(positions.split(",")) if positions else 1
            expected[lexeme, p["chunk_index"]] = (tf, p["word_count"])
    assert passages and stored == expected
    totals = await pool.fetchrow("SELECT * FROM book_term_totals WHERE book_id = $1", book_id)
    assert totals is not None
    assert (totals["passages"], totals["words"]) == (
        len(passages),
        sum(p["word_count"] for p in passages),
    )


async def test_reuse_copies_the_windows_too(ingested: tuple) -> None:  # type: ignore[type-arg]
    pool, _, book_id = ingested
    _, copy = await _copy_of_alice(pool)
    assert await _index_of(pool, copy) == await _index_of(pool, book_id)
    version, passages, windows = await _index_of(pool, copy)
    assert version == INDEX_VERSION and windows > passages
    for book in (book_id, copy):
        await _postings_match_passages(pool, book)


async def test_stale_books_are_reindexed_one_at_a_time_and_stay_searchable(
    ingested: tuple,  # type: ignore[type-arg]
) -> None:
    pool, user, book_id = ingested
    other, copy = await _copy_of_alice(pool)
    expected = await _index_of(pool, book_id)
    # both as an older version left them: no windows, an old version number
    await pool.execute("DELETE FROM passage_windows WHERE book_id = ANY($1)", [book_id, copy])
    await pool.execute("UPDATE books SET index_version = 1 WHERE id = ANY($1)", [book_id, copy])
    embedder = make_embedder(session_settings())
    async with pool.acquire() as conn:  # searchable before: passages stand in for windows
        hits = await search(conn, embedder, user, book_id, "hookah", 3)
    assert "hookah" in hits[0].text.lower()
    # another re-indexer holds the lock: this run does nothing
    async with pool.acquire() as holder:
        await holder.execute("SELECT pg_advisory_lock($1)", reindex.LOCK_KEY)
        assert (await reindex.reindex_stale(pool))["reindexed"] == 0
        await holder.execute("SELECT pg_advisory_unlock($1)", reindex.LOCK_KEY)
    first = await reindex.reindex_stale(pool, limit=1)  # a run that stops after one book
    assert first["reindexed"] == 1 and first["stale"] >= 1
    rest = await reindex.reindex_stale(pool)  # the next run goes on from there
    assert rest["reindexed"] >= 1 and rest["stale"] == 0
    for book in (book_id, copy):
        assert await _index_of(pool, book) == expected
        stored = await pool.fetch(
            """SELECT e.content, e.start_offset - c.start_offset AS at, c.content AS chapter
               FROM book_embeddings e JOIN book_chapters c ON c.id = e.book_chapter_id
               WHERE e.book_id = $1""",
            book,
        )
        assert all(r["chapter"][r["at"] : r["at"] + len(r["content"])] == r["content"]
                   for r in stored)  # fmt: skip
        await _postings_match_passages(pool, book)
    async with pool.acquire() as conn:
        hits = await search(conn, embedder, other, copy, "hookah", 3)
    assert "hookah" in hits[0].text.lower()
    # a book re-ingested (or deleted) meanwhile is left alone
    await pool.execute("UPDATE books SET index_version = 1 WHERE id = $1", copy)
    await pool.execute("UPDATE books SET deleted_at = now() WHERE id = $1", copy)
    assert await reindex.reindex_book(pool, copy) is False


async def test_books_left_without_postings_get_them_from_the_schedule(
    ingested: tuple,  # type: ignore[type-arg]
) -> None:
    """A book whose passages a worker of the release before migration 0034 wrote has no
    postings, and BM25 cannot find it; the schedule's `books.reindex` builds them."""
    pool, _, book_id = ingested
    _, copy = await _copy_of_alice(pool)
    await pool.execute("DELETE FROM book_terms WHERE book_id = $1", copy)
    await pool.execute("DELETE FROM book_term_totals WHERE book_id = $1", copy)
    async with pool.acquire() as conn:
        assert await bm25.ranked(conn, [copy], "caterpillar hookah", 5) == []
    ran = await reindex._keep_books_current(pool)
    assert ran["postings"] == 1
    await _postings_match_passages(pool, copy)
    async with pool.acquire() as conn:
        found = await bm25.ranked(conn, [copy], "caterpillar hookah", 5)
        original = await bm25.ranked(conn, [book_id], "caterpillar hookah", 5)
    assert found and [c for _, c in found] == [c for _, c in original]
    assert (await reindex._keep_books_current(pool))["postings"] == 0


async def test_search_across_a_readers_library_groups_by_book(
    ingested: tuple,  # type: ignore[type-arg]
) -> None:
    pool, user, book_id = ingested
    _, opened = await _copy_of_alice(pool, public=True)
    _, unopened = await _copy_of_alice(pool, public=True)
    _, private = await _copy_of_alice(pool)
    await pool.execute(
        "INSERT INTO reading_progress (user_id, book_id, last_read_at) VALUES ($1, $2, now())",
        user, opened,
    )  # fmt: skip
    embedder = make_embedder(session_settings())
    async with pool.acquire() as conn:
        groups = await search_library(conn, embedder, user, "the caterpillar's hookah", 6)
    found = {g.book_id for g in groups}
    assert found == {book_id, opened}  # not a public book never opened, not a private one
    titles = {r["id"]: r["title"] for r in await pool.fetch("SELECT id, title FROM books")}
    assert all(g.title == titles[g.book_id] for g in groups)
    for group in groups:
        owners = await pool.fetch(
            "SELECT book_id FROM book_embeddings WHERE id = ANY($1)",
            [h.chunk_id for h in group.hits],
        )
        assert group.hits and {r["book_id"] for r in owners} == {group.book_id}
        assert "hookah" in group.hits[0].text.lower()
    scores = [h.score for g in groups for h in g.hits]
    assert groups[0].hits[0].score == max(scores)
    assert private not in found and unopened not in found


async def test_books_stored_before_document_ids_get_them_from_their_files(
    ingested: tuple,  # type: ignore[type-arg]
) -> None:
    pool, _, book_id = ingested
    alice = (CORPUS / "alice-in-wonderland_epub3.epub").read_bytes()
    assert await pool.fetchval("SELECT partial_md5 FROM books WHERE id = $1", book_id) == (
        partial_md5(alice)  # computed at upload
    )
    # as migration 0022 found the books already stored: no id, one with its file gone
    lost = await pool.fetchval(
        """INSERT INTO books (user_id, title, file_type, file_path, processing_status)
           SELECT user_id, 'lost', 'epub', 'books/none/original.epub', 'completed'
           FROM books WHERE id = $1 RETURNING id""",
        book_id,
    )  # fmt: skip
    await pool.execute("UPDATE books SET partial_md5 = NULL WHERE id = ANY($1)", [book_id, lost])
    missing = await pool.fetchval(
        "SELECT count(*) FROM books WHERE partial_md5 IS NULL AND file_path IS NOT NULL"
    )  # ours, and those other tests of this module made without a file's bytes
    assert await fill_document_ids(pool, limit=1) == {"filled": 1}  # a run stops on its limit
    assert await fill_document_ids(pool) == {"filled": missing - 1}
    assert await fill_document_ids(pool) == {"filled": 0}  # nothing left, none asked twice
    ids = dict(await pool.fetch("SELECT id, partial_md5 FROM books WHERE id = ANY($1)",
                                [book_id, lost]))  # fmt: skip
    assert ids == {book_id: partial_md5(alice), lost: ""}


async def test_epub_chapters_know_the_spine_item_they_came_from(
    ingested: tuple,  # type: ignore[type-arg]
) -> None:
    pool, _, book_id = ingested
    rows = await pool.fetch(
        "SELECT source_index FROM book_chapters WHERE book_id = $1 ORDER BY chapter_number",
        book_id,
    )
    indexes = [r["source_index"] for r in rows]
    assert all(i is not None for i in indexes) and indexes == sorted(set(indexes))
    assert indexes[0] >= 1  # KOReader counts DocFragments from 1

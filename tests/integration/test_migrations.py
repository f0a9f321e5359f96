"""Migrations on a real PostgreSQL with pgvector: apply, re-apply, lock, checksum, and
the seed's full schema."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from server.migrate import (
    ADVISORY_LOCK_KEY,
    MIGRATIONS_DIR,
    MigrationError,
    apply_migrations,
    load_migrations,
)
from tests.factories import make_book, make_user
from tests.integration.seed_schema import SEED_COLUMNS, SEED_INDEXES, SEED_VIEWS
from tests.services import Postgres


@pytest.fixture
async def empty_db(postgres: Postgres) -> AsyncIterator[str]:
    url = await postgres.create_database(migrated=False)
    yield url
    await postgres.drop_database(url)


async def test_applies_to_an_empty_database_then_is_a_no_op(empty_db: str) -> None:
    conn = await asyncpg.connect(empty_db)
    try:
        first = await apply_migrations(conn)
        assert first == [m.name for m in load_migrations()]
        assert await apply_migrations(conn) == []
        recorded = await conn.fetch("SELECT name, checksum FROM schema_migrations ORDER BY 1")
        assert [(r["name"], r["checksum"]) for r in recorded] == [
            (m.name, m.checksum) for m in load_migrations()
        ]
    finally:
        await conn.close()


async def test_a_second_migrator_waits_for_the_first(empty_db: str) -> None:
    holder = await asyncpg.connect(empty_db)
    second = await asyncpg.connect(empty_db)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
        task = asyncio.create_task(apply_migrations(second))
        await asyncio.sleep(0.5)
        assert not task.done(), "the second migrator ran while the lock was held"
        tables = await holder.fetchval("SELECT to_regclass('users')")
        assert tables is None
        await holder.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)
        applied = await asyncio.wait_for(task, 30)
        assert len(applied) == len(load_migrations())
    finally:
        await holder.close()
        await second.close()


async def test_concurrent_migrators_apply_each_file_once(empty_db: str) -> None:
    conns = [await asyncpg.connect(empty_db) for _ in range(3)]
    try:
        results = await asyncio.gather(*(apply_migrations(c) for c in conns))
        applied = sorted(name for r in results for name in r)
        assert applied == sorted(m.name for m in load_migrations())
    finally:
        for c in conns:
            await c.close()


async def test_an_edited_applied_migration_is_an_error(empty_db: str, tmp_path: Path) -> None:
    for path in MIGRATIONS_DIR.glob("*.sql"):
        shutil.copy(path, tmp_path / path.name)
    conn = await asyncpg.connect(empty_db)
    try:
        await apply_migrations(conn, tmp_path)
        first = sorted(tmp_path.glob("*.sql"))[0]
        first.write_text(first.read_text() + "\n-- edited\n")
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await apply_migrations(conn, tmp_path)
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_nothing_behind(empty_db: str, tmp_path: Path) -> None:
    (tmp_path / "0001_ok.sql").write_text("CREATE TABLE ok_table (id int);")
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE half (id int); SELECT no_such_fn();")
    conn = await asyncpg.connect(empty_db)
    try:
        with pytest.raises(asyncpg.UndefinedFunctionError):
            await apply_migrations(conn, tmp_path)
        assert await conn.fetchval("SELECT to_regclass('ok_table')") is not None
        assert await conn.fetchval("SELECT to_regclass('half')") is None
        names = await conn.fetch("SELECT name FROM schema_migrations")
        assert [r["name"] for r in names] == ["0001_ok.sql"]
    finally:
        await conn.close()


async def test_every_seed_table_and_column_exists(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        """SELECT table_name, column_name FROM information_schema.columns
           WHERE table_schema = 'public'"""
    )
    present: dict[str, set[str]] = {}
    for r in rows:
        present.setdefault(r["table_name"], set()).add(r["column_name"])
    missing = [
        f"{table}.{column}"
        for table, columns in SEED_COLUMNS.items()
        for column in [*columns, "id"]
        if column not in present.get(table, set())
    ]
    assert missing == []
    assert sum(len(c) for c in SEED_COLUMNS.values()) == 299


async def test_every_seed_index_exists(conn: asyncpg.Connection) -> None:
    names = {r["indexname"] for r in await conn.fetch("SELECT indexname FROM pg_indexes")}
    # PostgreSQL keeps 63 bytes of a name; two seed names are longer and stored cut
    assert [i for i in SEED_INDEXES if i[:63] not in names] == []


async def test_views_exist_with_unique_indexes(conn: asyncpg.Connection) -> None:
    for view in SEED_VIEWS:
        assert await conn.fetchval("SELECT to_regclass($1)", view) is not None
        unique = await conn.fetchval(
            """SELECT count(*) FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname
               JOIN pg_index x ON x.indexrelid = c.oid
               WHERE i.tablename = $1 AND x.indisunique""",
            view,
        )
        assert unique == 1, view


async def test_vector_extension_and_hnsw_index(conn: asyncpg.Connection) -> None:
    assert await conn.fetchval("SELECT 1 FROM pg_extension WHERE extname = 'vector'") == 1
    method = await conn.fetchval(
        """SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam
           WHERE c.relname = 'index_book_embeddings_on_embedding'"""
    )
    assert method == "hnsw"


async def test_partitioned_tables_route_rows_by_month(conn: asyncpg.Connection) -> None:
    user = await conn.fetchval(
        "INSERT INTO users (email, username) VALUES ('p@x.io', 'p') RETURNING id"
    )
    book = await conn.fetchval(
        "INSERT INTO books (user_id, title) VALUES ($1, 'B') RETURNING id", user
    )
    now = datetime.now(UTC)
    old = datetime(2001, 5, 17, tzinfo=UTC)
    for started in (now, old):
        await conn.execute(
            "INSERT INTO reading_sessions (user_id, book_id, started_at) VALUES ($1, $2, $3)",
            user,
            book,
            started,
        )
    where = await conn.fetch(
        "SELECT tableoid::regclass::text AS part, started_at FROM reading_sessions ORDER BY 2"
    )
    assert where[0]["part"] == "reading_sessions_default"
    assert where[1]["part"] == f"reading_sessions_{now:%Y_%m}"
    # a partition made later for a month the default already holds takes its rows
    assert await conn.fetchval("SELECT ensure_monthly_partition('reading_sessions', $1)", old)
    part = await conn.fetchval(
        "SELECT tableoid::regclass::text FROM reading_sessions WHERE started_at = $1", old
    )
    assert part == "reading_sessions_2001_05"
    assert not await conn.fetchval("SELECT ensure_monthly_partition('reading_sessions', $1)", old)
    for parent in ("reading_sessions", "ai_conversations"):
        ahead = await conn.fetchval(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = $1::regclass", parent
        )
        assert ahead >= 5  # default + this month + 3 ahead


async def test_views_do_not_multiply_sums(conn: asyncpg.Connection) -> None:
    """A reader with 3 sessions and 5 highlights has 3 sessions' time, not 15."""
    user = await conn.fetchval(
        "INSERT INTO users (email, username) VALUES ('v@x.io', 'v') RETURNING id"
    )
    book = await conn.fetchval(
        "INSERT INTO books (user_id, title) VALUES ($1, 'B') RETURNING id", user
    )
    for seconds, wpm in ((600, 200.0), (1200, 250.0), (300, 300.0)):
        await conn.execute(
            """INSERT INTO reading_sessions (user_id, book_id, duration_seconds, reading_speed_wpm)
               VALUES ($1, $2, $3, $4)""",
            user,
            book,
            seconds,
            wpm,
        )
    for i in range(5):
        await conn.execute(
            "INSERT INTO highlights (user_id, book_id, selected_text, page_number) "
            "VALUES ($1, $2, $3, 1)",
            user,
            book,
            f"passage {i}",
        )
    await conn.execute(
        "INSERT INTO reading_progress (user_id, book_id, progress_percentage) VALUES ($1, $2, 0.4)",
        user,
        book,
    )
    for view in SEED_VIEWS:
        await conn.execute(f"REFRESH MATERIALIZED VIEW {view}")
    stats = await conn.fetchrow("SELECT * FROM user_reading_stats WHERE user_id = $1", user)
    assert stats is not None
    assert stats["total_sessions"] == 3
    assert stats["total_reading_time"] == 2100
    assert stats["total_highlights"] == 5
    assert stats["total_books"] == 1
    assert stats["average_reading_speed"] == pytest.approx(250.0)
    book_stats = await conn.fetchrow("SELECT * FROM book_popularity_stats WHERE book_id = $1", book)
    assert book_stats is not None
    assert book_stats["total_highlights"] == 5
    assert book_stats["unique_highlighters"] == 1
    assert book_stats["unique_readers"] == 1
    assert book_stats["average_completion_rate"] == pytest.approx(0.4)
    daily = await conn.fetch("SELECT * FROM daily_platform_metrics")
    assert [(d["total_reading_sessions"], d["total_reading_time"]) for d in daily] == [(3, 2100)]
    assert daily[0]["premium_active_users"] == 0


async def test_books_read_before_their_files_titles_were_are_no_longer_reused(
    conn: asyncpg.Connection,
) -> None:
    owner = await make_user(conn)
    read = {  # (type, the title read from the file) -> read again?
        ("mobi", None): True, ("mobi", "Children's Literature"): True,
        ("docx", None): True, ("docx", "Test Document"): False,
        ("epub", None): False, ("pdf", None): False,
    }  # fmt: skip
    books = {}
    for kind, title in read:
        book = await make_book(conn, owner)
        await conn.execute(
            "UPDATE books SET file_type = $2, file_title = $3, file_metadata_known = true"
            " WHERE id = $1",
            book, kind, title,
        )  # fmt: skip
        books[book] = (kind, title)
    await conn.execute((MIGRATIONS_DIR / "0035_read_titles_again.sql").read_text())
    rows = await conn.fetch(
        "SELECT id, file_metadata_known FROM books WHERE id = ANY($1)", list(books)
    )
    assert {books[r["id"]]: not r["file_metadata_known"] for r in rows} == read

"""Stats and the operator's endpoints over HTTP: /users/me/stats, /books/{id}/stats,
/admin/health (administrators only) and /metrics."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from tests.e2e.helpers import Account, book_for, register
from tests.services import ServerProcess

pytestmark = pytest.mark.e2e


def _client(server: ServerProcess, account: Account | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {account.token}"} if account else {}
    return httpx.AsyncClient(base_url=server.base_url + "/api/v1", headers=headers, timeout=30)


async def test_stats_over_http(server: ServerProcess, database_url: str) -> None:
    reader = await register(server.base_url)
    stranger = await register(server.base_url)
    book = await book_for(database_url, reader.id)
    async with _client(server, reader) as http:
        mine = await http.get("/users/me/stats")
        assert mine.status_code == 200
        assert mine.json() == {
            "total_books": 1, "completed_books": 0, "total_highlights": 0,
            "total_bookmarks": 0, "total_sessions": 0, "total_reading_time": 0,
            "average_reading_speed": 0.0, "quotes_shared": 0, "reading_streak": 0,
        }  # fmt: skip
        line = {"selected_text": "a line", "page_number": 1, "start_offset": 0, "end_offset": 6}
        made = await http.post(f"/books/{book}/highlights", json=line)
        assert made.status_code == 201
        assert (await http.get("/users/me/stats")).json()["total_highlights"] == 1
        stats = await http.get(f"/books/{book}/stats")
        assert stats.status_code == 200 and stats.json()["total_highlights"] == 1
    async with _client(server, stranger) as http:
        assert (await http.get(f"/books/{book}/stats")).status_code == 404  # private book
        assert (await http.get(f"/books/{uuid.uuid4()}/stats")).status_code == 404


async def test_admin_health_is_for_administrators(server: ServerProcess, database_url: str) -> None:
    admin = await register(server.base_url)
    someone = await register(server.base_url)
    conn = await asyncpg.connect(database_url)
    await conn.execute("UPDATE users SET is_admin = true WHERE id = $1", admin.id)
    await conn.close()
    async with _client(server, None) as http:
        assert (await http.get("/admin/health")).status_code == 401
    async with _client(server, someone) as http:
        refused = await http.get("/admin/health")
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    async with _client(server, admin) as http:
        report = (await http.get("/admin/health")).json()
    db = report["database"]
    assert db["status"] == "ok" and 0 < db["round_trip_ms"] < 1000
    assert db["connections"]["total"] >= 1
    if db["slowest_statements"] is None:
        assert "pg_stat_statements is not installed" in db["slowest_statements_note"]
    tables = {t["table"] for t in db["tables"]}
    assert {"books", "highlights", "channel_events"} <= tables
    assert all({"index", "scans", "bytes"} <= set(i) for i in db["least_used_indexes"])
    assert "refreshed_at" in db["views"]
    assert report["redis"]["status"].startswith("not used")
    assert report["pool"]["size"] >= 1 and report["realtime"]["connections"] >= 0


async def test_metrics_name_what_an_operator_pages_on(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        text = (await http.get("/metrics")).text
    for name in ("bookmind_ws_connections", "bookmind_events_published_total",
                 "bookmind_events_delivered_total", "bookmind_slow_consumer_closes_total",
                 "bookmind_ws_queue_depth_max", "bookmind_ingest_seconds",
                 "bookmind_ingest_failures_total", "bookmind_db_pool_in_use"):  # fmt: skip
        assert name in text, name


async def test_reading_per_day_counts_each_day_in_the_readers_time_zone(
    server: ServerProcess, database_url: str
) -> None:
    reader = await register(server.base_url)
    book = await book_for(database_url, reader.id)
    conn = await asyncpg.connect(database_url)
    # the days are Tokyo's: one session just after its midnight, one two hours before it
    await conn.execute("UPDATE users SET time_zone = 'Asia/Tokyo' WHERE id = $1", reader.id)
    await conn.execute(
        """WITH m AS (SELECT date_trunc('day', now() AT TIME ZONE 'Asia/Tokyo')
                               AT TIME ZONE 'Asia/Tokyo' AS midnight)
           INSERT INTO reading_sessions (user_id, book_id, started_at, duration_seconds,
                                         pages_read)
           SELECT $1::uuid, $2::uuid, least(now(), m.midnight + interval '1 second'), 600, 5 FROM m
           UNION ALL
           SELECT $1::uuid, $2::uuid, m.midnight - interval '2 hours', 300, 2 FROM m""",
        reader.id, book,
    )  # fmt: skip
    await conn.close()
    async with _client(server, reader) as http:
        days = (await http.get("/users/me/stats/daily", params={"days": 7})).json()["items"]
        assert len(days) == 7 and days == sorted(days, key=lambda d: d["date"])
        assert days[-1]["seconds"] == 600 and days[-1]["pages"] == 5 and days[-1]["sessions"] == 1
        assert days[-2]["seconds"] == 300 and days[-2]["sessions"] == 1
        assert all(d["seconds"] == 0 for d in days[:-2])
        for bad in ("0", "367", "x"):
            refused = await http.get("/users/me/stats/daily", params={"days": bad})
            assert refused.status_code in (400, 422), (bad, refused.text)
    async with _client(server, None) as http:
        assert (await http.get("/users/me/stats/daily")).status_code == 401


async def test_reading_state_and_sessions_over_http(
    server: ServerProcess, database_url: str
) -> None:
    reader, stranger = await register(server.base_url), await register(server.base_url)
    book = await book_for(database_url, reader.id)
    async with _client(server, reader) as http:
        started = await http.post(f"/books/{book}/sessions", json={"start_page": 2})
        assert started.status_code == 201
        ended = await http.patch(f"/sessions/{started.json()['id']}", json={"end_page": 7})
        assert ended.status_code == 200 and ended.json()["pages_read"] == 5
        listed = await http.get(f"/books/{book}/sessions", params={"limit": 5})
        assert listed.headers["x-event-seq"].startswith(f"user:{reader.id}=")
        sessions = listed.json()
        assert [s["id"] for s in sessions["items"]] == [started.json()["id"]]
        state = (await http.get(f"/books/{book}/reading")).json()
        assert state["book_id"] == str(book) and state["total_sessions"] == 1
        assert state["completed"] is False and state["estimated_finish_date"] is None
        assert (
            await http.get(f"/books/{book}/sessions", params={"cursor": "x"})
        ).status_code == 422
    async with _client(server, stranger) as http:
        assert (await http.get(f"/books/{book}/sessions")).status_code == 404
        assert (await http.get(f"/books/{book}/reading")).status_code == 404

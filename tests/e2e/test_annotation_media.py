"""Annotation media end to end: a voice note's recording and a picture uploaded to a
real server, stored, timed, served back to whoever may see the annotation; drawings;
what is refused; and the files removed with the annotation."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from PIL import Image

from domain.reading import media
from server.storage import LocalStorage
from tests.audio import tone
from tests.e2e.helpers import Account, book_for, register
from tests.services import ROOT, ServerProcess
from tests.wsclient import WsClient

pytestmark = pytest.mark.e2e

FILES = ROOT / ".bookmind" / "files"  # where the test servers store files (local disk)


def _http(server: ServerProcess, account: Account) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.base_url + "/api/v1", timeout=30,
                             headers={"Authorization": f"Bearer {account.token}"})  # fmt: skip


async def _note(http: httpx.AsyncClient, book: object, **fields: Any) -> dict[str, Any]:
    body = {"annotation_type": "voice", "page_number": 3, **fields}
    made = await http.post(f"/books/{book}/annotations", json=body)
    assert made.status_code == 201, made.text
    note: dict[str, Any] = made.json()
    return note


async def test_a_voice_note_is_stored_timed_and_served_to_those_who_may_see_it(
    server: ServerProcess, database_url: str
) -> None:
    reader, stranger = await register(server.base_url), await register(server.base_url)
    book = await book_for(database_url, reader.id, public=True)
    tablet = WsClient(server.ws_url, reader.token, "tablet")
    await tablet.open()
    recording = tone(4.2, "audio/ogg")
    async with _http(server, reader) as http, _http(server, stranger) as theirs:
        note = await _note(http, book, audio_transcript="why does she run?")
        assert note["content"] is None and note["plain_text_content"] == "why does she run?"
        put = await http.put(f"/annotations/{note['id']}/audio",
                             files={"file": ("memo.ogg", recording)})  # fmt: skip
        assert put.status_code == 200, put.text
        stored = put.json()
        assert stored["audio_duration_seconds"] == 4
        assert stored["audio_file_url"] == f"/api/v1/annotations/{note['id']}/audio"
        heard = await tablet.wait_for(lambda f: f.get("event") == "annotation.updated")
        assert heard["data"]["audio_duration_seconds"] == 4
        back = await http.get(f"/annotations/{note['id']}/audio")
        assert back.content == recording and back.headers["content-type"] == "audio/ogg"
        # a private note's recording is the reader's alone; a public one's, any reader's
        assert (await theirs.get(f"/annotations/{note['id']}/audio")).status_code == 404
        await http.patch(f"/annotations/{note['id']}", json={"public": True})
        assert (await theirs.get(f"/annotations/{note['id']}/audio")).content == recording
        audio = f"/annotations/{note['id']}/audio"
        assert (await theirs.put(audio, files={"file": ("x.ogg", recording)})).status_code == 403

        # a new recording replaces the old; refusals change nothing
        mp3 = tone(1.2, "audio/mpeg")
        replaced = await http.put(audio, files={"file": ("b.mp3", mp3)})
        assert replaced.json()["audio_duration_seconds"] == 1
        for name, data, status in (
            ("a.pdf", b"%PDF-1.7 not a recording", 415),
            ("cut.ogg", recording[:300], 422),
            ("empty.ogg", b"", 422),
            ("huge.wav", b"RIFF" + b"\x00" * (media.MAX_AUDIO_BYTES + 10), 413),
        ):
            refused = await http.put(f"/annotations/{note['id']}/audio",
                                     files={"file": (name, data)})  # fmt: skip
            assert refused.status_code == status, (name, refused.text)
        assert (await http.get(f"/annotations/{note['id']}/audio")).content == mp3
        text = await http.post(f"/books/{book}/annotations", json={
            "annotation_type": "text", "content": "a thought", "page_number": 1})  # fmt: skip
        wrong = await http.put(f"/annotations/{text.json()['id']}/audio",
                               files={"file": ("m.ogg", recording)})  # fmt: skip
        assert wrong.status_code == 422 and wrong.json()["field"] == "annotation_type"
        no_content = await http.post(f"/books/{book}/annotations", json={
            "annotation_type": "text", "page_number": 1})  # fmt: skip
        assert no_content.status_code == 422 and no_content.json()["field"] == "content"
    await tablet.close()


async def test_pictures_and_drawings(server: ServerProcess, database_url: str) -> None:
    reader = await register(server.base_url)
    book = await book_for(database_url, reader.id)
    async with _http(server, reader) as http:
        strokes = [{"points": [[0, 0], [10, 12.5], [20, 30]], "color": "#aa3300", "width": 3}]
        drawing = {"width": 800, "height": 600, "strokes": strokes}
        made = await http.post(f"/books/{book}/annotations", json={
            "annotation_type": "drawing", "page_number": 2, "drawing_data": drawing})  # fmt: skip
        assert made.status_code == 201, made.text
        assert made.json()["drawing_data"]["strokes"][0]["points"][1] == [10, 12.5]
        too_many = {**drawing, "strokes": [{"points": [[1, 1]] * 2000}] * 6}
        for bad in (
            {"annotation_type": "drawing", "page_number": 2, "drawing_data": too_many},
            {"annotation_type": "drawing", "page_number": 2,
             "drawing_data": {**drawing, "strokes": [{"points": [], "color": "red"}]}},
            {"annotation_type": "text", "content": "x", "page_number": 2,
             "drawing_data": drawing},
        ):  # fmt: skip
            assert (await http.post(f"/books/{book}/annotations", json=bad)).status_code == 422
        moved = await http.patch(f"/annotations/{made.json()['id']}",
                                 json={"drawing_data": {**drawing, "width": 400}})  # fmt: skip
        assert moved.json()["drawing_data"]["width"] == 400

        photo = io.BytesIO()
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"
        Image.new("RGB", (640, 480), (30, 90, 160)).save(photo, "JPEG", exif=exif)
        put = await http.put(f"/annotations/{made.json()['id']}/image",
                             files={"file": ("p.jpg", photo.getvalue())})  # fmt: skip
        assert put.status_code == 200, put.text
        assert put.json()["image_url"] == f"/api/v1/annotations/{made.json()['id']}/image"
        picture = await http.get(f"/annotations/{made.json()['id']}/image")
        assert picture.headers["content-type"] == "image/jpeg"
        assert b"PhoneMaker" not in picture.content
        assert Image.open(io.BytesIO(picture.content)).size == (640, 480)
        refused = await http.put(f"/annotations/{made.json()['id']}/image",
                                 files={"file": ("t.txt", b"plain words")})  # fmt: skip
        assert refused.status_code == 415

        # deleted, then purged: the files go with the row
        assert (await http.delete(f"/annotations/{made.json()['id']}")).status_code == 204
        assert (await http.get(f"/annotations/{made.json()['id']}/image")).status_code == 404
    folder = FILES / "annotations" / made.json()["id"]
    assert (folder / "image").exists()
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("DELETE FROM annotations WHERE id = $1", made.json()["id"])
        assert await media.remove_orphans(conn, LocalStorage(Path(FILES))) >= 1
        left = await conn.fetchval(
            "SELECT count(*) FROM annotation_media WHERE annotation_id = $1", made.json()["id"]
        )
    finally:
        await conn.close()
    assert left == 0 and not folder.exists()

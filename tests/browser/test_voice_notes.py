"""A voice note as browsers record it: Chromium's MediaRecorder writes WebM with no
duration in its header (sizes unknown, written live), and the server still reads its
length, from the last block's time."""

from __future__ import annotations

import base64

import httpx
import pytest
from playwright.async_api import async_playwright

from domain.reading import media_files
from tests.browser.conftest import CHROMIUM_ARGS
from tests.e2e.helpers import book_for, register
from tests.services import ServerProcess

pytestmark = pytest.mark.e2e

RECORD = """async (ms) => {
    const ctx = new AudioContext();
    const tone = ctx.createOscillator();
    const out = ctx.createMediaStreamDestination();
    tone.connect(out);
    tone.start();
    const recorder = new MediaRecorder(out.stream, {mimeType: "audio/webm;codecs=opus"});
    const parts = [];
    recorder.ondataavailable = (e) => parts.push(e.data);
    const done = new Promise((resolve) => { recorder.onstop = resolve; });
    recorder.start(250);  // in pieces, as a recording app streams them
    await new Promise((resolve) => setTimeout(resolve, ms));
    recorder.stop();
    await done;
    const bytes = new Uint8Array(await new Blob(parts).arrayBuffer());
    let text = "";
    for (const b of bytes) text += String.fromCharCode(b);
    return btoa(text);
}"""


async def test_a_recording_made_by_the_browser_is_timed_and_kept(
    chromium: str, server: ServerProcess, database_url: str
) -> None:
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=chromium,
            args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"],
        )
        page = await browser.new_page()
        recording = base64.b64decode(await page.evaluate(RECORD, 2500))
        await browser.close()
    assert recording[:4] == b"\x1a\x45\xdf\xa3"  # WebM
    assert 2.0 <= (media_files.webm_seconds(recording) or 0) <= 3.2
    reader = await register(server.base_url)
    book = await book_for(database_url, reader.id)
    headers = {"Authorization": f"Bearer {reader.token}"}
    async with httpx.AsyncClient(base_url=server.base_url + "/api/v1", headers=headers) as http:
        note = await http.post(f"/books/{book}/annotations",
                               json={"annotation_type": "voice", "page_number": 1})  # fmt: skip
        put = await http.put(f"/annotations/{note.json()['id']}/audio",
                             files={"file": ("note.webm", recording)})  # fmt: skip
        assert put.status_code == 200, put.text
        assert put.json()["audio_duration_seconds"] in (2, 3)
        back = await http.get(f"/annotations/{note.json()['id']}/audio")
        assert back.content == recording and back.headers["content-type"] == "audio/webm"

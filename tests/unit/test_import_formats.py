"""Reading other tools' exports (domain/imports/formats.py) from fixtures written to
their formats (tests/data/imports/README.md): Kindle clippings in several languages and
firmware layouts, with BOMs, CRLF, an edited highlight appended twice and a note;
KOReader's JSON and Markdown; Readwise's CSV with RFC 4180 quoting."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from domain.imports.formats import ImportFormatError, detect, parse
from tests.services import ROOT

DATA = ROOT / "tests" / "data" / "imports"
ALICE = "Alice's Adventures in Wonderland"


def clippings() -> list:  # type: ignore[type-arg]
    return parse((DATA / "My Clippings.txt").read_bytes(), "clippings")


def test_each_fixture_is_detected_as_its_format() -> None:
    assert detect((DATA / "My Clippings.txt").read_bytes()) == "clippings"
    assert detect((DATA / "koreader.json").read_bytes()) == "koreader"
    assert detect((DATA / "koreader.md").read_bytes()) == "koreader"
    assert detect((DATA / "readwise.csv").read_bytes()) == "readwise"
    with pytest.raises(ImportFormatError):
        detect(b"just some words\nof a letter")


def test_kindle_entries_in_every_language_and_layout() -> None:
    entries = clippings()
    alice = [e for e in entries if e.title == ALICE]
    assert {e.author for e in alice} == {"Lewis Carroll"}
    highlights = [e for e in alice if e.kind == "highlight"]
    by_location = {e.location: e for e in highlights}
    assert (563, 564) in by_location  # old firmware: "Highlight Loc. 563-64"
    assert by_location[(180, 181)].page == 12  # German: Markierung auf Seite 12 | Position
    assert by_location[(305, 306)].page == 20  # French: surlignement ... emplacement
    assert by_location[(500, 501)].page == 30  # Spanish: subrayado ... posición
    assert by_location[(700, 701)].page == 40  # Japanese: 40ページ|位置No. 700-701
    assert by_location[(720, 721)].text.startswith("\u201cHerald")  # Chinese: 位置 #720-721的标注
    assert by_location[(730, 731)].page == 41  # Russian: отрывок на странице 41
    assert [e.kind for e in alice].count("bookmark") == 1
    first = by_location[(7, 8)]
    assert first.created_at == datetime(2024, 8, 22, 19, 0, 10, tzinfo=UTC)
    # every language's date is read: German, French, Spanish, Japanese, Chinese (下午 is
    # PM), Russian; and the old firmware's, without seconds
    for location in ((180, 181), (305, 306), (500, 501), (700, 701), (720, 721), (730, 731)):
        assert by_location[location].created_at == datetime(2024, 8, 22, 19, 1, 4, tzinfo=UTC)
    assert by_location[(563, 564)].created_at == datetime(2011, 4, 4, 20, 32, tzinfo=UTC)


def test_an_edited_kindle_highlight_keeps_its_longest_text_and_gets_its_note() -> None:
    opening = [e for e in clippings() if e.text.startswith("Alice was beginning")]
    assert len(opening) == 1  # appended twice by the Kindle, overlapping: one
    assert opening[0].text.endswith("having nothing to do.")
    assert opening[0].note == "Her sister's book had no pictures."
    assert not [e for e in clippings() if e.kind == "note"]  # the note joined it


def test_crlf_lf_and_a_bom_before_every_entry_read_the_same() -> None:
    raw = (DATA / "My Clippings.txt").read_bytes()
    assert raw.count("\ufeff".encode()) > 5 and b"\r\n" in raw
    as_lf = raw.replace(b"\r\n", b"\n").replace("\ufeff".encode(), b"")
    assert parse(as_lf, "clippings") == clippings()


def test_several_books_in_one_kindle_file_keep_their_titles() -> None:
    titles = {(e.title, e.author) for e in clippings()}
    assert titles == {(ALICE, "Lewis Carroll"), ("Pride and Prejudice", "Austen, Jane")}
    odd = parse(b"Book (Vol. 2) (Some One)\n- Your Highlight on page 1 | Location 3-4 | "
                b"Added on Thursday, August 22, 2024 7:01:04 PM\n\nWords\n==========\n",
                "clippings")  # fmt: skip
    assert (odd[0].title, odd[0].author) == ("Book (Vol. 2)", "Some One")


def test_koreader_json_single_and_several_documents() -> None:
    single = parse((DATA / "koreader.json").read_bytes(), "koreader")
    assert [e.page for e in single] == [2, 14, 50]
    assert single[1].note == "She speaks bad English when surprised."
    assert single[1].chapter == "The Pool Of Tears" and single[1].color == "blue"
    assert single[0].created_at == datetime.fromtimestamp(1724353264, UTC)
    doc = json.loads((DATA / "koreader.json").read_text())
    several = json.dumps(
        {"documents": [doc, {**doc, "title": "Another", "entries": doc["entries"][:1]}]}
    )
    entries = parse(several.encode(), "koreader")
    assert [e.title for e in entries] == [ALICE] * 3 + ["Another"]


def test_koreader_markdown() -> None:
    entries = parse((DATA / "koreader.md").read_bytes(), "koreader")
    assert [(e.page, e.chapter) for e in entries] == [(2, "Down The Rabbit-Hole"),
        (14, "The Pool Of Tears"), (15, "The Pool Of Tears")]  # fmt: skip
    assert entries[0].text.startswith("Once or twice")  # *italics* taken off
    assert entries[1].text == 'Curiouser and curiouser!" cried Alice'  # **bold** taken off
    assert entries[1].note == "She speaks bad English when surprised."
    assert entries[0].author == "Lewis Carroll" and entries[0].title == ALICE


def test_readwise_csv_quoting_newlines_and_tags() -> None:
    entries = parse((DATA / "readwise.csv").read_bytes(), "readwise")
    assert len(entries) == 3
    first = entries[0]
    assert first.text.startswith('"No, I\'ll look first," she said')
    assert first.note == "Wise child,\nvery wise."
    assert first.tags == ["caution", "bottles"] and first.location == (77, 77)
    assert entries[1].page == 18 and entries[2].title == "Pride and Prejudice"


def test_the_same_entry_has_the_same_key_in_every_read() -> None:
    assert [e.key for e in clippings()] == [e.key for e in clippings()]
    assert len({e.key for e in clippings()}) == len(clippings())


@pytest.mark.parametrize("data,kind", [(b"{not json", "koreader"), (b"a,b\n1,2\n", "readwise"),
                                       (b"# \n", "koreader")])  # fmt: skip
def test_broken_files_are_refused_with_a_reason(data: bytes, kind: str) -> None:
    with pytest.raises(ImportFormatError):
        parse(data, kind)


def test_two_highlights_in_one_kindle_location_stay_two() -> None:
    meta = "- Your Highlight on page 5 | Location 176 | Added on Friday, August 23, 2024"
    raw = "".join(f"Alice (Lewis Carroll)\n{meta}\n\n{words}\n==========\n"
                  for words in ("Who are you?", "said the Caterpillar"))  # fmt: skip
    read = parse(raw.encode(), "clippings")
    assert [e.text for e in read] == ["Who are you?", "said the Caterpillar"]

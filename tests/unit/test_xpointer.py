"""KOReader XPointers inside a spine item (domain/kosync/xpointer.py): the paths crengine
writes resolve to the text BookMind reads, and an offset becomes a path that resolves
back to the same paragraph, at or before it."""

from __future__ import annotations

import random

import pytest

from domain.books.parse_epub import html_to_text, spine_documents
from domain.kosync.xpointer import read_fragment
from tests.services import CORPUS

PAGE = b"""<?xml version="1.0" encoding="utf-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>t</title>
<style>p { margin: 0 }</style></head>
<body>
  <div class="chapter">
    <h2>Chapter  One</h2>
    <p>First paragraph, plain.</p>
    <!-- a comment crengine drops -->
    <p>Second <i>with italics</i> and a tail<br/>after a break.</p>
    <script>var hidden = 1;</script>
    <p>Third   paragraph,
    folded.</p>
  </div>
  <div><p>In the second div.</p></div>
</body></html>"""


def test_crengine_paths_resolve_to_the_words_they_name() -> None:
    page = read_fragment(PAGE)
    assert page.text == html_to_text(PAGE)[0]

    def at(path: str) -> str:
        offset = page.offset_of(path)
        assert offset is not None, path
        return page.text[offset : offset + 12]

    assert at("/body/div[1]/h2/text().0") == "Chapter One\n"
    assert at("/body/div[1]/p[1]/text().6") == "paragraph, p"
    assert at("/body/div[1]/p[2]/text()[1].0") == "Second with "
    assert at("/body/div[1]/p[2]/i/text().5") == "italics and "
    assert at("/body/div[1]/p[2]/text()[2].5") == "a tail\n\nafte"  # after </i>
    assert at("/body/div[1]/p[2]/text()[3].0") == "after a brea"  # after <br/>
    assert at("/body/div[1]/p[3]/text().6") == "paragraph, f"  # blank runs folded
    assert at("/body/div[1]/p[3]/text().17").startswith("folded.")
    assert at("/body/div[2]/p/text().3") == "the second d"
    assert at("/body/div[2]/p") == "In the secon"  # an element: its first words
    assert at("/body/div[1]/p[2].0") == "Second with "
    # a text node counted otherwise than here: still its paragraph
    assert at("/body/div[1]/p[2]/text()[7].0") == "Second with "


@pytest.mark.parametrize("path", ["/body/div[9]/p/text().0", "/body/div[1]/q/text().0",
                                  "garbage", "/body/div[1]/p[x]"])  # fmt: skip
def test_a_path_that_names_nothing_resolves_to_nothing(path: str) -> None:
    assert read_fragment(PAGE).offset_of(path) is None


def test_offsets_become_paths_written_as_crengine_writes_them() -> None:
    page = read_fragment(PAGE)
    tail = page.text.index("a tail")
    assert page.pointer_at(tail + 2) == "/body/div[1]/p[2]/text()[2].7"  # " and a tail"
    third = page.text.index("Third")
    assert page.pointer_at(third + 6) == "/body/div[1]/p[3]/text().6"
    assert page.pointer_at(page.text.index("second div")) == "/body/div[2]/p/text().7"
    assert page.pointer_at(0) == "/body/div[1]/h2/text().0"


@pytest.mark.parametrize("name", ["alice-in-wonderland_epub3.epub",
                                  "pride-and-prejudice_pg1342_epub2.epub"])  # fmt: skip
def test_every_offset_of_a_real_book_goes_there_and_back_within_its_paragraph(name: str) -> None:
    rng = random.Random(7)
    for n, content in spine_documents((CORPUS / name).read_bytes()).items():
        page = read_fragment(content)
        assert page.text == html_to_text(content)[0], n  # the text ingestion stored
        for offset in rng.sample(range(len(page.text)), min(40, len(page.text))):
            path = page.pointer_at(offset)
            back = page.offset_of(path)
            assert back is not None and back <= offset, (n, offset, path)
            assert "\n\n" not in page.text[back:offset].strip(), (n, offset, path)

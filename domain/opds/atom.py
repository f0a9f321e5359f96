"""OPDS 1.2 feeds as Atom XML (opds-community/specs, opds-1.2): navigation feeds that
lead to acquisition feeds, whose entries are books with a link to download the file
and links to the cover. Built with ElementTree, so every value is escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from domain.books.models import Book
from domain.books.operations import CONTENT_TYPES

ATOM = "http://www.w3.org/2005/Atom"
DC = "http://purl.org/dc/terms/"
OPDS = "http://opds-spec.org/2010/catalog"
OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"
for prefix, uri in (("", ATOM), ("dc", DC), ("opds", OPDS), ("opensearch", OPENSEARCH)):
    ET.register_namespace(prefix, uri)

NAVIGATION = "application/atom+xml;profile=opds-catalog;kind=navigation"
ACQUISITION = "application/atom+xml;profile=opds-catalog;kind=acquisition"
OPENSEARCH_TYPE = "application/opensearchdescription+xml"
ROOT = "/opds"


def _a(tag: str) -> str:
    return f"{{{ATOM}}}{tag}"


def _stamp(moment: datetime | None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element


def _link(parent: ET.Element, rel: str, href: str, kind: str, title: str | None = None
          ) -> None:  # fmt: skip
    attrs = {"rel": rel, "href": href, "type": kind}
    if title:
        attrs["title"] = title
    ET.SubElement(parent, _a("link"), attrs)


def feed(feed_id: str, title: str, href: str, kind: str, updated: datetime | None = None
         ) -> ET.Element:  # fmt: skip
    root = ET.Element(_a("feed"))
    _text(root, _a("id"), f"urn:bookmind:opds:{feed_id}")
    _text(root, _a("title"), title)
    _text(root, _a("updated"), _stamp(updated))
    author = ET.SubElement(root, _a("author"))
    _text(author, _a("name"), "BookMind")
    _link(root, "self", href, kind)
    _link(root, "start", ROOT, NAVIGATION)
    _link(root, "search", f"{ROOT}/search.xml", OPENSEARCH_TYPE, "Search your library")
    return root


def pages(root: ET.Element, href: str, kind: str, page: int, more: bool) -> None:
    """first / previous / next links of a paged feed (`href` without its page)."""
    sep = "&" if "?" in href else "?"
    _link(root, "first", href, kind)
    if page > 1:
        _link(root, "previous", f"{href}{sep}page={page - 1}", kind)
    if more:
        _link(root, "next", f"{href}{sep}page={page + 1}", kind)


def navigation_entry(root: ET.Element, entry_id: str, title: str, href: str, summary: str,
                     kind: str = ACQUISITION) -> None:  # fmt: skip
    entry = ET.SubElement(root, _a("entry"))
    _text(entry, _a("title"), title)
    _text(entry, _a("id"), f"urn:bookmind:opds:{entry_id}")
    _text(entry, _a("updated"), _stamp(None))
    _text(entry, _a("content"), summary, type="text")
    _link(entry, "subsection", href, kind)


def book_entry(root: ET.Element, book: Book) -> None:
    entry = ET.SubElement(root, _a("entry"))
    _text(entry, _a("title"), book.title)
    _text(entry, _a("id"), f"urn:uuid:{book.id}")
    _text(entry, _a("updated"), _stamp(book.updated_at))
    if book.author:
        author = ET.SubElement(entry, _a("author"))
        _text(author, _a("name"), book.author)
    _text(entry, f"{{{DC}}}language", book.language)
    if book.genre:
        ET.SubElement(entry, _a("category"), {"term": book.genre, "label": book.genre})
    summary = book.description or book.ai_summary
    if summary:
        _text(entry, _a("summary"), summary, type="text")
    if book.cover_image_url:
        cover = f"{ROOT}/books/{book.id}/cover"
        _link(entry, "http://opds-spec.org/image", cover, "image/jpeg")
        _link(entry, "http://opds-spec.org/image/thumbnail", cover, "image/jpeg")
    if book.file_type:
        _link(entry, "http://opds-spec.org/acquisition", f"{ROOT}/books/{book.id}/file",
              CONTENT_TYPES[book.file_type])  # fmt: skip


def opensearch_description() -> bytes:
    root = ET.Element(f"{{{OPENSEARCH}}}OpenSearchDescription")
    _text(root, f"{{{OPENSEARCH}}}ShortName", "BookMind")
    _text(root, f"{{{OPENSEARCH}}}Description", "Search your BookMind library")
    ET.SubElement(root, f"{{{OPENSEARCH}}}Url", {
        "type": ACQUISITION, "template": f"{ROOT}/search?q={{searchTerms}}"})  # fmt: skip
    return serialize(root)


def serialize(root: ET.Element) -> bytes:
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))

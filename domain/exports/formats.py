"""The four export formats, each as the tool it is for reads it.

- markdown: what Obsidian users keep — YAML front matter (title, author, source, link),
  a section per chapter, each highlight a quote block with its notes, tags and a link
  back to its place in the web reader; bookmarks and loose notes after.
- readwise: Readwise's CSV import, header exactly as Readwise documents it, RFC 4180
  quoting (csv module, CRLF).
- annotation: W3C Web Annotation JSON-LD, an AnnotationCollection whose annotations
  target the book's text with a TextQuoteSelector (exact, prefix, suffix) and a
  TextPositionSelector (start, end: BookMind's character offsets).
- clippings: Kindle's `My Clippings.txt` (title line, metadata line, blank line, text,
  `==========`, CRLF), so tools that read Kindle exports read ours; a Kindle location is
  BookMind's offset / 150 + 1 (Kindle counts about 150 bytes a location).

Several books in one export: one markdown file with a `#` section per book (front
matter once), and one CSV, collection or clippings file for all of them."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from domain.anchoring.text import kindle_location

READWISE_HEADER = ["Highlight", "Book Title", "Book Author", "Amazon Book ID", "Note",
                   "Color", "Tags", "Location Type", "Location", "Highlighted at",
                   "Document tags"]  # fmt: skip
CLIPPING_END = "=========="


@dataclass(frozen=True)
class Mark:
    """A highlight as exported."""

    id: UUID
    text: str
    note: str | None
    notes: list[str]  # text notes made on it
    tags: list[str]
    color: str
    page: int | None
    start: int | None
    end: int | None
    chapter: str | None
    chapter_number: int | None
    prefix: str
    suffix: str
    created_at: datetime
    updated_at: datetime

    def all_notes(self) -> list[str]:
        return [n for n in [self.note, *self.notes] if n and n.strip()]


@dataclass(frozen=True)
class Place:
    """A bookmark, or a note not on a highlight (`text` holds the note)."""

    id: UUID
    text: str | None
    title: str | None
    page: int | None
    offset: int | None
    chapter: str | None
    tags: list[str]
    created_at: datetime


@dataclass
class BookMarks:
    id: UUID
    title: str
    author: str | None
    highlights: list[Mark] = field(default_factory=list)
    bookmarks: list[Place] = field(default_factory=list)
    notes: list[Place] = field(default_factory=list)


def reader_link(base_url: str, book_id: UUID, start: int | None, end: int | None = None) -> str:
    if start is None:
        return f"{base_url}/#/book/{book_id}"
    return f"{base_url}/#/book/{book_id}/at/{start}" + (f"-{end}" if end is not None else "")


def _yaml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML string


def _quote_block(text: str) -> list[str]:
    return [f"> {line}" if line.strip() else ">" for line in text.strip().splitlines()]


def _tag(tag: str) -> str:
    return "#" + "-".join(tag.split())


def _markdown_highlights(book: BookMarks, base_url: str, h: str) -> list[str]:
    lines: list[str] = []
    chapter: object = object()
    for mark in book.highlights:
        if mark.chapter != chapter:
            chapter = mark.chapter
            lines += [f"{h}# {mark.chapter or 'Highlights'}", ""]
        lines += [*_quote_block(mark.text), ""]
        for note in mark.all_notes():
            lines += [note.strip(), ""]
        if mark.tags:
            lines += ["Tags: " + " ".join(_tag(t) for t in mark.tags), ""]
        where = [f"[Open in BookMind]({reader_link(base_url, book.id, mark.start, mark.end)})"]
        if mark.page:
            where.append(f"page {mark.page}")
        where.append(mark.created_at.astimezone(UTC).date().isoformat())
        lines += [" · ".join(where) + f" ^{mark.id.hex[:12]}", ""]
    return lines


def _markdown_places(book: BookMarks, base_url: str, h: str) -> list[str]:
    lines: list[str] = []
    if book.notes:
        lines += [f"{h}# Notes", ""]
        for loose in book.notes:
            link = f"[Open in BookMind]({reader_link(base_url, book.id, loose.offset)})"
            lines += [(loose.text or "").strip(), "",
                      link + (f" · page {loose.page}" if loose.page else ""), ""]  # fmt: skip
    if book.bookmarks:
        lines += [f"{h}# Bookmarks", ""]
        for place in book.bookmarks:
            label = place.title or (f"Page {place.page}" if place.page else "Bookmark")
            link = f"- [{label}]({reader_link(base_url, book.id, place.offset)})"
            lines.append(link + (f" — {place.text}" if place.text else ""))
        lines.append("")
    return lines


def _markdown_book(book: BookMarks, base_url: str, level: int) -> list[str]:
    h = "#" * level
    lines = [f"{h} {book.title}", ""]
    if book.author:
        lines += [f"*{book.author}*", ""]
    return lines + _markdown_highlights(book, base_url, h) + _markdown_places(book, base_url, h)


def markdown(books: list[BookMarks], base_url: str, now: datetime, library: bool) -> str:
    """One book's file, or (`library`) the reader's whole library's."""
    if not library and books:
        book = books[0]
        front = ["---", f"title: {_yaml(book.title)}"]
        if book.author:
            front.append(f"author: {_yaml(book.author)}")
        front += [
            "source: BookMind",
            f"url: {_yaml(reader_link(base_url, book.id, None))}",
            f"exported: {now.astimezone(UTC).isoformat(timespec='seconds')}",
            f"highlights: {len(book.highlights)}",
            "tags: [book, highlights]",
            "---",
            "",
        ]
        return "\n".join(front + _markdown_book(book, base_url, 1)).rstrip() + "\n"
    front = ["---", 'title: "BookMind highlights"', "source: BookMind",
             f"exported: {now.astimezone(UTC).isoformat(timespec='seconds')}",
             f"books: {len(books)}", "tags: [highlights]", "---", ""]  # fmt: skip
    lines = [*front, "# BookMind highlights", ""]
    for book in books:
        lines += _markdown_book(book, base_url, 2)
    return "\n".join(lines).rstrip() + "\n"


def readwise_csv(books: list[BookMarks]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(READWISE_HEADER)
    for book in books:
        for mark in book.highlights:
            # a Kindle-style location (finer than a page; what Readwise shows for Kindle)
            location = (("location", str(_location(mark.start))) if mark.start is not None
                        else ("page", str(mark.page or 1)))  # fmt: skip
            writer.writerow([
                mark.text, book.title, book.author or "", "", "\n\n".join(mark.all_notes()),
                mark.color, ", ".join(mark.tags), *location,
                mark.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"), "",
            ])  # fmt: skip
    return out.getvalue()


def _target(book: BookMarks, base_url: str, selectors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"source": reader_link(base_url, book.id, None), "selector": selectors}


def web_annotations(
    books: list[BookMarks], base_url: str, now: datetime, library: bool
) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    for book in books:
        for mark in book.highlights:
            bodies: list[dict[str, Any]] = [
                {"type": "TextualBody", "value": note, "format": "text/plain",
                 "purpose": "commenting"} for note in mark.all_notes()
            ]  # fmt: skip
            bodies += [{"type": "TextualBody", "value": t, "purpose": "tagging"} for t in mark.tags]
            selectors: list[dict[str, Any]] = [
                {"type": "TextQuoteSelector", "exact": mark.text, "prefix": mark.prefix,
                 "suffix": mark.suffix},
            ]  # fmt: skip
            if mark.start is not None and mark.end is not None:
                selectors.append(
                    {"type": "TextPositionSelector", "start": mark.start, "end": mark.end}
                )
            item: dict[str, Any] = {
                "id": f"urn:uuid:{mark.id}", "type": "Annotation",
                "motivation": "commenting" if mark.all_notes() else "highlighting",
                "created": mark.created_at.astimezone(UTC).isoformat(timespec="seconds"),
                "modified": mark.updated_at.astimezone(UTC).isoformat(timespec="seconds"),
                "target": _target(book, base_url, selectors),
            }  # fmt: skip
            if bodies:
                item["body"] = bodies
            items.append(item)
        for kind, places in (("commenting", book.notes), ("bookmarking", book.bookmarks)):
            for place in places:
                position = [{"type": "TextPositionSelector", "start": place.offset,
                             "end": place.offset}] if place.offset is not None else []  # fmt: skip
                item = {
                    "id": f"urn:uuid:{place.id}", "type": "Annotation", "motivation": kind,
                    "created": place.created_at.astimezone(UTC).isoformat(timespec="seconds"),
                    "target": _target(book, base_url, position),
                }  # fmt: skip
                text = place.text if kind == "commenting" else place.title
                if text:
                    item["body"] = {"type": "TextualBody", "value": text, "format": "text/plain"}
                items.append(item)
    return {
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "id": f"{base_url}/api/v1/users/me/export?format=annotation",
        "type": "AnnotationCollection",
        "label": books[0].title if books and not library else "BookMind highlights",
        "generated": now.astimezone(UTC).isoformat(timespec="seconds"),
        "total": len(items),
        "first": {"type": "AnnotationPage", "startIndex": 0, "items": items},
    }


def _kindle_date(at: datetime) -> str:
    at = at.astimezone(UTC)
    hour = at.hour % 12 or 12
    return f"{at:%A, %B} {at.day}, {at.year} {hour}:{at:%M:%S} {'AM' if at.hour < 12 else 'PM'}"


def _location(offset: int | None) -> int:
    return kindle_location(offset or 0)


def _clipping(title: str, kind: str, page: int | None, location: str, at: datetime,
              text: str) -> str:  # fmt: skip
    where = f"on page {page} | Location {location}" if page else f"at Location {location}"
    body = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return "\r\n".join([title, f"- Your {kind} {where} | Added on {_kindle_date(at)}", "",
                        body, CLIPPING_END])  # fmt: skip


def clippings(books: list[BookMarks]) -> str:
    entries: list[str] = []
    for book in books:
        title = f"{book.title} ({book.author})" if book.author else book.title
        for mark in book.highlights:
            first, last = _location(mark.start), _location((mark.end or 1) - 1)
            span = f"{first}-{last}" if last > first else str(first)
            entries.append(_clipping(title, "Highlight", mark.page, span, mark.created_at,
                                     mark.text))  # fmt: skip
            for note in mark.all_notes():
                entries.append(_clipping(title, "Note", mark.page, str(last), mark.created_at,
                                         note))  # fmt: skip
        for loose in book.notes:
            entries.append(_clipping(title, "Note", loose.page, str(_location(loose.offset)),
                                     loose.created_at, loose.text or ""))  # fmt: skip
        for place in book.bookmarks:
            entries.append(_clipping(title, "Bookmark", place.page, str(_location(place.offset)),
                                     place.created_at, ""))  # fmt: skip
    return "".join(e + "\r\n" for e in entries)

"""Reading other tools' highlight exports into entries: Kindle's `My Clippings.txt`,
KOReader's exporter (JSON and Markdown) and Readwise's CSV.

Each entry keeps what the file says (book title and author, the quote, the note, page,
Kindle location, chapter, color, tags, date) and a key that stays the same when the
same file, or a later copy of it, is read again: imports are idempotent by it."""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

FORMATS = ("clippings", "koreader", "readwise")


class ImportFormatError(ValueError):
    """The file is not in the format it claims, or in none we read."""


@dataclass(frozen=True)
class Entry:
    kind: str  # highlight, note, bookmark
    title: str
    author: str | None
    text: str
    note: str | None = None
    page: int | None = None
    location: tuple[int, int] | None = None  # Kindle locations, first and last
    chapter: str | None = None
    color: str | None = None
    tags: list[str] = field(default_factory=list)
    created_at: datetime | None = None

    @property
    def key(self) -> str:
        """What identifies the entry across re-imports: its book, kind, place and words."""
        where = self.location or (self.page, None)
        raw = "\x1f".join(
            [self.kind, self.title.casefold(), str(where), " ".join(self.text.split())]
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:32]


def detect(data: bytes) -> str:
    text = _decode(data).lstrip()
    if text.startswith(("{", "[")):
        return "koreader"
    first = text.split("\n", 1)[0]
    if first.startswith("Highlight,") and "Book Title" in first:
        return "readwise"
    if "==========" in text:
        return "clippings"
    if text.startswith("# ") and re.search(r"^### ", text, re.M):
        return "koreader"
    raise ImportFormatError(
        "the file is not a Kindle clippings file, a KOReader export or a Readwise CSV"
    )


def parse(data: bytes, kind: str) -> list[Entry]:
    text = _decode(data)
    if kind == "clippings":
        return parse_clippings(text)
    if kind == "readwise":
        return parse_readwise(text)
    if kind == "koreader":
        stripped = text.lstrip()
        return parse_koreader_json(stripped) if stripped.startswith(("{", "[")) else (
            parse_koreader_markdown(text))  # fmt: skip
    raise ImportFormatError(f"format is one of {', '.join(FORMATS)}")


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _date(text: str, layouts: list[str]) -> datetime | None:
    """The first layout that reads `text`; a time without a zone is taken as UTC (the
    files do not say which zone they were written in)."""
    for layout in layouts:
        try:
            at = datetime.strptime(text.strip(), layout)  # noqa: DTZ007 - zone set below
        except ValueError:
            continue
        return at if at.tzinfo else at.replace(tzinfo=UTC)
    return None


# -- Kindle ---------------------------------------------------------------------------

# the words for each kind in the metadata line, in the languages Kindle writes
_KINDS = {
    "highlight": ("highlight", "markierung", "surlignement", "subrayado", "evidenziazione",
                  "destaque", "ハイライト", "标注", "標註", "выделен", "markering", "zvýraznění"),
    "note": ("note", "notiz", "nota", "メモ", "笔记", "筆記", "заметк", "notitie"),
    "bookmark": ("bookmark", "lesezeichen", "signet", "marcador", "segnalibro", "ブックマーク",
                 "书签", "書籤", "закладк", "bladwijzer"),
}  # fmt: skip
_LOCATION = re.compile(
    r"(?:location|loc\.|position|posici[oó]n|posizione|posição|emplacement|位置|"
    r"местоположени\w*|позиция|pos\.)\s*(?:No\.?)?\s*#?\s*(\d+)(?:\s*-\s*(\d+))?",
    re.I)  # fmt: skip
_LOCATION_AFTER = re.compile(r"#?(\d+)(?:-(\d+))?\s*(?:の位置|位置)")
_PAGE = re.compile(
    r"(?:page|seite|página|pagina|страниц\w*|стр\.)\s*(\d+)|第\s*(\d+)\s*页|(\d+)\s*ページ", re.I
)
_DATES = ["%A, %B %d, %Y %I:%M:%S %p", "%A, %d %B %Y %H:%M:%S", "%A, %B %d, %Y %H:%M:%S",
          "%A, %d %B %Y %I:%M:%S %p", "%A, %B %d, %Y, %I:%M %p", "%Y-%m-%d %H:%M:%S"]  # fmt: skip
_SPLIT = re.compile(r"^==========\s*$", re.M)


def _kindle_kind(meta: str) -> str | None:
    lowered = meta.casefold()
    for kind in ("bookmark", "highlight", "note"):  # "note" is inside other words: last
        if any(word in lowered for word in _KINDS[kind]):
            return kind
    return None


def _end(first: int, last: str | None) -> int:
    """Kindle abbreviates a range's end (`563-64` is 563 to 564)."""
    if not last:
        return first
    end = int(last)
    if end < first and len(last) < len(str(first)):
        end = int(str(first)[: len(str(first)) - len(last)] + last)
    return max(first, end)


# month names as Kindles write them in each language (Russian in the genitive)
_MONTHS = {name: n for names in (
    "january february march april may june july august september october november december",
    "januar februar märz april mai juni juli august september oktober november dezember",
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre "
    "dicembre",
    "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
    "januari februari maart april mei juni juli augustus september oktober november december",
    "января февраля марта апреля мая июня июля августа сентября октября ноября декабря",
) for n, name in enumerate(names.split(), start=1)}  # fmt: skip
_CJK_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日.*?(上午|下午|午前|午後)?\s*"
                       r"(\d{1,2}):(\d{2})(?::(\d{2}))?")  # fmt: skip
_WORDY_DATE = re.compile(r"(\d{1,2})\.?\s+(?:de\s+)?([^\W\d_]+)\.?\s+(?:de\s+)?(\d{4})\D+?"
                         r"(\d{1,2}):(\d{2})(?::(\d{2}))?")  # fmt: skip


def _localized_date(text: str) -> datetime | None:
    """A date in another language's layout: `22. August 2024 19:01:04`, `22 de agosto
    de 2024 19:01:04`, Russian's genitive month, `2024年8月22日 … 下午7:01:04`."""
    try:
        if m := _CJK_DATE.search(text):
            hour = int(m[5]) % 12 + (12 if m[4] in {"下午", "午後"} else 0) if m[4] else int(m[5])
            return datetime(int(m[1]), int(m[2]), int(m[3]), hour, int(m[6]), int(m[7] or 0),
                            tzinfo=UTC)  # fmt: skip
        if (m := _WORDY_DATE.search(text)) and (month := _MONTHS.get(m[2].casefold())):
            return datetime(int(m[3]), month, int(m[1]), int(m[4]), int(m[5]), int(m[6] or 0),
                            tzinfo=UTC)  # fmt: skip
    except ValueError:  # a day or an hour out of range
        return None
    return None


def _kindle_date(meta: str) -> datetime | None:
    tail = meta.rsplit("|", 1)[-1]
    tail = re.sub(r"^\s*(?:added on|hinzugefügt am|ajouté le|añadido el|aggiunto il)\s*", "",
                  tail.strip(), flags=re.I)  # fmt: skip
    return _date(tail, _DATES) or _localized_date(tail)


def _title_author(line: str) -> tuple[str, str | None]:
    line = line.strip().lstrip("\ufeff").strip()
    m = re.match(r"^(.*\S)\s*\(([^()]*)\)\s*$", line)
    if m and m[1]:
        return m[1], m[2].strip() or None
    return line, None


def parse_clippings(text: str) -> list[Entry]:
    entries: list[Entry] = []
    for block in _SPLIT.split(text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = [line.lstrip("\ufeff") for line in block.strip("\n\ufeff").split("\n")]
        while lines and not lines[0].strip():
            lines.pop(0)
        if len(lines) < 2:
            continue
        title, author = _title_author(lines[0])
        meta = lines[1]
        kind = _kindle_kind(meta)
        if kind is None:
            continue
        location = None
        m = _LOCATION.search(meta) or _LOCATION_AFTER.search(meta)
        if m:
            location = (int(m[1]), _end(int(m[1]), m[2]))
        page_match = _PAGE.search(meta)
        page = next((int(g) for g in page_match.groups() if g), None) if page_match else None
        body = "\n".join(lines[2:]).strip()
        if kind != "bookmark" and not body:
            continue
        entries.append(Entry(kind, title, author, body, page=page, location=location,
                             created_at=_kindle_date(meta)))  # fmt: skip
    return _settle_kindle(entries)


def _overlaps(a: Entry, b: Entry) -> bool:
    """The same highlight, edited: overlapping locations and words (two highlights in
    one location are not one)."""
    if a.title != b.title or a.location is None or b.location is None:
        return False
    if not (a.location[0] <= b.location[1] and b.location[0] <= a.location[1]):
        return False
    x, y = " ".join(a.text.split()), " ".join(b.text.split())
    common = difflib.SequenceMatcher(None, x, y, autojunk=False).find_longest_match()
    return common.size >= min(len(x), len(y)) / 2


def _settle_kindle(entries: list[Entry]) -> list[Entry]:
    """Kindle appends: an edited highlight is there twice, overlapping; the longest
    stays. A note joins the highlight at its location."""
    highlights: list[Entry] = []
    for entry in (e for e in entries if e.kind == "highlight"):
        same = next((i for i, h in enumerate(highlights) if _overlaps(h, entry)), None)
        if same is None:
            highlights.append(entry)
        elif len(entry.text) > len(highlights[same].text):
            highlights[same] = replace(entry, created_at=highlights[same].created_at
                                       or entry.created_at)  # fmt: skip
    rest: list[Entry] = []
    for note in (e for e in entries if e.kind == "note"):
        at = note.location[0] if note.location else None
        owner = next((i for i, h in enumerate(highlights) if h.title == note.title and at
                      is not None and h.location and h.location[0] <= at <= h.location[1] + 1),
                     None)  # fmt: skip
        if owner is None:
            rest.append(note)
        else:
            h = highlights[owner]
            joined = f"{h.note}\n\n{note.text}" if h.note else note.text
            highlights[owner] = replace(h, note=joined)
    bookmarks = [e for e in entries if e.kind == "bookmark"]
    return highlights + rest + bookmarks


# -- KOReader -------------------------------------------------------------------------


def _whole(value: Any) -> int | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _koreader_entries(doc: dict[str, Any]) -> list[Entry]:
    title = str(doc.get("title") or "").strip()
    author = str(doc.get("author") or "").strip() or None
    entries = []
    for raw in doc.get("entries") or []:
        if not isinstance(raw, dict) or not str(raw.get("text") or "").strip():
            continue
        when = raw.get("time")
        entries.append(Entry(
            "highlight", title, author, str(raw["text"]).strip(),
            note=str(raw["note"]).strip() if raw.get("note") else None,
            page=_whole(raw.get("page")),
            chapter=str(raw["chapter"]) if raw.get("chapter") else None,
            color=str(raw["color"]) if raw.get("color") else None,
            created_at=datetime.fromtimestamp(when, UTC) if isinstance(when, int | float) else None,
        ))  # fmt: skip
    return entries


def parse_koreader_json(text: str) -> list[Entry]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"the KOReader export is not valid JSON ({exc.msg})") from None
    docs = doc.get("documents") if isinstance(doc, dict) and "documents" in doc else doc
    docs = docs if isinstance(docs, list) else [docs]
    return [e for d in docs if isinstance(d, dict) for e in _koreader_entries(d)]


_MD_HEADING = re.compile(r"^### Page (\S+) @ (.+)$")
_MD_DATES = ["%d %B %Y %I:%M:%S %p", "%d %B %Y %H:%M:%S"]
_WRAPPERS = re.compile(r"^(\*\*_|\*\*|==|\+\+|~~|<u>|<mark>|\*)(.*?)"
                       r"(_\*\*|\*\*|==|\+\+|~~|</u>|</mark>|\*)$", re.S)  # fmt: skip


def _md_quote(body: str) -> tuple[str, str | None]:
    """An entry's quote, its formatting (KOReader's drawer styles) taken off, and note."""
    quote, _, note = body.strip().partition("\n---\n")
    quote = "\n".join(line.removeprefix("> ") for line in quote.strip().split("\n")).strip()
    m = _WRAPPERS.match(quote)
    return (m[2] if m else quote).strip(), note.strip() or None


def _md_title(line: str) -> tuple[str, str | None]:
    title = line[2:].strip()
    m = re.match(r"^(.*?)\(\s*—\s*(.*)\)$", title)  # an older layout: "# Title( —Author)"
    return (m[1].strip(), m[2].strip() or None) if m else (title, None)


def parse_koreader_markdown(text: str) -> list[Entry]:
    """KOReader's Markdown export: `# Title`, `##### Author`, `## Chapter`, then for each
    highlight `### Page N @ date`, its text, and `---` before a note."""
    title, author, chapter = "", None, None
    blocks: list[tuple[str | None, int | None, datetime | None, list[str]]] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        heading = _MD_HEADING.match(line)
        if heading:
            page = int(heading[1]) if heading[1].isdigit() else None
            blocks.append((chapter, page, _date(heading[2], _MD_DATES), []))
        elif line.startswith("## "):
            chapter = line[3:].strip()
            blocks.append((chapter, None, None, []))  # ends the block before
        elif line.startswith("##### ") and not blocks:
            author = line[6:].strip() or None
        elif line.startswith("# ") and not blocks:
            title, author = _md_title(line)
        elif blocks:
            blocks[-1][3].append(line)
    if not title:
        raise ImportFormatError("the KOReader Markdown export has no '# Title' line")
    entries = []
    for chapter_name, page, at, lines in blocks:
        quote, note = _md_quote("\n".join(lines))
        if quote and (page is not None or at is not None):
            entries.append(Entry("highlight", title, author, quote, note=note, page=page,
                                 chapter=chapter_name, created_at=at))  # fmt: skip
    return entries


# -- Readwise -------------------------------------------------------------------------


def parse_readwise(text: str) -> list[Entry]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or "Highlight" not in reader.fieldnames:
        raise ImportFormatError("the CSV has no 'Highlight' column (Readwise's header)")
    entries = []
    for row in reader:
        quote = (row.get("Highlight") or "").strip()
        if not quote:
            continue
        location = (row.get("Location") or "").strip()
        kind = (row.get("Location Type") or "").strip().lower()
        at = _date(row.get("Highlighted at") or "",
                   ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z"])  # fmt: skip
        entries.append(Entry(
            "highlight", (row.get("Book Title") or "").strip(),
            (row.get("Book Author") or "").strip() or None, quote,
            note=(row.get("Note") or "").strip() or None,
            page=int(location) if kind == "page" and location.isdigit() else None,
            location=(int(location), int(location)) if kind == "location"
            and location.isdigit() else None,
            color=(row.get("Color") or "").strip() or None,
            tags=[t.strip() for t in (row.get("Tags") or "").split(",") if t.strip()],
            created_at=at,
        ))  # fmt: skip
    return entries

"""KOReader's XPointers inside one EPUB spine item, placed on the text BookMind reads.

KOReader (crengine) names a spot as `/body/DocFragment[n]` followed by the path inside
the spine item's `<body>`: `/body/div/p[7]/text().123` — element names with their
1-based index among same-name siblings (written only when there are several), then the
text node (`text()`, `text()[2]`) and the character in it. A `Fragment` is one spine
item read by the same pipeline as ingestion (parse_epub.block_text), with every text
node's place in that text, so a path becomes an offset and an offset a path.

Precision: a path finds its element exactly; its text node by counting the non-blank
text nodes of the element (crengine drops blank ones between blocks, keeps them
between inline elements: `text()[k]` with k > 1 may then land one node off, in the
same paragraph); the character inside the node to within the whitespace crengine
folds. An offset becomes the start of the element text at or before it (a paragraph,
or an inline element after its start): the same paragraph, never a later one."""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass, field

import lxml.html

from domain.books.parse_epub import block_text, drop_unread, parse_xhtml

# markers from Supplementary Private Use Area-B, which no book's text holds: a node's
# number in digits 1..10 of the area between an opening and a closing mark
_OPEN, _CLOSE, _ZERO = "\U00100000", "\U0010000b", 0x100001
_MARKED = re.compile("\U00100000([\U00100001-\U0010000a]+)\U0010000b")
_BLANK = " \t\r\n\f\v"
_RUNS = re.compile(f"[{_BLANK}]+")
_STEP = re.compile(r"^(text\(\)|[A-Za-z_][\w:-]*)(?:\[(\d{1,6})\])?$")
_TAIL = re.compile(r"^(?P<path>.*?)(?:\.(?P<offset>\d{1,9}))?$")
_UNREAD = {"script", "style", "head"}

Step = tuple[str, int, int]  # element name, index among same-name siblings, their count


@dataclass(frozen=True)
class TextNode:
    element: tuple[Step, ...]  # the element holding the node, from <body>
    index: int  # among that element's non-blank text nodes, from 1
    first: bool  # the element's text before its first child
    lead: int  # 1 when the node starts with blank space (folded to one character)
    length: int  # characters once blank runs are folded
    start: int = -1  # offset of its first non-blank character in the fragment's text


@dataclass
class Fragment:
    text: str
    nodes: list[TextNode]
    texts_in: Counter[tuple[Step, ...]] = field(default_factory=Counter)
    # elements with a blank text node: crengine may count it, so their text()[k] is unsure
    blank_in: set[tuple[Step, ...]] = field(default_factory=set)
    element_starts: dict[tuple[str, ...], int] = field(default_factory=dict)

    def offset_of(self, path: str) -> int | None:
        """The offset in `text` of a path below DocFragment[n] (`/body/p[3]/text().12`),
        or None when the path names nothing here."""
        m = _TAIL.match(path)
        if m is None:
            return None
        steps = [_STEP.match(s) for s in m["path"].split("/")[1:]]
        if not steps or any(s is None for s in steps):
            return 0 if not m["path"] else None
        names = [(s[1], int(s[2] or 1)) for s in steps if s]
        char = int(m["offset"] or 0)
        if names[-1][0] == "text()":
            *element, (_, index) = names
            node = next((n for n in self.nodes if _key(n.element) == _key_of(element)
                         and n.index == index), None)  # fmt: skip
            if node is not None:
                return node.start + max(0, min(char - node.lead, node.length - node.lead))
            names = element
        return self.element_starts.get(_key_of(names))

    def pointer_at(self, offset: int) -> str:
        """The path below DocFragment[n] of the text node at or before `offset` (one
        whose text()[k] is sure)."""
        firsts = [n for n in self.nodes if n.first or n.element not in self.blank_in]
        if not firsts:
            return ""
        i = max(0, bisect.bisect_right([n.start for n in firsts], offset) - 1)
        node = firsts[i]
        char = node.lead + max(0, min(offset - node.start, node.length - node.lead))
        steps = "".join(f"/{name}[{index}]" if count > 1 else f"/{name}"
                        for name, index, count in node.element)  # fmt: skip
        count = self.texts_in[node.element]
        text = "text()" if count == 1 else f"text()[{node.index}]"
        return f"{steps}/{text}.{char}"


def _key(element: tuple[Step, ...]) -> tuple[str, ...]:
    return tuple(f"{name}[{index}]" for name, index, _ in element)


def _key_of(names: list[tuple[str, int]]) -> tuple[str, ...]:
    return tuple(f"{name}[{index}]" for name, index in names)


def _mark(number: int) -> str:
    return _OPEN + "".join(chr(_ZERO + int(d)) for d in str(number)) + _CLOSE


def read_fragment(content: bytes) -> Fragment:
    """One spine item's text with each text node placed in it."""
    root = parse_xhtml(content)
    body = None if root is None else next(root.iter("body"), None)
    if root is None or body is None:
        return Fragment("", [])
    nodes: list[TextNode] = []
    texts_in: Counter[tuple[Step, ...]] = Counter()
    blank_in: set[tuple[Step, ...]] = set()
    # elements waiting for the first text node at or after their start
    pending: list[tuple[str, ...]] = []
    waiting_for: dict[int, list[tuple[str, ...]]] = {}

    def node(raw: str | None, element: tuple[Step, ...], first: bool) -> str | None:
        if raw is None or not raw.strip():
            if raw:
                blank_in.add(element)
            return raw
        texts_in[element] += 1
        nodes.append(TextNode(element, texts_in[element], first,
                              1 if raw[0].isspace() else 0, len(_RUNS.sub(" ", raw))))  # fmt: skip
        waiting_for[len(nodes) - 1] = pending[:]
        pending.clear()
        lead = len(raw) - len(raw.lstrip())
        return raw[:lead] + _mark(len(nodes) - 1) + raw[lead:]

    def walk(el: lxml.html.HtmlElement, element: tuple[Step, ...]) -> None:
        pending.append(_key(element))
        el.text = node(el.text, element, True)
        counts = Counter(c.tag for c in el if isinstance(c.tag, str))
        seen: Counter[str] = Counter()
        for child in el:
            if not isinstance(child.tag, str):
                continue
            seen[child.tag] += 1
            if child.tag not in _UNREAD:
                walk(child, (*element, (child.tag, seen[child.tag], counts[child.tag])))
            child.tail = node(child.tail, element, False)

    walk(body, (("body", 1, 1),))
    drop_unread(root)
    marked = block_text(root)
    starts: dict[int, int] = {}
    pieces: list[str] = []
    size, last = 0, 0
    for m in _MARKED.finditer(marked):
        pieces.append(marked[last : m.start()])
        size += m.start() - last
        starts[int("".join(str(ord(c) - _ZERO) for c in m[1]))] = size
        last = m.end()
    pieces.append(marked[last:])
    text = "".join(pieces)
    placed = [TextNode(n.element, n.index, n.first, n.lead, n.length, starts.get(i, -1))
              for i, n in enumerate(nodes)]  # fmt: skip
    element_starts = {key: placed[i].start for i, keys in waiting_for.items() for key in keys
                      if placed[i].start >= 0}  # fmt: skip
    element_starts.update({key: len(text) for key in pending})  # nothing after them
    return Fragment(text, [n for n in placed if n.start >= 0], texts_in, blank_in, element_starts)

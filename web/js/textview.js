// One chapter of the book's own text on screen, with highlights as <mark> elements at
// their character offsets (PROTOCOL.md: offsets count characters in the book's full
// text). Each line of the chapter is a paragraph carrying its offset, and a paragraph's
// text is exactly that line, so a point in the page maps back to an offset by counting
// the characters before it.

export class TextView {
  constructor(el) {
    this.el = el;
    this.chapter = null;
  }

  /** Most books open a chapter with its own heading, the title again: that line is drawn
   * as the heading (still the book's text, which highlights and offsets count) and
   * `echoesTitle` tells the page not to draw a second one. */
  show(chapter, title = "") {
    this.chapter = chapter;
    const [lead, first] = (chapter.content || "").match(/^(\s*)([^\n]*)/).slice(1);
    this.echoAt = title && same(first, title) ? this.start + lead.length : null;
  }

  get echoesTitle() { return this.echoAt !== null; }

  get start() { return this.chapter.start_offset || 0; }
  get end() { return this.start + (this.chapter.content || "").length; }

  /** marks: [{id, start, end, cls, title}] (later ones are drawn on top). A reader's
   * selection and keyboard focus survive: live changes redraw the chapter at any moment,
   * in the middle of a selection too. */
  render(marks) {
    const active = document.activeElement;
    const focused = active && active.tagName === "MARK" && this.el.contains(active) ? active.dataset.id : null;
    const selected = this._selected();
    const frag = document.createDocumentFragment();
    const content = this.chapter.content || "";
    let offset = this.start;
    const inChapter = marks.filter((m) => m.end > this.start && m.start < this.end);
    for (const line of content.split("\n")) {
      if (line.trim()) frag.append(this._paragraph(line, offset, inChapter));
      offset += line.length + 1;
    }
    this.el.replaceChildren(frag);
    if (focused) this.el.querySelector(`mark[data-id="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
    if (selected) this._select(selected);
  }

  _selected() {
    const sel = getSelection();
    if (!sel.rangeCount || sel.isCollapsed) return null;
    const r = sel.getRangeAt(0);
    if (!this.el.contains(r.startContainer) || !this.el.contains(r.endContainer)) return null;
    const start = this.offsetOf(r.startContainer, r.startOffset);
    const end = this.offsetOf(r.endContainer, r.endOffset);
    return start === null || end === null ? null : { start, end };
  }

  /** The DOM point of a book offset in this chapter: [text node, index]. */
  _point(offset) {
    const p = this.paragraphAt(offset);
    if (!p) return null;
    let left = Math.max(0, offset - Number(p.dataset.o));
    const walker = document.createTreeWalker(p, NodeFilter.SHOW_TEXT);
    let last = null;
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (left <= node.length) return [node, left];
      left -= node.length;
      last = node;
    }
    return last ? [last, last.length] : [p, 0];
  }

  _select({ start, end }) {
    const a = this._point(start);
    const b = this._point(end);
    if (!a || !b) return;
    const range = document.createRange();
    range.setStart(a[0], a[1]);
    range.setEnd(b[0], b[1]);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
  }

  _paragraph(line, offset, marks) {
    const p = document.createElement("p");
    p.dataset.o = String(offset);
    if (offset + line.length - line.trimStart().length === this.echoAt) {
      p.className = "echo-title";
      p.setAttribute("role", "heading");
      p.setAttribute("aria-level", "2");
    }
    const end = offset + line.length;
    const here = marks.filter((m) => m.end > offset && m.start < end);
    if (!here.length) { p.textContent = line; return p; }
    const cuts = new Set([offset, end]);
    for (const m of here) { cuts.add(Math.max(m.start, offset)); cuts.add(Math.min(m.end, end)); }
    const points = [...cuts].sort((a, b) => a - b);
    for (let i = 0; i < points.length - 1; i++) {
      const [a, b] = [points[i], points[i + 1]];
      const text = line.slice(a - offset, b - offset);
      const over = here.filter((m) => m.start <= a && m.end >= b);
      if (!over.length) { p.append(text); continue; }
      const top = over[over.length - 1];
      const mark = document.createElement("mark");
      mark.className = top.cls;
      mark.dataset.id = top.id;
      mark.tabIndex = 0;
      if (top.title) mark.title = top.title;
      mark.textContent = text;
      p.append(mark);
    }
    return p;
  }

  /** The offset in the book of a DOM point inside this view, or null. */
  offsetOf(node, at) {
    if (node === this.el) {
      const child = this.el.childNodes[at];
      if (child) return Number(child.dataset.o);
      const last = this.el.lastChild;
      return last ? Number(last.dataset.o) + last.textContent.length : null;
    }
    const el = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
    const p = el && el.closest("p[data-o]");
    if (!p || !this.el.contains(p)) return null;
    const range = document.createRange();
    range.setStart(p, 0);
    range.setEnd(node, at);
    return Number(p.dataset.o) + range.toString().length;
  }

  /** The selected text as {start, end, text} (trimmed, exactly the book's text), or null. */
  selection() {
    const sel = getSelection();
    if (!sel.rangeCount || sel.isCollapsed) return null;
    const r = sel.getRangeAt(0);
    let start = this.offsetOf(r.startContainer, r.startOffset);
    let end = this.offsetOf(r.endContainer, r.endOffset);
    if (start === null || end === null || end <= start) return null;
    const content = this.chapter.content;
    let text = content.slice(start - this.start, end - this.start);
    const lead = text.length - text.trimStart().length;
    text = text.trim();
    start += lead;
    end = start + text.length;
    if (!text) return null;
    return { start, end, text, rect: r.getBoundingClientRect() };
  }

  paragraphAt(offset) {
    let best = null;
    for (const p of this.el.children) {
      if (Number(p.dataset.o) <= offset) best = p;
      else break;
    }
    return best || this.el.firstElementChild;
  }

  /** The offset of the first paragraph whose text shows below `top` px of the window. */
  firstVisibleOffset(top = 0) {
    for (const p of this.el.children) {
      if (p.getBoundingClientRect().bottom > top) return Number(p.dataset.o);
    }
    return this.start;
  }

  scrollTo(offset) {
    const p = this.paragraphAt(offset);
    if (p) p.scrollIntoView({ block: "start" });
  }

  /** Show a passage (a cited source) for a moment, and move focus there. */
  flash(start, end) {
    const ps = [...this.el.children].filter((p) => {
      const o = Number(p.dataset.o);
      return o < end && o + p.textContent.length > start;
    });
    if (!ps.length) return;
    ps[0].scrollIntoView({ block: "center" });
    ps[0].tabIndex = -1;
    ps[0].focus({ preventScroll: true });
    for (const p of ps) p.classList.add("cited");
    setTimeout(() => ps.forEach((p) => p.classList.remove("cited")), 4000);
  }
}

/** The same words, whatever their case, spacing and closing punctuation. */
function same(a, b) {
  const norm = (x) => x.toLowerCase().replace(/[\s.:]+$/, "").replace(/\s+/g, " ").trim();
  return norm(a) === norm(b);
}

// The reading view: a chapter of the server's own text, highlights, bookmarks and notes
// kept live across devices, other readers' public highlights and presence on a shared
// book, the position saved as the reader reads and offered back on other devices.
import { exportControls } from "./exports.js";
import { importControls } from "./imports.js";
import { h, clear, announce, errorText, debounce, excerpt } from "./dom.js";
import { liveState } from "./live.js";
import { TextView } from "./textview.js";
import { askPanel } from "./ask.js";
import { shareDialog } from "./share.js";

const COLORS = ["yellow", "blue", "green", "red", "purple", "orange", "brown", "pink"];
const CATEGORIES = ["important_concept", "question", "agreement", "disagreement", "quote",
  "action_item", "example", "reflection"];
const THEMES = ["light", "sepia", "dark"];
const CHARS_PER_PAGE = 1800; // EPUB and DOCX pages (docs/protocol.md, Books)

async function allPages(bm, path) {
  const items = [];
  let seqs = null;
  let cursor = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const res = await bm.request("GET", `${path}${sep}limit=100${cursor ? `&cursor=${cursor}` : ""}`);
    seqs = seqs || res.seqs;
    items.push(...res.data.items);
    cursor = res.data.next_cursor;
  } while (cursor);
  return { items, seqs };
}

/** The smallest seq per channel: state loaded from several snapshots is at least that new. */
function oldest(...seqMaps) {
  const out = {};
  for (const seqs of seqMaps) {
    for (const [ch, s] of Object.entries(seqs || {})) out[ch] = ch in out ? Math.min(out[ch], s) : s;
  }
  return out;
}

export async function readerView(bm, main, bookId) {
  const bookChannel = `book:${bookId}`;
  const mine = { highlights: new Map(), bookmarks: new Map(), annotations: new Map() };
  const theirs = new Map(); // other readers' public highlights on this book
  const presence = new Map(); // "userId device" → user
  const names = new Map(); // user id → username of other readers (null: private profile)
  const chapterCache = new Map();
  let chapterIndex = 0;
  let lastSaved = null;
  let sessionId = null;
  let destroyed = false;
  let tab = "highlights"; // the side panel's open tab
  const live = liveState(bm, onEvent);
  const saveSoon = debounce(saveProgress, 1200);

  const [bookRes, chaptersRes, me, progress, hl, bms, ans] = await Promise.all([
    bm.request("GET", `/books/${bookId}`),
    bm.get(`/books/${bookId}/chapters`),
    bm.get("/users/me"),
    bm.get(`/books/${bookId}/progress`),
    allPages(bm, `/books/${bookId}/highlights`),
    allPages(bm, `/books/${bookId}/bookmarks`),
    allPages(bm, `/books/${bookId}/annotations`),
  ]);
  const book = bookRes.data;
  const chapters = chaptersRes.items;
  const total = chapters.length ? chapters[chapters.length - 1].end_offset || 1 : 1;
  for (const x of hl.items) mine.highlights.set(x.id, x);
  for (const x of bms.items) mine.bookmarks.set(x.id, x);
  for (const x of ans.items) mine.annotations.set(x.id, x);
  const prefs = { font_size: 18, theme: "light", show_others: true, ...(me.reading_preferences || {}) };

  // -- the page ---------------------------------------------------------------------
  const text = h("article", { class: "text", id: "book-text", lang: book.language || "en",
    "aria-label": `Text of ${book.title}` });
  const view = new TextView(text);
  const chapterTitle = h("h2", { class: "chapter-title", id: "chapter-title" });
  const presenceLine = h("span", { class: "presence", role: "status" });
  const banner = h("div", { class: "banner", role: "status", hidden: true });
  const toc = h("select", { id: "toc", onchange: () => openChapter(Number(toc.value)) },
    chapters.map((c, i) => h("option", { value: i }, c.title || `Chapter ${c.chapter_number}`)));
  const prev = h("button", { type: "button", onclick: () => openChapter(chapterIndex - 1) }, "← Previous chapter");
  const next = h("button", { type: "button", onclick: () => openChapter(chapterIndex + 1) }, "Next chapter →");
  const others = h("input", { type: "checkbox", id: "show-others", checked: prefs.show_others,
    onchange: () => { prefs.show_others = others.checked; savePrefs({ show_others: others.checked }); paint(); } });
  const panel = h("aside", { class: "panel", "aria-label": "Notes and questions" });
  const selectionForm = h("form", { class: "hl-form", hidden: true, "aria-label": "Highlight" });
  const ask = askPanel(bm, {
    book, chapter: () => chapters[chapterIndex], jumpTo, selection: () => view.selection(),
  });
  // made once: the panel is redrawn on every change, and an import reports as it runs
  const exporter = exportControls(bm, `/books/${bookId}/export`, "Export this book's highlights as");
  const importer = importControls(bm, { path: `/books/${bookId}/imports`,
    label: "Import highlights from Kindle, KOReader or Readwise" });

  clear(main, h("section", { class: "reader", "data-theme": prefs.theme },
    h("div", { class: "toolbar", role: "toolbar", "aria-label": "Reading" },
      h("a", { href: "#/" }, "← Library"),
      h("h1", { class: "book-title" }, book.title),
      h("label", {}, "Contents ", toc),
      h("button", { type: "button", "aria-label": "Smaller text", onclick: () => setFont(-1) }, "A−"),
      h("button", { type: "button", "aria-label": "Larger text", onclick: () => setFont(1) }, "A+"),
      h("label", {}, "Theme ", h("select", { id: "theme", onchange: (e) => setTheme(e.target.value) },
        THEMES.map((t) => h("option", { value: t, selected: t === prefs.theme }, t)))),
      h("button", { type: "button", onclick: addBookmark }, "Bookmark this place"),
      h("label", {}, others, " Others' highlights"),
      presenceLine),
    banner,
    h("div", { class: "reading-area" },
      h("div", { class: "page" }, chapterTitle, text, h("nav", { class: "chapter-nav", "aria-label": "Chapters" }, prev, next)),
      panel),
    selectionForm));
  applyPrefs();
  // the side panel sticks just below the toolbar, however many lines the toolbar wraps to
  const toolbar = main.querySelector(".reader .toolbar");
  const sizer = new ResizeObserver(() => main.querySelector(".reader")?.style.setProperty("--toolbar-h", `${toolbar.offsetHeight}px`));
  sizer.observe(toolbar);

  // -- state from the server, then live ------------------------------------------------
  const userSeqs = oldest(bookRes.seqs, hl.seqs, bms.seqs, ans.seqs);
  live.loaded(userSeqs);
  bm.connect({ resume: userSeqs });
  const pub = await allPages(bm, `/books/${bookId}/highlights?scope=public`).catch(() => ({ items: [], seqs: {} }));
  for (const x of pub.items) if (x.user_id !== bm.userId) theirs.set(x.id, x);
  live.loaded(pub.seqs);
  subscribeBook(pub.seqs[bookChannel]);
  bm.addEventListener("status", onStatus);
  bm.addEventListener("unsubscribed", onUnsubscribed);

  renderPanel();
  await restorePosition();
  startSession();
  addEventListener("scroll", saveSoon, { passive: true });
  text.addEventListener("mouseup", () => setTimeout(offerHighlight, 0));
  text.addEventListener("keyup", (e) => e.shiftKey && offerHighlight());
  text.addEventListener("click", onMarkClick);
  text.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || !e.target.closest("mark[data-id]")) return;
    e.preventDefault(); // else the same Enter, now in the form, would submit it
    onMarkClick(e);
  });
  selectionForm.addEventListener("keydown", (e) => e.key === "Escape" && closeForm());
  addEventListener("pagehide", endSession);

  // -- chapters and position -----------------------------------------------------------
  async function openChapter(i, offset = null) {
    if (i < 0 || i >= chapters.length) return;
    chapterIndex = i;
    const c = chapters[i];
    if (!chapterCache.has(i)) chapterCache.set(i, await bm.get(`/books/${bookId}/chapters/${c.chapter_number}`));
    view.show(chapterCache.get(i), c.title);
    chapterTitle.textContent = chapterName(c.start_offset || 0);
    chapterTitle.hidden = view.echoesTitle;
    toc.value = String(i);
    prev.disabled = i === 0;
    next.disabled = i === chapters.length - 1;
    paint();
    if (offset !== null) view.scrollTo(offset);
    else scrollTo(0, 0);
    saveSoon();
  }

  function chapterIndexAt(offset) {
    const i = chapters.findIndex((c) => offset < (c.end_offset ?? Infinity));
    return i < 0 ? chapters.length - 1 : i;
  }

  async function jumpTo(start, end = start) {
    const i = chapterIndexAt(start);
    if (i !== chapterIndex || !view.chapter) await openChapter(i, start);
    if (end > start) view.flash(start, end);
    else view.scrollTo(start);
  }

  function pageAt(offset) {
    if (book.file_type === "epub" || book.file_type === "docx") return Math.floor(offset / CHARS_PER_PAGE) + 1;
    const c = chapters[chapterIndexAt(offset)];
    if (!c || !c.start_page) return 1;
    const span = Math.max(1, (c.end_offset || 1) - (c.start_offset || 0));
    const pages = (c.end_page || c.start_page) - c.start_page + 1;
    return Math.max(1, c.start_page + Math.min(pages - 1, Math.floor(((offset - (c.start_offset || 0)) / span) * pages)));
  }

  async function restorePosition() {
    const jump = JSON.parse(sessionStorage.getItem("bookmind.jump") || "null");
    sessionStorage.removeItem("bookmind.jump");
    if (jump && jump.book === bookId) { await jumpTo(jump.start, jump.end); return; }
    const own = progress.devices.find((d) => d.device === bm.device);
    const latest = progress.latest;
    const here = own || latest;
    const offset = here ? here.current_character_offset || 0 : 0;
    await openChapter(chapterIndexAt(offset), offset);
    lastSaved = offset;
    if (own && latest && latest.device !== bm.device && (latest.current_character_offset || 0) > offset) offerContinue(latest);
  }

  function offerContinue(p) {
    const pct = Math.round((p.progress_percentage || 0) * 100);
    clear(banner,
      h("span", {}, `You read further on ${p.device || "another device"}: “${chapterName(p.current_character_offset || 0)}”, page ${p.current_page}, ${pct}%. `),
      h("button", { type: "button", onclick: () => { banner.hidden = true; jumpTo(p.current_character_offset || 0); } },
        "Continue from there"),
      h("button", { type: "button", class: "link", onclick: () => { banner.hidden = true; } }, "Stay here"));
    banner.hidden = false;
  }

  function chapterName(offset) {
    const c = chapters[chapterIndexAt(offset)];
    return c ? c.title || `Chapter ${c.chapter_number}` : "";
  }

  async function saveProgress() {
    if (destroyed || !view.chapter) return;
    const offset = view.firstVisibleOffset(80);
    if (offset === lastSaved) return;
    lastSaved = offset;
    const params = {
      current_page: pageAt(offset), current_character_offset: offset,
      progress_percentage: Math.min(1, offset / total), position_data: { chapter: chapters[chapterIndex].chapter_number },
    };
    try {
      await bm.call("progress.update", { book_id: bookId, ...params });
    } catch {
      await bm.put(`/books/${bookId}/progress`, { ...params, device: bm.device }).catch(() => {});
    }
  }

  async function startSession() {
    try {
      const s = await bm.post(`/books/${bookId}/sessions`, {
        device_type: "web", platform: "browser", start_page: pageAt(lastSaved || 0),
      });
      sessionId = s.id;
    } catch { /* stats only */ }
  }

  function endSession() {
    if (!sessionId) return;
    const id = sessionId;
    sessionId = null;
    const endPage = pageAt(lastSaved || 0);
    bm.patch(`/sessions/${id}`, { end_page: endPage, words_read: 0 }).catch(() => {});
  }

  // -- preferences -------------------------------------------------------------------
  function applyPrefs() {
    main.querySelector(".reader").dataset.theme = prefs.theme;
    document.body.dataset.theme = prefs.theme;
    text.style.fontSize = `${prefs.font_size}px`;
  }
  function setFont(step) {
    prefs.font_size = Math.min(32, Math.max(12, prefs.font_size + step * 2));
    applyPrefs();
    savePrefs({ font_size: prefs.font_size });
  }
  function setTheme(theme) {
    prefs.theme = theme;
    applyPrefs();
    savePrefs({ theme });
  }
  function savePrefs(change) {
    bm.patch("/users/me", { reading_preferences: change }).catch(() => {});
  }

  // -- highlights ----------------------------------------------------------------------
  function paint() {
    if (!view.chapter) return;
    const marks = [];
    if (prefs.show_others) {
      for (const x of theirs.values()) {
        if (x.start_offset === null || x.orphaned) continue;
        marks.push({ id: x.id, start: x.start_offset, end: x.end_offset, cls: `hl hl-${x.color} theirs`,
          title: `${readerName(x.user_id)}'s public highlight` });
      }
    }
    // an orphaned highlight's words are not in this edition: listed, never drawn elsewhere
    const own = [...mine.highlights.values()].filter((x) => x.start_offset !== null && !x.orphaned)
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
    for (const x of own) {
      marks.push({ id: x.id, start: x.start_offset, end: x.end_offset, cls: `hl hl-${x.color} mine`,
        title: x.note ? `Your highlight: ${x.note}` : "Your highlight" });
    }
    view.render(marks);
  }

  /** "@bea" once known (looked up once per reader, then the marks are redrawn). */
  function readerName(userId) {
    if (!names.has(userId)) {
      names.set(userId, null);
      bm.get(`/users/${userId}`).then((u) => { names.set(userId, u.username); paint(); }, () => {});
    }
    return names.get(userId) ? `@${names.get(userId)}` : "Another reader";
  }

  function offerHighlight() {
    const sel = view.selection();
    if (!sel) return;
    if (sel.text.length > 2000) { announce("Select at most 2,000 characters to highlight."); return; }
    highlightForm({ selection: sel });
  }

  function onMarkClick(e) {
    const mark = e.target.closest && e.target.closest("mark[data-id]");
    if (!mark || !getSelection().isCollapsed) return;
    const own = mine.highlights.get(mark.dataset.id);
    if (own) highlightForm({ highlight: own, rect: mark.getBoundingClientRect() });
    else if (theirs.has(mark.dataset.id)) {
      const x = theirs.get(mark.dataset.id);
      clear(selectionForm, h("p", {}, `A public highlight by ${readerName(x.user_id)}.`),
        h("button", { type: "button", onclick: () => shareDialog(bm, x) }, "Share as quote card"),
        h("button", { type: "button", onclick: closeForm }, "Close"));
      place(mark.getBoundingClientRect());
    }
  }

  /** Show the form beside `rect` (the selection or the mark), inside the window. */
  function place(rect) {
    selectionForm.hidden = false;
    const height = selectionForm.offsetHeight;
    const below = rect.bottom + 8;
    const top = below + height <= innerHeight ? below : Math.max(8, rect.top - height - 8);
    selectionForm.style.top = `${Math.min(top, Math.max(8, innerHeight - height - 8))}px`;
    selectionForm.style.left = `${Math.max(8, Math.min(rect.left, innerWidth - selectionForm.offsetWidth - 8))}px`;
    selectionForm.querySelector("button, input, select")?.focus({ preventScroll: true });
  }

  function closeForm() {
    selectionForm.hidden = true;
    clear(selectionForm);
  }

  function highlightForm({ selection = null, highlight = null, rect = null }) {
    const x = highlight || { color: "yellow", category: null, note: "", tags: [], public: book.visibility === "public" };
    const error = h("p", { class: "error", role: "alert" });
    const color = h("fieldset", { class: "colors" }, h("legend", {}, "Color"),
      COLORS.map((c) => h("label", { class: `swatch hl-${c}`, title: c },
        h("input", { type: "radio", name: "color", value: c, checked: c === x.color }),
        h("span", { class: "visually-hidden" }, c))));
    const category = h("select", { name: "category" }, h("option", { value: "" }, "—"),
      CATEGORIES.map((c) => h("option", { value: c, selected: c === x.category }, c.replace("_", " "))));
    const note = h("textarea", { name: "note", rows: 2, maxlength: 10000 }, x.note || "");
    const tags = h("input", { name: "tags", value: (x.tags || []).join(", "), placeholder: "comma, separated" });
    const isPublic = h("input", { type: "checkbox", name: "public", checked: x.public });
    clear(selectionForm,
      selection ? h("p", { class: "quote" }, `“${excerpt(selection.text, 100)}”`) : null,
      color,
      h("div", { class: "row" }, h("label", {}, "Category ", category), h("label", {}, "Tags ", tags)),
      h("label", {}, "Note ", note),
      h("label", {}, isPublic, " Public (other readers of a public book see it)"),
      error,
      h("div", { class: "actions" },
        h("button", { type: "submit" }, highlight ? "Save" : "Highlight"),
        highlight ? h("button", { type: "button", onclick: () => removeHighlight(highlight) }, "Delete") : null,
        highlight ? h("button", { type: "button", onclick: () => shareDialog(bm, highlight) }, "Share as quote card") : null,
        selection ? h("button", { type: "button", onclick: () => { closeForm(); tab = "ask"; renderPanel(); ask.explain(selection); } }, "Explain") : null,
        h("button", { type: "button", onclick: closeForm }, "Cancel")));
    selectionForm.onsubmit = async (e) => {
      e.preventDefault();
      const fields = {
        color: selectionForm.querySelector("input[name=color]:checked").value,
        category: category.value || null,
        note: note.value.trim() || null,
        tags: tags.value.split(",").map((t) => t.trim()).filter(Boolean),
        public: isPublic.checked,
      };
      try {
        if (highlight) {
          remember("highlights", await bm.call("highlight.update", { id: highlight.id, ...fields }));
        } else {
          remember("highlights", await bm.call("highlight.create", {
            id: crypto.randomUUID(), book_id: bookId, selected_text: selection.text,
            page_number: pageAt(selection.start), start_offset: selection.start, end_offset: selection.end,
            position_data: { chapter: chapters[chapterIndex].chapter_number }, ...fields,
          }));
          getSelection().removeAllRanges();
        }
        announce(highlight ? "Highlight saved" : "Highlighted");
        closeForm();
      } catch (err) { error.textContent = errorText(err); }
    };
    place(rect || selection.rect);
  }

  async function removeHighlight(x) {
    try {
      await bm.call("highlight.delete", { id: x.id });
      forget("highlights", x.id);
      closeForm();
      announce("Highlight deleted");
    } catch (err) { announce(errorText(err)); }
  }

  function remember(kind, item) {
    mine[kind].set(item.id, item);
    if (kind === "highlights") paint();
    renderPanel();
  }

  function forget(kind, id) {
    if (!mine[kind].delete(id)) return;
    if (kind === "highlights") paint();
    renderPanel();
  }

  // -- bookmarks and notes -------------------------------------------------------------
  async function addBookmark() {
    const offset = view.firstVisibleOffset(80);
    const p = view.paragraphAt(offset);
    try {
      remember("bookmarks", await bm.call("bookmark.create", {
        id: crypto.randomUUID(), book_id: bookId, page_number: pageAt(offset),
        title: `${chapters[chapterIndex].title || "Chapter"} · page ${pageAt(offset)}`,
        context_text: (p ? p.textContent : "").slice(0, 200), position_data: { offset },
      }));
      announce("Bookmarked");
    } catch (err) { announce(errorText(err)); }
  }

  async function addNote(e) {
    e.preventDefault();
    const field = e.target.querySelector("textarea");
    const content = field.value.trim();
    if (!content) return;
    const offset = view.firstVisibleOffset(80);
    try {
      remember("annotations", await bm.call("annotation.create", {
        id: crypto.randomUUID(), book_id: bookId, annotation_type: "text", content,
        page_number: pageAt(offset), position_data: { offset },
      }));
      field.value = "";
    } catch (err) { announce(errorText(err)); }
  }

  // -- the side panel ------------------------------------------------------------------
  function renderPanel() {
    const tabs = [["highlights", `Highlights (${mine.highlights.size})`], ["bookmarks", `Bookmarks (${mine.bookmarks.size})`],
      ["notes", `Notes (${mine.annotations.size})`], ["ask", "Ask AI"]];
    const body = h("div", { class: "panel-body" });
    clear(panel, h("div", { class: "tabs" }, tabs.map(([key, label]) => h("button", {
      type: "button", "aria-pressed": String(tab === key), onclick: () => { tab = key; renderPanel(); },
    }, label))), body);
    if (tab === "ask") { body.append(ask.element); return; }
    if (tab === "highlights") {
      const items = [...mine.highlights.values()].sort((a, b) => (a.start_offset || 0) - (b.start_offset || 0));
      body.append(exporter, importer.element);
      body.append(h("ul", { class: "items", "aria-label": "Your highlights" }, items.length ? items.map((x) => h("li", { class: `item hl-${x.color}-edge` },
        h("button", { type: "button", class: "link quote", onclick: () => jumpTo(x.start_offset, x.end_offset) }, excerpt(x.selected_text, 160)),
        x.note ? h("p", { class: "note" }, x.note) : null,
        h("p", { class: "small" }, `p. ${x.page_number}`, x.public ? " · public" : "", x.tags.length ? ` · ${x.tags.join(", ")}` : "",
          x.orphaned ? h("strong", { class: "orphaned" }, " · not found in this edition") : null),
        h("button", { type: "button", class: "link", onclick: () => shareDialog(bm, x) }, "Share"),
        h("button", { type: "button", class: "link", onclick: () => removeHighlight(x) }, "Delete"))) : h("li", {}, "Select text to highlight it.")));
    } else if (tab === "bookmarks") {
      const items = [...mine.bookmarks.values()].sort((a, b) => a.page_number - b.page_number);
      body.append(h("button", { type: "button", onclick: addBookmark }, "Bookmark this place"),
        h("ul", { class: "items", "aria-label": "Your bookmarks" }, items.map((x) => h("li", { class: "item" },
          h("button", { type: "button", class: "link", onclick: () => jumpTo((x.position_data && x.position_data.offset) || (x.page_number - 1) * CHARS_PER_PAGE) },
            x.title || `Page ${x.page_number}`),
          x.is_auto_bookmark ? " (auto)" : null,
          h("button", { type: "button", class: "link", onclick: () => bm.call("bookmark.delete", { id: x.id }).then(() => forget("bookmarks", x.id)) }, "Delete")))));
    } else {
      const items = [...mine.annotations.values()].sort((a, b) => b.created_at.localeCompare(a.created_at));
      body.append(h("form", { onsubmit: addNote }, h("label", {}, "A note on this page", h("textarea", { rows: 3, maxlength: 50000 })),
        h("button", { type: "submit" }, "Add note")),
        h("ul", { class: "items", "aria-label": "Your notes" }, items.map((x) => h("li", { class: "item" },
          h("p", {}, x.plain_text_content || x.content), h("p", { class: "small" }, `p. ${x.page_number}`),
          h("button", { type: "button", class: "link", onclick: () => bm.call("annotation.delete", { id: x.id }).then(() => forget("annotations", x.id)) }, "Delete")))));
    }
  }

  // -- live ----------------------------------------------------------------------------
  async function subscribeBook(since) {
    try {
      await bm.subscribe(bookChannel, since);
      if (bm.status === "online") await bm.call("presence.set", { book_id: bookId, status: "reading" }).catch(() => {});
    } catch { /* a private book of someone else: nothing live to hear */ }
  }

  function onStatus(e) {
    if (e.detail === "online" && !destroyed) {
      bm.call("presence.set", { book_id: bookId, status: "reading" }).catch(() => {});
    }
  }

  function onUnsubscribed(e) {
    if (e.detail.channel !== bookChannel) return;
    // the book stopped being readable by everyone: others' highlights and presence go
    theirs.clear();
    presence.clear();
    presenceLine.textContent = "";
    paint();
  }

  function onEvent(f) {
    const d = f.data || {};
    if (f.channel === bookChannel) return onBookEvent(f, d);
    const [kind, action] = f.event.split(".");
    const store = { highlight: "highlights", bookmark: "bookmarks", annotation: "annotations" }[kind];
    if (store) {
      if (action === "deleted") forget(store, d.id);
      else if (d.book_id === bookId) remember(store, d);
    } else if (f.event === "progress.updated" && d.book_id === bookId && f.origin !== bm.device) {
      if ((d.current_character_offset || 0) > (lastSaved || 0) + 200) offerContinue(d);
    } else if (f.event === "book.deleted" && d.book_id === bookId) {
      clear(main, h("p", { role: "alert" }, "This book was deleted."), h("a", { href: "#/" }, "Back to the library"));
    } else if (f.event === "ai.conversation") {
      ask.heard(d);
    }
  }

  function onBookEvent(f, d) {
    if (f.event.startsWith("highlight.")) {
      if (f.event === "highlight.deleted") theirs.delete(d.id);
      else if (d.user_id !== bm.userId) theirs.set(d.id, d);
      paint();
    } else if (f.event === "presence.join" || f.event === "presence.leave") {
      const key = `${d.user.id} ${d.device}`;
      if (f.event === "presence.join") presence.set(key, d.user);
      else presence.delete(key);
      const readers = new Set([...presence.values()].filter((u) => u.id !== bm.userId).map((u) => u.id));
      presenceLine.textContent = readers.size ? `${readers.size} other${readers.size > 1 ? "s" : ""} reading` : "";
    }
  }

  return {
    destroy() {
      destroyed = true;
      saveSoon.flush();
      endSession();
      live.stop();
      ask.stop();
      importer.destroy();
      removeEventListener("scroll", saveSoon);
      removeEventListener("pagehide", endSession);
      bm.removeEventListener("status", onStatus);
      bm.removeEventListener("unsubscribed", onUnsubscribed);
      sizer.disconnect();
      bm.unsubscribe(bookChannel);
      document.body.dataset.theme = "light";
    },
  };
}

// The library: the reader's books and public ones, uploads with progress, ingestion
// progress live from the user channel, and search across the library.
import { h, clear, announce, errorText, excerpt } from "./dom.js";
import { liveState } from "./live.js";

const STAGES = { stored: "Stored", parsing: "Reading the file", chunking: "Splitting into passages",
  embedding: "Indexing for search", indexing: "Finishing the index" };
const ACCEPT = ".pdf,.epub,.mobi,.azw,.azw3,.docx,application/pdf,application/epub+zip";

export async function libraryView(bm, main) {
  const books = new Map();
  const list = h("ul", { class: "books", "aria-label": "Books" });
  const covers = [];
  let uploaded = null; // the last upload's book: its line follows it to ready or failed
  const live = liveState(bm, onEvent);

  const uploadStatus = h("div", { class: "upload-status", role: "status" });
  const fileInput = h("input", { type: "file", name: "file", accept: ACCEPT, id: "upload-file" });
  const visibility = h("select", { name: "visibility", id: "upload-visibility" },
    h("option", { value: "private" }, "Private (only me)"), h("option", { value: "public" }, "Public (every reader)"));
  const drop = h("div", { class: "dropzone", tabindex: "-1" },
    h("p", {}, "Drop a PDF, EPUB, MOBI or DOCX here, or "),
    h("label", { class: "button", for: "upload-file" }, "Choose a file…"), fileInput,
    h("label", {}, "Visibility ", visibility));
  fileInput.addEventListener("change", () => fileInput.files[0] && upload(fileInput.files[0]));
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add("over"); });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files[0]) upload(e.dataTransfer.files[0]);
  });

  const results = h("div", { class: "search-results", "aria-live": "polite" });
  const search = h("form", { class: "search", role: "search", onsubmit: runSearch },
    h("label", { for: "library-q" }, "Search your library"),
    h("input", { id: "library-q", name: "q", type: "search", minlength: 2 }),
    h("button", { type: "submit" }, "Search"));

  clear(main, h("section", { class: "library" },
    h("h1", {}, "Library"),
    h("section", { "aria-labelledby": "upload-h", class: "upload" },
      h("h2", { id: "upload-h" }, "Add a book"), drop, uploadStatus),
    search, results, list));

  const { data, seqs } = await bm.request("GET", "/books?limit=100");
  for (const book of data.items) books.set(book.id, book);
  render();
  live.loaded(seqs);
  bm.connect({ resume: seqs });

  async function upload(file) {
    const bar = h("progress", { max: 1, value: 0, "aria-label": `Uploading ${file.name}` });
    clear(uploadStatus, h("span", {}, `Uploading ${file.name} `), bar);
    try {
      const book = await bm.upload(file, { visibility: visibility.value }, (f) => { bar.value = f; });
      books.set(book.id, book);
      uploaded = book.id;
      clear(uploadStatus, `${file.name} uploaded; reading it now.`);
      render();
    } catch (err) {
      clear(uploadStatus, h("span", { class: "error", role: "alert" }, `${file.name}: ${errorText(err)}`));
    }
    fileInput.value = "";
  }

  function onEvent(f) {
    const d = f.data || {};
    if (f.event === "book.processing" && books.has(d.book_id)) {
      Object.assign(books.get(d.book_id), { processing_status: "processing", stage: d.stage, percent: d.percent });
    } else if (f.event === "book.ready") {
      books.set(d.id, d);
      announce(`${d.title} is ready to read`);
      if (d.id === uploaded) clear(uploadStatus, `${d.title} is ready to read.`);
    } else if (f.event === "book.failed" && books.has(d.book_id)) {
      Object.assign(books.get(d.book_id), { processing_status: "failed", processing_error: d.error });
      if (d.book_id === uploaded) clear(uploadStatus, h("span", { class: "error" }, `${books.get(d.book_id).title} could not be read.`));
    } else if (f.event === "book.deleted") {
      books.delete(d.book_id);
    } else return;
    render();
  }

  function render() {
    const sorted = [...books.values()].sort((a, b) => b.created_at.localeCompare(a.created_at));
    clear(list, sorted.length ? sorted.map(card) : h("li", { class: "empty" }, "No books yet: add one above."));
  }

  function card(book) {
    const ready = book.processing_status === "completed";
    const title = ready ? h("a", { href: `#/book/${book.id}` }, book.title) : book.title;
    const cover = h("div", { class: "cover", "aria-hidden": "true" }, book.title.slice(0, 1));
    if (book.cover_image_url) loadCover(book, cover);
    const item = h("li", { class: "book", "data-id": book.id, "data-status": book.processing_status },
      cover,
      h("div", { class: "meta" },
        h("h3", {}, title),
        h("p", { class: "author" }, book.author || ""),
        status(book),
        ready ? progressBar(book) : null,
        (book.warnings || []).map((w) => h("p", { class: "warning" }, w)),
        h("p", { class: "badges" }, book.visibility === "public" ? "Public" : "Private",
          book.user_id === bm.userId ? "" : " · shared by another reader"),
        book.user_id === bm.userId ? h("button", { type: "button", class: "link",
          onclick: () => remove(book) }, "Delete", h("span", { class: "visually-hidden" }, ` ${book.title}`)) : null));
    return item;
  }

  function status(book) {
    if (book.processing_status === "failed") {
      return h("p", { class: "error" }, `Could not be read: ${book.processing_error || "unknown reason"}`);
    }
    if (book.processing_status === "completed") return h("p", { class: "status-line" }, "Ready");
    const percent = book.percent || 0;
    return h("p", { class: "status-line" }, `${STAGES[book.stage] || "Waiting to be read"} `,
      h("progress", { max: 100, value: percent, "aria-label": `Reading ${book.title}` }), ` ${percent}%`);
  }

  function progressBar(book) {
    const bar = h("progress", { max: 1, value: 0, "aria-label": `Progress in ${book.title}` });
    const label = h("span", {}, "");
    bm.get(`/books/${book.id}/progress`).then((p) => {
      const f = (p.latest && p.latest.progress_percentage) || 0;
      bar.value = f;
      label.textContent = ` ${Math.round(f * 100)}% read`;
    }).catch(() => {});
    return h("p", { class: "progress" }, bar, label);
  }

  async function loadCover(book, el) {
    const url = await bm.objectUrl(book.cover_image_url).catch(() => null);
    if (!url) return;
    covers.push(url);
    clear(el, h("img", { src: url, alt: "" }));
  }

  async function remove(book) {
    if (!confirm(`Delete “${book.title}” and everything on it?`)) return;
    try {
      await bm.del(`/books/${book.id}`);
      books.delete(book.id);
      render();
    } catch (err) { alert(errorText(err)); }
  }

  async function runSearch(e) {
    e.preventDefault();
    const q = new FormData(e.target).get("q");
    clear(results, "Searching…");
    try {
      const data = await bm.get(`/search?q=${encodeURIComponent(q)}&k=10`);
      clear(results, data.items.length ? data.items.map((b) => h("section", {},
        h("h3", {}, b.title),
        h("ul", {}, b.hits.map((hit) => h("li", {},
          h("a", { href: `#/book/${b.book_id}`, onclick: () => sessionStorage.setItem("bookmind.jump", JSON.stringify({ book: b.book_id, start: hit.start_offset, end: hit.end_offset })) },
            hit.chapter_title || `Page ${hit.start_page}`),
          h("p", {}, excerpt(hit.text, 280))))))) : "Nothing found.");
    } catch (err) { clear(results, h("p", { class: "error" }, errorText(err))); }
  }

  return { destroy() { live.stop(); covers.forEach((u) => URL.revokeObjectURL(u)); } };
}

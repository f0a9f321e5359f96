// Importing highlights from a Kindle's clippings, KOReader or Readwise: into the open book
// (POST /books/{id}/imports), or a file of several books into the library (POST /imports).
// The file goes up, the server places each quote in the book's text, and the progress and
// the report come back as events on the reader's channel.
import { h, clear, errorText } from "./dom.js";

const FORMATS = [["", "Detect the format"], ["clippings", "Kindle (My Clippings.txt)"],
  ["koreader", "KOReader (JSON or Markdown)"], ["readwise", "Readwise (CSV)"]];

export function importControls(bm, { path, label }) {
  const id = `import-${Math.random().toString(36).slice(2, 8)}`;
  const file = h("input", { id, class: "import-file", type: "file", accept: ".txt,.json,.md,.csv" });
  const format = h("select", { "aria-label": "Format" },
    FORMATS.map(([value, text]) => h("option", { value }, text)));
  const status = h("div", { role: "status", class: "small import-status" });
  let jobs = new Map(); // the imports under way: id -> the latest state heard
  let unmatched = [];

  function onEvent(e) {
    const { event, data } = e.detail;
    if (event === "import.progress" && jobs.has(data.import_id)) {
      jobs.set(data.import_id, { ...jobs.get(data.import_id), done: data.done });
      const all = [...jobs.values()];
      clear(status, `Importing… ${all.reduce((n, j) => n + j.done, 0)} of ${all.reduce((n, j) => n + j.total, 0)} entries`);
    } else if (event === "import.finished" && jobs.has(data.id)) {
      jobs.set(data.id, data);
      if ([...jobs.values()].every((j) => j.finished_at)) report([...jobs.values()]);
    }
  }
  bm.addEventListener("event", onEvent);

  function report(done) {
    jobs = new Map();
    const sum = (key) => done.reduce((n, j) => n + j[key], 0);
    const failed = done.filter((j) => j.status === "failed");
    const missing = done.flatMap((j) => j.report.filter((x) => x.status === "unmatched"));
    clear(status,
      done.length ? h("p", {}, `Imported ${sum("created")} new, ${sum("present")} already here, `,
        `${sum("unmatched")} not found in ${done.length > 1 ? "their books" : "this book"}`,
        sum("other_book") ? `, ${sum("other_book")} for other books` : "", ".") : null,
      failed.map((j) => h("p", {}, `An import failed: ${j.error}`)),
      unmatched.length ? h("p", {}, "Not in your library: ",
        unmatched.map((u) => `${u.title} (${u.entries})`).join(", "), ".") : null,
      missing.length ? h("details", {}, h("summary", {}, "Not found in the book"),
        h("ul", {}, missing.map((x) => h("li", {}, x.text)))) : null);
  }

  async function submit(e) {
    e.preventDefault();
    if (!file.files[0]) { clear(status, "Choose a file first."); return; }
    const form = new FormData();
    form.append("file", file.files[0]);
    if (format.value) form.append("format", format.value);
    clear(status, "Sending…");
    try {
      const made = await bm.postForm(path, form);
      const started = made.imports || [made];
      unmatched = made.unmatched || [];
      jobs = new Map(started.map((j) => [j.id, j]));
      if (!started.length) report([]);
      else clear(status, `Importing… 0 of ${started.reduce((n, j) => n + j.total, 0)} entries`);
    } catch (err) { clear(status, errorText(err)); }
  }

  const element = h("form", { class: "import", onsubmit: submit, "aria-label": "Import from another app" },
    h("label", { for: id }, label), file, format, h("button", { type: "submit" }, "Import"), status);
  return { element, destroy() { bm.removeEventListener("event", onEvent); } };
}

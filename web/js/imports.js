// Importing highlights from a Kindle's clippings, KOReader or Readwise into the open book:
// the file goes up, the server places each quote in the book's text, and the progress
// and the report come back as events on the reader's channel.
import { h, clear, errorText } from "./dom.js";

const FORMATS = [["", "Detect the format"], ["clippings", "Kindle (My Clippings.txt)"],
  ["koreader", "KOReader (JSON or Markdown)"], ["readwise", "Readwise (CSV)"]];

export function importControls(bm, bookId) {
  const file = h("input", { id: "import-file", type: "file", accept: ".txt,.json,.md,.csv" });
  const format = h("select", { id: "import-format", "aria-label": "Format" },
    FORMATS.map(([value, text]) => h("option", { value }, text)));
  const status = h("div", { role: "status", class: "small import-status" });
  let current = null;

  function onEvent(e) {
    const { event, data } = e.detail;
    if (!current) return;
    if (event === "import.progress" && data.import_id === current) {
      clear(status, `Importing… ${data.done} of ${data.total} entries`);
    } else if (event === "import.finished" && data.id === current) {
      current = null;
      report(data);
    }
  }
  bm.addEventListener("event", onEvent);

  function report(job) {
    if (job.status === "failed") { clear(status, `The import failed: ${job.error}`); return; }
    const missing = job.report.filter((x) => x.status === "unmatched");
    clear(status,
      h("p", {}, `Imported ${job.created} new, ${job.present} already here, `,
        `${job.unmatched} not found in this book`, job.other_book ? `, ${job.other_book} for other books` : "", "."),
      missing.length ? h("details", {}, h("summary", {}, "Not found in this book"),
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
      const job = await bm.postForm(`/books/${bookId}/imports`, form);
      current = job.id;
      clear(status, `Importing… 0 of ${job.total} entries`);
    } catch (err) { clear(status, errorText(err)); }
  }

  const element = h("form", { class: "import", onsubmit: submit, "aria-label": "Import from another app" },
    h("label", { for: "import-file" }, "Import highlights from Kindle, KOReader or Readwise"),
    file, format, h("button", { type: "submit" }, "Import"), status);
  return { element, destroy() { bm.removeEventListener("event", onEvent); } };
}

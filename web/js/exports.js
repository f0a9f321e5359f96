// Export controls: the reader's highlights, notes and bookmarks as a file other tools read.
import { h, errorText } from "./dom.js";

const FORMATS = [
  ["markdown", "Markdown (Obsidian)"],
  ["readwise", "Readwise CSV"],
  ["annotation", "Web Annotations (JSON-LD)"],
  ["clippings", "Kindle clippings"],
];

/** A format picker and a button that downloads `${path}?format=…` (`more`: formats
 * only this place offers). */
export function exportControls(bm, path, label, more = []) {
  const id = `export-${Math.random().toString(36).slice(2, 8)}`;
  const select = h("select", { id }, [...FORMATS, ...more].map(([value, text]) => h("option", { value }, text)));
  const status = h("span", { role: "status", class: "small" });
  async function save(e) {
    e.preventDefault();
    status.textContent = "";
    try {
      const { blob, filename } = await bm.download(`${path}?format=${select.value}`);
      const url = URL.createObjectURL(blob);
      const a = h("a", { href: url, download: filename, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      status.textContent = `Saved ${filename}`;
    } catch (err) { status.textContent = errorText(err); }
  }
  return h("form", { class: "export", onsubmit: save },
    h("label", { for: id }, label), select, h("button", { type: "submit" }, "Export"), status);
}

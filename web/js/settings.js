// The reader's settings: the account, the sync password that KOReader (kosync) signs
// in with, exports and imports.
import { h, clear, errorText } from "./dom.js";
import { accountSection } from "./account.js";
import { exportControls } from "./exports.js";
import { importControls } from "./imports.js";

export async function settingsView(bm, main) {
  const importer = importControls(bm, { path: "/imports", label: "Import into your library" });
  const status = h("p", { role: "status" });
  const password = h("input", { id: "sync-password", type: "password", minlength: 8, required: true,
    autocomplete: "new-password" });
  const server = `${location.origin}/kosync`;
  clear(main, h("section", { class: "settings" },
    h("h1", {}, "Settings"),
    accountSection(bm),
    h("section", { "aria-labelledby": "devices-h" },
      h("h2", { id: "devices-h" }, "Reading devices (KOReader)"),
      h("p", {}, "KOReader's progress sync keeps your place between an e-reader and BookMind, live. ",
        "Set a sync password here (not your account password: the device keeps it), then in KOReader open ",
        h("em", {}, "Tools → Progress sync → Custom sync server"), " and enter:"),
      h("dl", { class: "facts" },
        h("dt", {}, "Server"), h("dd", {}, h("code", {}, server)),
        h("dt", {}, "Username"), h("dd", {}, h("code", {}, bm.user.username)),
        h("dt", {}, "Password"), h("dd", {}, "the sync password below")),
      h("p", {}, "The same username and sync password open your library in OPDS apps (KOReader's ",
        h("em", {}, "OPDS catalog"), ", Moon+ Reader, Thorium): catalog URL ", h("code", {}, `${location.origin}/opds`), "."),
      h("form", { onsubmit: save },
        h("label", { for: "sync-password" }, "Sync password"), password,
        h("button", { type: "submit" }, "Set sync password")),
      status),
    h("section", { "aria-labelledby": "export-h" },
      h("h2", { id: "export-h" }, "Your highlights, notes and bookmarks"),
      h("p", {}, "Everything you marked in every book, in one file for Obsidian, Readwise, ",
        "annotation tools or anything that reads a Kindle's clippings."),
      h("p", {}, "Or take everything: your profile, books and their files, progress, sessions, ",
        "highlights, notes, conversations, quote cards and collections, as JSON in a ZIP."),
      exportControls(bm, "/users/me/export", "Export all as",
        [["zip", "Everything (ZIP of JSON and your books' files)"]]),
      h("p", {}, "Bring highlights in: a Kindle's whole My Clippings.txt, or any export that ",
        "holds several books, goes into the books of your library it names."),
      importer.element)));

  async function save(e) {
    e.preventDefault();
    try {
      await bm.put("/users/me/sync-password", { password: password.value });
      password.value = "";
      status.textContent = "Sync password set. Sign in from KOReader with it.";
    } catch (err) { status.textContent = errorText(err); }
  }
  return { destroy() { importer.destroy(); } };
}

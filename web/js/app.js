// The web reader's shell: sign-in, the header, and a hash router over the views.
import { BookMind } from "./bookmind.js";
import { h, clear, errorText } from "./dom.js";
import { libraryView } from "./library.js";
import { readerView } from "./reader.js";
import { socialView } from "./social.js";
import { statsView } from "./stats.js";
import { settingsView } from "./settings.js";
import { confirmEmailView, forgotPassword, resetPasswordView } from "./account.js";

const bm = new BookMind();
const main = document.getElementById("main");
let current = null; // the view on screen: {destroy()}

// the links mail carries: they work signed in or not
const openRoutes = [
  [/^#\/reset-password\/([A-Za-z0-9_-]+)$/, (m) => resetPasswordView(bm, main, m[1])],
  [/^#\/confirm-email\/([A-Za-z0-9_-]+)$/, (m) => confirmEmailView(bm, main, m[1])],
];

const routes = [
  [/^#\/book\/([0-9a-f-]{36})$/, (m) => readerView(bm, main, m[1])],
  // a place in a book, as exports link to it: #/book/{id}/at/{start}[-{end}]
  [/^#\/book\/([0-9a-f-]{36})\/at\/(\d+)(?:-(\d+))?$/, (m) => {
    const start = Number(m[2]);
    sessionStorage.setItem("bookmind.jump", JSON.stringify({ book: m[1], start, end: m[3] ? Number(m[3]) : start }));
    return readerView(bm, main, m[1]);
  }],
  [/^#\/social$/, () => socialView(bm, main)],
  [/^#\/stats$/, () => statsView(bm, main)],
  [/^#\/settings$/, () => settingsView(bm, main)],
  [/^(#\/?)?$/, () => libraryView(bm, main)],
];

async function route() {
  if (current && current.destroy) current.destroy();
  current = null;
  for (const [pattern, make] of openRoutes) {
    const m = location.hash.match(pattern);
    if (m) {
      document.getElementById("top").hidden = !bm.signedIn;
      await make(m);
      return;
    }
  }
  if (!bm.signedIn) { authView(); return; }
  showHeader();
  const hash = location.hash;
  for (const [pattern, make] of routes) {
    const m = hash.match(pattern);
    if (m) {
      main.setAttribute("aria-busy", "true"); // until the view has its state
      try { current = await make(m); } catch (err) { clear(main, h("p", { role: "alert" }, errorText(err))); }
      main.setAttribute("aria-busy", "false");
      main.focus({ preventScroll: true });
      return;
    }
  }
  location.hash = "#/";
}

function showHeader() {
  document.getElementById("top").hidden = false;
  document.getElementById("whoami").textContent = `@${bm.user.username}`;
  // the socket opens once the library has loaded its state (so it resumes from there)
}

function authView() {
  document.getElementById("top").hidden = true;
  const error = h("p", { class: "error", role: "alert" });
  const field = (label, name, type = "text", extra = {}) => h("label", {}, label,
    h("input", { name, type, required: true, ...extra }));
  const submit = (handler) => async (e) => {
    e.preventDefault();
    error.textContent = "";
    const form = new FormData(e.target);
    try {
      await handler(Object.fromEntries(form));
      route();
    } catch (err) {
      error.textContent = errorText(err);
      if (err.field) e.target.querySelector(`[name=${err.field}]`)?.focus();
    }
  };
  clear(main,
    h("section", { class: "auth" },
      h("h1", {}, "BookMind"),
      h("p", {}, "Read your books on every device, highlight, and ask about what you read."),
      error,
      h("div", { class: "auth-forms" },
        h("form", { "aria-labelledby": "signin-h", onsubmit: submit((f) => bm.login(f.login, f.password)) },
          h("h2", { id: "signin-h" }, "Sign in"),
          field("Email or username", "login", "text", { autocomplete: "username" }),
          field("Password", "password", "password", { autocomplete: "current-password" }),
          h("button", { type: "submit" }, "Sign in")),
        h("form", { "aria-labelledby": "signup-h", onsubmit: submit((f) => bm.register(f)) },
          h("h2", { id: "signup-h" }, "Create an account"),
          field("Email", "email", "email", { autocomplete: "email" }),
          field("Username", "username", "text", { pattern: "[A-Za-z0-9_]{3,30}", autocomplete: "username",
            title: "3 to 30 letters, digits or _" }),
          field("Password", "password", "password", { minlength: 8, autocomplete: "new-password" }),
          h("button", { type: "submit" }, "Create account"))),
      forgotPassword(bm)));
}

document.getElementById("signout").addEventListener("click", () => {
  // no hashchange: the signedout event draws the sign-in view once, so nothing typed into
  // it is wiped by a second drawing when the logout request returns
  history.replaceState(null, "", "#/");
  bm.logout();
});
bm.addEventListener("signedout", () => route());
// events after a resume point the server no longer keeps: the view loads its state again
bm.addEventListener("resync", () => route());
bm.addEventListener("status", (e) => {
  const labels = { online: "Live", connecting: "Connecting…", offline: "Offline" };
  const el = document.getElementById("connection");
  el.textContent = labels[e.detail];
  el.dataset.state = e.detail;
});
window.addEventListener("hashchange", route);
window.bookmind = bm; // for the console, and for tests that look at the protocol state
route();

// Small DOM helpers. Text always goes in as text nodes, never as HTML: every string
// from the server (titles, notes, answers, other readers' names) is someone's input.

/** h("button", {class: "x", onclick: fn, "aria-label": "Close"}, "text", child, …) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** Said by screen readers without moving focus. */
export function announce(text) {
  const live = document.getElementById("announcer");
  if (live) live.textContent = text;
}

/** A message for an error from the API, naming the field when there is one. */
export function errorText(err) {
  if (err && err.code === "rate_limited" && err.retryAfter) {
    return `${err.message} Try again in ${err.retryAfter} s.`;
  }
  return (err && err.message) || "Something went wrong.";
}

export function minutes(seconds) {
  const m = Math.round(seconds / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

export function debounce(fn, ms) {
  let timer;
  const run = (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  run.flush = (...args) => { clearTimeout(timer); fn(...args); };
  run.cancel = () => clearTimeout(timer);
  return run;
}

// at most `max` characters of `text`, cut at a word boundary and marked "…" when cut
export function excerpt(text, max) {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const space = cut.lastIndexOf(" ");
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[\s,;:.—-]+$/, "")}…`;
}

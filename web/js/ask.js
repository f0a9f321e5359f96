// Asking about the book: the answer streams in as the model writes it, its [n]
// citations jump to the passages they cite, it can be cancelled, and the day's quota
// is shown (and explained when it runs out).
import { h, clear, announce, errorText, when, excerpt } from "./dom.js";

const FEATURES = [["chat", "Question"], ["explain", "Explain"], ["summarize", "Summarize"], ["define", "Define"]];

export function askPanel(bm, { book, chapter, jumpTo }) {
  let conversationId = null; // the thread a follow-up continues
  let running = null; // {cancel}
  const quota = h("p", { class: "quota", id: "ask-quota" });
  const transcript = h("div", { class: "transcript" });
  const past = h("div", { class: "past" });
  const question = h("textarea", { id: "ask-q", name: "question", rows: 3, maxlength: 1000, required: true });
  const feature = h("select", { id: "ask-feature" }, FEATURES.map(([v, l]) => h("option", { value: v }, l)));
  const spoilers = h("input", { type: "checkbox", id: "ask-spoilers" });
  const cancel = h("button", { type: "button", hidden: true, onclick: () => running && running.cancel() }, "Cancel");
  const form = h("form", { class: "ask", onsubmit: (e) => { e.preventDefault(); submit(); } },
    h("label", { for: "ask-q" }, `Ask about “${book.title}”`), question,
    h("div", { class: "row" },
      h("label", {}, "Kind ", feature),
      h("label", {}, spoilers, " Allow spoilers")),
    h("div", { class: "actions" },
      h("button", { type: "submit" }, "Ask"),
      h("button", { type: "button", onclick: summarizeChapter }, "Summarize this chapter"),
      h("button", { type: "button", onclick: () => { conversationId = null; clear(transcript); announce("New conversation"); } }, "New conversation"),
      cancel));
  const element = h("section", { class: "ask-panel", "aria-label": "Ask AI" }, quota, form, transcript,
    h("button", { type: "button", class: "link", onclick: loadPast }, "Past conversations"), past);
  refreshQuota();

  async function refreshQuota() {
    try {
      const q = await bm.get("/users/me/quota");
      quota.textContent = q.remaining_today === null
        ? `Unlimited questions (${q.tier} plan).`
        : `${q.remaining_today} of ${q.daily_limit} questions left today (${q.tier} plan).`;
      quota.dataset.remaining = q.remaining_today ?? "";
    } catch { quota.textContent = ""; }
  }

  function submit(extra = {}) {
    const text = (extra.question || question.value).trim();
    if (text.length < 3 || running) return;
    const params = {
      book_id: book.id, question: text, feature: extra.feature || feature.value,
      attached_text: extra.attached_text || null, chapter_id: extra.chapter_id || null,
      conversation_id: conversationId, spoilers: spoilers.checked,
    };
    if (extra.highlight_id) params.highlight_id = extra.highlight_id;
    question.value = "";
    stream(params);
  }

  function stream(params) {
    let sources = [];
    let answer = "";
    const answerEl = h("div", { class: "answer", "aria-live": "polite", "aria-busy": "true" });
    const sourcesEl = h("ol", { class: "sources", "aria-label": "Sources" });
    const state = h("p", { class: "small" }, "Finding the passages…");
    transcript.append(h("article", { class: "exchange" },
      h("p", { class: "question" }, params.attached_text ? `${params.question} — “${excerpt(params.attached_text, 120)}”` : params.question),
      answerEl, sourcesEl, state));
    cancel.hidden = false;
    running = bm.ask(params, {
      onStarted(f) {
        sources = f.sources;
        conversationId = f.conversation_id;
        state.textContent = "Writing…";
        clear(sourcesEl, sources.map((s, i) => h("li", {}, h("button", {
          type: "button", class: "link", onclick: () => jumpTo(s.start_offset, s.end_offset),
        }, `[${i + 1}] ${s.chapter_title || "Passage"}${s.start_page ? `, p. ${s.start_page}` : ""}`))));
      },
      onDelta(f) {
        answer += f.text;
        renderAnswer(answerEl, answer, sources, jumpTo);
      },
      onCompleted(f) {
        renderAnswer(answerEl, f.answer, sources, jumpTo);
        state.textContent = `${f.model} · ${(f.response_time_ms / 1000).toFixed(1)} s`;
        finish(answerEl);
        announce("Answer complete");
      },
      onError(f) {
        state.textContent = explain(f);
        state.className = "error";
        finish(answerEl);
      },
    });
  }

  function finish(answerEl) {
    answerEl.setAttribute("aria-busy", "false");
    running = null;
    cancel.hidden = true;
    refreshQuota();
  }

  function explain(f) {
    if (f.code === "quota_exceeded") {
      return `${f.message} Your answers so far are kept under Past conversations; a paid plan asks more.`;
    }
    if (f.code === "cancelled") return "Cancelled: what was written so far is kept.";
    if (f.code === "not_ready") return "This book is still being read; ask again when it is ready.";
    return f.message || errorText(f);
  }

  function summarizeChapter() {
    const c = chapter();
    submit({ question: `Summarize “${c.title || `chapter ${c.chapter_number}`}”.`, feature: "summarize", chapter_id: c.id });
  }

  async function loadPast() {
    try {
      const data = await bm.get(`/books/${book.id}/conversations?limit=20`);
      clear(past, data.items.length ? h("ul", { class: "items" }, data.items.map((c) => h("li", { class: "item" },
        h("p", { class: "question" }, c.question),
        pastAnswer(c),
        h("p", { class: "small" }, when(c.created_at), c.status !== "completed" ? ` · ${c.status}` : "")))) : "No conversations yet.");
    } catch (err) { clear(past, errorText(err)); }
  }

  function pastAnswer(c) {
    const el = h("div", { class: "answer" });
    renderAnswer(el, c.answer, c.sources_referenced || [], jumpTo);
    return el;
  }

  return {
    element,
    explain(selection) {
      feature.value = "explain";
      submit({ question: "Explain this passage.", feature: "explain", attached_text: selection.text.slice(0, 2000) });
    },
    heard() { if (past.childElementCount) loadPast(); },
    stop() { /* an answer still streaming is stored by the server; it shows in Past conversations */ },
  };
}

/** The answer's text with each [n] as a link to source n. Rebuilt on every delta, so the
 * page grows as the model writes. */
function renderAnswer(el, text, sources, jumpTo) {
  const parts = text.split(/(\[\d+\])/);
  clear(el, parts.map((part) => {
    const m = part.match(/^\[(\d+)\]$/);
    const source = m && sources[Number(m[1]) - 1];
    if (!source) return part;
    return h("a", { href: "#", class: "cite", "aria-label": `Source ${m[1]}: ${source.chapter_title || "passage"}`,
      onclick: (e) => { e.preventDefault(); jumpTo(source.start_offset, source.end_offset); } }, part);
  }));
}

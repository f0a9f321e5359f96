// Readers to follow, their public highlights and quote cards live in a feed, trending
// quotes, and the reader's collections.
import { h, clear, announce, errorText, when } from "./dom.js";
import { liveState } from "./live.js";

export async function socialView(bm, main) {
  const feed = h("ol", { class: "feed", "aria-label": "Feed" });
  const following = h("ul", { class: "people", "aria-label": "Following" });
  const trending = h("ol", { class: "trending", "aria-label": "Trending quotes" });
  const collections = h("ul", { class: "collections", "aria-label": "Your collections" });
  const collection = h("div", { class: "collection" });
  const followError = h("p", { class: "error", role: "alert" });
  const titles = new Map(); // book id -> its title (a promise), fetched once
  const live = liveState(bm, (f) => {
    if (f.event === "feed.item") { feed.prepend(feedItem({ ...f.data, created_at: new Date().toISOString() })); announce(`New from @${f.data.author.username}`); }
    if (f.event === "follow.created" || f.event === "follow.deleted") loadFollowing();
  });
  const timeframe = h("select", { id: "trending-timeframe", onchange: loadTrending },
    ["hourly", "daily", "weekly"].map((t) => h("option", { value: t, selected: t === "daily" }, t)));

  clear(main, h("section", { class: "social" },
    h("h1", {}, "Social"),
    h("div", { class: "columns" },
      h("section", { "aria-labelledby": "feed-h" }, h("h2", { id: "feed-h" }, "Feed"),
        h("p", { class: "small" }, "Public highlights and quote cards of the readers you follow, live."), feed),
      h("div", {},
        h("section", { "aria-labelledby": "follow-h" }, h("h2", { id: "follow-h" }, "Follow a reader"),
          h("form", { onsubmit: follow },
            h("label", { for: "follow-name" }, "Username"), h("input", { id: "follow-name", name: "username", required: true }),
            h("button", { type: "submit" }, "Follow")),
          followError, following),
        h("section", { "aria-labelledby": "trending-h" }, h("h2", { id: "trending-h" }, "Trending quotes"),
          h("label", {}, "Timeframe ", timeframe), trending),
        h("section", { "aria-labelledby": "coll-h" }, h("h2", { id: "coll-h" }, "Collections"),
          h("form", { onsubmit: createCollection },
            h("label", { for: "coll-title" }, "New collection"), h("input", { id: "coll-title", name: "title", required: true, maxlength: 200 }),
            h("label", {}, h("input", { type: "checkbox", name: "public" }), " Public"),
            h("button", { type: "submit" }, "Create")),
          collections, collection)))));

  live.loaded(await loadFeed());
  bm.connect();
  loadFollowing();
  loadTrending();
  loadCollections();

  /** The stored feed; live items arrive as `feed.item` (ephemeral, no seq to resume). */
  async function loadFeed() {
    const { data, seqs } = await bm.request("GET", "/feed?limit=50");
    clear(feed, data.items.length ? data.items.map(feedItem)
      : h("li", { class: "empty" }, "Follow readers to see their public highlights here."));
    return seqs;
  }

  function feedItem(entry) {
    feed.querySelector(".empty")?.remove();
    const item = entry.item;
    const text = entry.kind === "highlight" ? item.selected_text : item.quote_text;
    return h("li", { class: "feed-item" },
      h("p", { class: "who" }, `@${entry.author.username}`, entry.kind === "highlight" ? " highlighted" : " shared a quote card",
        entry.kind === "highlight" && item.book_id ? bookTitle(item.book_id) : null,
        h("span", { class: "small" }, ` · ${when(entry.created_at)}`)),
      h("blockquote", {}, text),
      entry.kind === "highlight" && item.book_id ? h("a", { href: `#/book/${item.book_id}` }, "Open the book") : null,
      entry.kind === "quote_share" && item.shareable_url ? h("a", { href: item.shareable_url, target: "_blank", rel: "noopener" }, "See the card") : null);
  }

  // the book a highlight is in, by its title once known (a feed item carries only its id)
  function bookTitle(id) {
    const el = h("span", { class: "feed-book" });
    if (!titles.has(id)) titles.set(id, bm.get(`/books/${id}`).then((b) => b.title).catch(() => null));
    titles.get(id).then((title) => { if (title) el.textContent = ` in ${title}`; });
    return el;
  }

  async function follow(e) {
    e.preventDefault();
    followError.textContent = "";
    const name = new FormData(e.target).get("username").trim().replace(/^@/, "");
    try {
      await bm.call("follow", { username: name });
      e.target.reset();
      announce(`Following @${name}`);
      loadFollowing();
      loadFeed();
    } catch (err) { followError.textContent = err.code === "not_found" ? `No reader called @${name}.` : errorText(err); }
  }

  async function loadFollowing() {
    const data = await bm.get(`/users/${bm.user.username}/following?limit=100`);
    clear(following, data.items.map((u) => h("li", {}, `@${u.username}`,
      h("button", { type: "button", class: "link", onclick: async () => { await bm.call("unfollow", { username: u.username }); loadFollowing(); } },
        "Unfollow", h("span", { class: "visually-hidden" }, ` @${u.username}`)))));
  }

  async function loadTrending() {
    const data = await bm.get(`/trending?timeframe=${timeframe.value}`);
    clear(trending, data.items.length ? data.items.map((t) => h("li", {},
      h("blockquote", {}, t.quote.quote_text),
      h("p", { class: "small" }, [t.quote.book_attribution, t.quote.author_attribution].filter(Boolean).join(" · "),
        ` · ${t.total_engagement} engagements`))) : h("li", { class: "empty" }, "Nothing trending yet."));
  }

  async function loadCollections() {
    const data = await bm.get("/collections?limit=50");
    clear(collections, data.items.map((c) => h("li", {}, h("button", { type: "button", class: "link", onclick: () => openCollection(c.id) },
      `${c.title} (${c.quotes_count})`), c.public ? " · public" : "")));
  }

  async function openCollection(id) {
    try {
      const c = await bm.get(`/collections/${id}`);
      clear(collection, h("h3", {}, c.title), c.items.length ? h("ol", {}, c.items.map((i) => h("li", {},
        h("blockquote", {}, i.quote.quote_text),
        i.quote.shareable_url ? h("a", { href: i.quote.shareable_url, target: "_blank", rel: "noopener" }, "Card") : null,
        h("button", { type: "button", class: "link", onclick: async () => { await bm.del(`/collections/${id}/items/${i.quote_share_id}`); openCollection(id); loadCollections(); } }, "Remove")))) :
        h("p", {}, "Empty: share a highlight as a quote card, then add it here."));
    } catch (err) { clear(collection, errorText(err)); }
  }

  async function createCollection(e) {
    e.preventDefault();
    const form = new FormData(e.target);
    try {
      await bm.post("/collections", { title: form.get("title"), public: form.get("public") === "on" });
      e.target.reset();
      loadCollections();
    } catch (err) { announce(errorText(err)); }
  }

  return { destroy() { live.stop(); } };
}

// Sharing a highlight as a quote card: pick a template and a size, see the card, copy
// its link, and keep it in a collection.
import { h, clear, errorText, excerpt } from "./dom.js";

const PLATFORMS = [["", "Square"], ["twitter", "X / Twitter (1200×675)"], ["instagram", "Instagram (1080×1080)"],
  ["story", "Story (1080×1920)"]];

let templates = null;

export async function shareDialog(bm, highlight) {
  templates = templates || (await bm.get("/templates"));
  const me = await bm.get("/users/me");
  const free = me.subscription_tier === "free";
  const error = h("p", { class: "error", role: "alert" });
  const result = h("div", { class: "card-result" });
  const template = h("select", { name: "template" }, templates.map((t) => h("option", {
    value: t.id, disabled: t.is_premium && free }, `${t.name}${t.is_premium ? " (premium)" : ""}`)));
  const platform = h("select", { name: "platform" }, PLATFORMS.map(([v, l]) => h("option", { value: v }, l)));
  const message = h("input", { name: "message", maxlength: 2000 });
  const dialog = h("dialog", { class: "share", "aria-labelledby": "share-h" },
    h("form", { method: "dialog", onsubmit: create },
      h("h2", { id: "share-h" }, "Share as a quote card"),
      h("blockquote", {}, excerpt(highlight.selected_text, 300)),
      h("label", {}, "Template ", template),
      h("label", {}, "Size ", platform),
      h("label", {}, "Message ", message),
      error,
      h("div", { class: "actions" },
        h("button", { type: "submit" }, "Create card"),
        h("button", { type: "button", onclick: () => dialog.close() }, "Close"))),
    result);
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();

  async function create(e) {
    e.preventDefault();
    error.textContent = "";
    try {
      const body = { template_id: template.value };
      if (platform.value) body.platforms = [platform.value];
      if (message.value.trim()) body.share_message = message.value.trim();
      const share = await bm.post(`/highlights/${highlight.id}/share`, body);
      const copied = h("span", { role: "status" });
      const collections = (await bm.get("/collections?limit=50")).items;
      const pick = h("select", { name: "collection" }, h("option", { value: "" }, "Add to a collection…"),
        collections.map((c) => h("option", { value: c.id }, c.title)));
      pick.addEventListener("change", async () => {
        if (!pick.value) return;
        try {
          await bm.post(`/collections/${pick.value}/items`, { quote_share_id: share.id });
          copied.textContent = "Added to the collection.";
        } catch (err) { copied.textContent = errorText(err); }
      });
      clear(result,
        h("img", { class: "card", src: share.card_image_url, alt: `Quote card: ${share.quote_text}` }),
        h("p", {}, h("a", { href: share.shareable_url, target: "_blank", rel: "noopener" }, share.shareable_url)),
        h("div", { class: "actions" },
          h("button", { type: "button", onclick: async () => {
            try { await navigator.clipboard.writeText(share.shareable_url); copied.textContent = "Link copied."; } catch { copied.textContent = share.shareable_url; }
          } }, "Copy link"),
          collections.length ? pick : null, copied));
    } catch (err) { error.textContent = errorText(err); }
  }
}

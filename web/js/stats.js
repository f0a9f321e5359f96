// The reader's numbers: streak, time read, books finished, and reading per day.
import { h, clear, minutes } from "./dom.js";

export async function statsView(bm, main) {
  const [stats, days] = await Promise.all([bm.get("/users/me/stats"), bm.get("/users/me/stats/daily?days=30")]);
  const most = Math.max(60, ...days.items.map((d) => d.seconds));
  const figure = (label, value) => h("div", { class: "figure" }, h("dt", {}, label), h("dd", {}, value));
  const width = 600;
  const barW = width / days.items.length;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${width} 160`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-labelledby", "chart-h");
  days.items.forEach((d, i) => {
    const height = Math.round((d.seconds / most) * 140);
    const rect = document.createElementNS(svg.namespaceURI, "rect");
    Object.entries({ x: i * barW + 2, y: 150 - height, width: barW - 4, height: Math.max(height, 1), class: "bar" })
      .forEach(([k, v]) => rect.setAttribute(k, v));
    const title = document.createElementNS(svg.namespaceURI, "title");
    title.textContent = `${d.date}: ${minutes(d.seconds)}, ${d.pages} pages`;
    rect.append(title);
    svg.append(rect);
  });
  clear(main, h("section", { class: "stats" },
    h("h1", {}, "Your reading"),
    h("dl", { class: "figures" },
      figure("Reading streak", `${stats.reading_streak} day${stats.reading_streak === 1 ? "" : "s"}`),
      figure("Time read", minutes(stats.total_reading_time)),
      figure("Books finished", `${stats.completed_books} of ${stats.total_books}`),
      figure("Highlights", stats.total_highlights),
      figure("Bookmarks", stats.total_bookmarks),
      figure("Quotes shared", stats.quotes_shared),
      figure("Average speed", stats.average_reading_speed ? `${stats.average_reading_speed} wpm` : "—")),
    h("h2", { id: "chart-h" }, "Minutes read per day, last 30 days"),
    h("figure", { class: "chart" }, svg,
      h("figcaption", { class: "small" }, `${days.items[0].date} – ${days.items[days.items.length - 1].date}`)),
    h("table", { class: "visually-hidden" }, h("caption", {}, "Reading per day"),
      h("tr", {}, h("th", {}, "Date"), h("th", {}, "Minutes"), h("th", {}, "Pages")),
      days.items.map((d) => h("tr", {}, h("td", {}, d.date), h("td", {}, Math.round(d.seconds / 60)), h("td", {}, d.pages))))));
  return { destroy() {} };
}

// Drill-down: the records a number was counted from, a page at a time, each linking to its contact.

import { api } from "./api.js";
import { h, notice } from "./dom.js";
import { CHANNEL_LABEL, dateTime, duration } from "./format.js";
import { go, heading, link } from "./nav.js";

const PAGE_SIZE = 25;

function contactLink(row) {
  if (!row.contact_id) return h("span", { class: "muted" }, row.counterpart || "no contact");
  const name = row.contact_name || `Contact #${row.contact_id}`;
  return h("span", { class: "contact-cell" },
    h("a", { class: "contact-link", href: link("contact", {}, row.contact_id) }, name),
    row.counterpart && row.counterpart !== name ? h("div", { class: "muted small" }, row.counterpart) : null);
}

function activityTable(items) {
  return h("div", { class: "scroll" }, h(
    "table",
    { class: "records stack" },
    h("thead", {}, h("tr", {}, ["When", "Channel", "Status", "Contact", "About"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, items.map((row) =>
      h("tr", { class: "drill-row", dataset: { id: row.id } },
        h("td", { class: "nowrap", dataset: { label: "When" } }, dateTime(row.occurred_at)),
        h("td", { dataset: { label: "Channel" } }, CHANNEL_LABEL[row.channel] || row.channel, row.direction ? ` · ${row.direction}` : ""),
        h("td", { dataset: { label: "Status" } }, row.status, row.talk_s ? ` · ${duration(row.talk_s)}` : ""),
        h("td", { dataset: { label: "Contact" } }, contactLink(row)),
        h("td", { class: "about", dataset: { label: "About" } }, row.subject || row.result || "—")))),
  ));
}

function contactTable(items) {
  return h("div", { class: "scroll" }, h(
    "table",
    { class: "records stack" },
    h("thead", {}, h("tr", {}, ["Contact", "City", "Missing fields"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, items.map((row) =>
      h("tr", { class: "drill-row", dataset: { id: row.id } },
        h("td", { dataset: { label: "Contact" } }, contactLink(row)),
        h("td", { dataset: { label: "City" } }, row.city || "—"),
        h("td", { dataset: { label: "Missing" } }, row.missing && row.missing.length ? row.missing.join(", ") : "—")))),
  ));
}

export async function drillPage({ me, params }) {
  const indicator = params.get("indicator");
  const employee = params.get("employee") || me.employee_id;
  const period = params.get("period") || me.period;
  const page = Math.max(1, Number.parseInt(params.get("page") || "1", 10) || 1);
  const limit = Math.min(500, Math.max(1, Number.parseInt(params.get("limit") || String(PAGE_SIZE), 10) || PAGE_SIZE));
  if (!indicator) return notice("error", "No indicator chosen: open the drill-down by clicking a number.");
  const [data, catalogue, person] = await Promise.all([
    api("/kpi/drill", { params: { indicator, employee, period, page, limit } }),
    api("/kpi/indicators"),
    employee ? api(`/employees/${encodeURIComponent(employee)}`).catch(() => null) : null,
  ]);
  const info = catalogue.items.find((i) => i.code === indicator);
  const title = info ? info.title : indicator;
  const toPage = (n) => go("drill", { indicator, employee, period, page: n, limit: limit === PAGE_SIZE ? null : limit });
  const pager = h(
    "nav",
    { class: "pager", "aria-label": "Pages" },
    h("button", { type: "button", class: "button small prev", disabled: page <= 1, onclick: () => toPage(page - 1) }, "‹ Newer"),
    h("span", { class: "page-of" }, `Page ${page} of ${data.pages}`),
    h("button", { type: "button", class: "button small next", disabled: page >= data.pages, onclick: () => toPage(page + 1) }, "Older ›"),
  );
  const back = h("a", {
    class: "back",
    href: link("my", { period }),
    onclick: (event) => {
      if (history.length > 1) {
        event.preventDefault();
        history.back();
      }
    },
  }, "← Back");
  return h(
    "section",
    { class: "drill", dataset: { count: data.count } },
    back,
    heading(`${title}`),
    h("p", { class: "drill-summary" },
      person ? `${person.name} · ` : "", `${data.period} · `,
      h("strong", { class: "drill-count" }, String(data.count)), ` record${data.count === 1 ? "" : "s"}`,
      data.closed ? ` · month closed, frozen fact ${data.frozen_fact}` : ""),
    data.items.length
      ? (data.kind === "contacts" ? contactTable(data.items) : activityTable(data.items))
      : notice("empty", data.count ? "No records on this page." : "Nothing was counted for this number."),
    data.pages > 1 ? pager : null,
  );
}

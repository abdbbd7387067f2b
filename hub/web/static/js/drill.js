// Drill-down: the records a number was counted from, a page at a time, each linking to its contact.

import { api } from "./api.js";
import { h, notice } from "./dom.js";
import { CHANNEL_LABEL, dateTime, duration } from "./format.js";
import { go, heading, link } from "./nav.js";
import { label, monthName, t } from "./i18n.js";

const PAGE_SIZE = 25;

function contactLink(row) {
  if (!row.contact_id) return h("span", { class: "muted" }, row.counterpart || t("drill.no_contact"));
  const name = row.contact_name || t("drill.contact_n", { id: row.contact_id });
  return h("span", { class: "contact-cell" },
    h("a", { class: "contact-link", href: link("contact", {}, row.contact_id) }, name),
    row.counterpart && row.counterpart !== name ? h("div", { class: "muted small" }, row.counterpart) : null);
}

function activityTable(items) {
  return h("div", { class: "scroll" }, h(
    "table",
    { class: "records stack" },
    h("thead", {}, h("tr", {}, ["when", "channel", "status", "contact", "about"].map((k) => h("th", { scope: "col" }, t(`drill.${k}`))))),
    h("tbody", {}, items.map((row) =>
      h("tr", { class: "drill-row", dataset: { id: row.id } },
        h("td", { class: "nowrap", dataset: { label: t("drill.when") } }, dateTime(row.occurred_at)),
        h("td", { dataset: { label: t("drill.channel") } }, CHANNEL_LABEL[row.channel] || row.channel, row.direction ? ` · ${label("direction", row.direction)}` : ""),
        h("td", { dataset: { label: t("drill.status"), status: row.status } }, label("status", row.status), row.talk_s ? ` · ${duration(row.talk_s)}` : ""),
        h("td", { dataset: { label: t("drill.contact") } }, contactLink(row)),
        h("td", { class: "about", dataset: { label: t("drill.about") } }, row.subject || row.result || "—")))),
  ));
}

function contactTable(items) {
  return h("div", { class: "scroll" }, h(
    "table",
    { class: "records stack" },
    h("thead", {}, h("tr", {}, ["contact", "city", "missing"].map((k) => h("th", { scope: "col" }, t(`drill.${k}`))))),
    h("tbody", {}, items.map((row) =>
      h("tr", { class: "drill-row", dataset: { id: row.id } },
        h("td", { dataset: { label: t("drill.contact") } }, contactLink(row)),
        h("td", { dataset: { label: t("drill.city") } }, row.city || "—"),
        h("td", { dataset: { label: t("drill.missing") } }, row.missing && row.missing.length ? row.missing.map((f) => label("field", f)).join(", ") : "—")))),
  ));
}

export async function drillPage({ me, params }) {
  const indicator = params.get("indicator");
  const employee = params.get("employee") || me.employee_id;
  const period = params.get("period") || me.period;
  const page = Math.max(1, Number.parseInt(params.get("page") || "1", 10) || 1);
  const limit = Math.min(500, Math.max(1, Number.parseInt(params.get("limit") || String(PAGE_SIZE), 10) || PAGE_SIZE));
  if (!indicator) return notice("error", t("drill.no_indicator"));
  const [data, catalogue, person] = await Promise.all([
    api("/kpi/drill", { params: { indicator, employee, period, page, limit } }),
    api("/kpi/indicators"),
    employee ? api(`/employees/${encodeURIComponent(employee)}`).catch(() => null) : null,
  ]);
  const info = catalogue.items.find((i) => i.code === indicator);
  const title = label("indicator", indicator, info ? info.title : indicator);
  const toPage = (n) => go("drill", { indicator, employee, period, page: n, limit: limit === PAGE_SIZE ? null : limit });
  const pager = h(
    "nav",
    { class: "pager", "aria-label": t("app.pages") },
    h("button", { type: "button", class: "button small prev", disabled: page <= 1, onclick: () => toPage(page - 1) }, t("drill.newer")),
    h("span", { class: "page-of" }, t("drill.page_of", { page, pages: data.pages })),
    h("button", { type: "button", class: "button small next", disabled: page >= data.pages, onclick: () => toPage(page + 1) }, t("drill.older")),
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
  }, t("app.back"));
  return h(
    "section",
    { class: "drill", dataset: { count: data.count } },
    back,
    heading(`${title}`),
    h("p", { class: "drill-summary" },
      person ? `${person.name} · ` : "", `${monthName(data.period)} · `,
      h("strong", { class: "drill-count" }, String(data.count)), " ", t("drill.records_word", { n: data.count }),
      data.closed ? t("drill.frozen", { fact: data.frozen_fact }) : ""),
    data.items.length
      ? (data.kind === "contacts" ? contactTable(data.items) : activityTable(data.items))
      : notice("empty", data.count ? t("drill.empty_page") : t("drill.nothing")),
    data.pages > 1 ? pager : null,
  );
}

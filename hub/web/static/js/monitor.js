// The heads' indicator monitor: groups by colour and an employees × indicators table.

import { api } from "./api.js";
import { h, notice } from "./dom.js";
import { colourClass, isMonth, percent, withUnit } from "./format.js";
import { go, heading, link, periodPicker } from "./nav.js";
import { trendMark } from "./my.js";
import { label, monthName, t } from "./i18n.js";

const GROUPS = [
  { key: "critical", title: t("monitor.critical"), hint: t("monitor.critical_hint"), colour: "red" },
  { key: "important", title: t("monitor.important"), hint: t("monitor.important_hint"), colour: "yellow" },
  { key: "information", title: t("monitor.information"), hint: t("monitor.information_hint"), colour: "green" },
];

function drillLink(cell, period, text) {
  return h("a", {
    class: "fact-link",
    href: link("drill", { indicator: cell.indicator, employee: cell.employee, period }),
    title: t("count.records", { n: cell.records }),
  }, text);
}

function group(spec, cells, period) {
  return h(
    "section",
    { class: `group group-${spec.key} ${colourClass(spec.colour)}`, dataset: { group: spec.key } },
    h("h2", {}, spec.title, " ", h("span", { class: "count" }, String(cells.length)), h("small", {}, ` ${spec.hint}`)),
    cells.length
      ? h("ul", { class: "group-list" }, cells.map((c) =>
          h("li", { dataset: { employee: c.employee, indicator: c.indicator } },
            h("span", { class: "who" }, c.employee_name),
            h("span", { class: "what" }, label("indicator", c.indicator, c.title)),
            h("span", { class: "numbers" },
              drillLink(c, period, withUnit(c.fact, c.unit, c.decimals)),
              " / ", withUnit(c.plan, c.unit, c.decimals), " · ", percent(c.percent), " ", trendMark(c.trend)))))
      : h("p", { class: "muted" }, t("monitor.nobody")),
  );
}

function matrix(data) {
  const titles = new Map();
  const byKey = new Map();
  for (const key of ["critical", "important", "information", "without_plan"]) {
    for (const cell of data[key]) {
      titles.set(cell.indicator, label("indicator", cell.indicator, cell.title));
      byKey.set(`${cell.employee}:${cell.indicator}`, cell);
    }
  }
  const indicators = data.indicators.filter((code) => titles.has(code));
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      { class: "matrix" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("monitor.employee")), indicators.map((code) => h("th", { scope: "col" }, titles.get(code))))),
      h("tbody", {}, data.employees.map((emp) =>
        h("tr", {},
          h("th", { scope: "row" }, emp.name),
          indicators.map((code) => {
            const cell = byKey.get(`${emp.id}:${code}`);
            if (!cell) return h("td", { class: "colour-none" }, "");
            return h("td", {
              class: colourClass(cell.colour),
              dataset: { employee: emp.id, indicator: code, colour: cell.colour || "none" },
              title: cell.plan === null ? t("my.no_plan") : t("monitor.cell_plan", { plan: withUnit(cell.plan, cell.unit, cell.decimals), percent: percent(cell.percent) }),
            }, drillLink(cell, data.period, withUnit(cell.fact, cell.unit, cell.decimals)));
          })))),
    ),
  );
}

export async function monitorPage({ me, params }) {
  if (!me.can_monitor) {
    return notice("error", t("monitor.forbidden"));
  }
  const period = isMonth(params.get("period")) ? params.get("period") : me.period;
  const data = await api("/kpi/monitor", { params: { period } });
  const picker = periodPicker(period, (month) => go("monitor", { period: month }));
  const body = data.employees.length
    ? [
        h("div", { class: "groups" }, GROUPS.map((spec) => group(spec, data[spec.key], data.period))),
        h("h2", { class: "section-title" }, t("monitor.all")),
        matrix(data),
        h("p", { class: "hint" }, t("count.without_plan", { n: data.without_plan.length })),
      ]
    : [notice("empty", t("monitor.empty"))];
  return h(
    "section",
    { class: "monitor" },
    heading(t("monitor.title"), picker),
    data.closed ? notice("info", t("period.closed", { period: monthName(data.period) })) : null,
    data.started === false ? notice("info", t("period.not_started", { period: monthName(data.period) })) : null,
    body,
  );
}

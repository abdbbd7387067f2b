// The heads' indicator monitor: what needs attention first (Critical, Important, in full),
// what is on track as a count per employee that opens, then employees × indicators.

import { api } from "./api.js";
import { h, notice } from "./dom.js";
import { downloadLinks } from "./export.js";
import { colourClass, isMonth, percent, withUnit } from "./format.js";
import { spanLine, trendMark } from "./my.js";
import { go, heading, link, periodPicker } from "./nav.js";
import { label, monthName, t } from "./i18n.js";

// Every word of this page, in one place.
const TEXT = {
  title: t("monitor.title"),
  forbidden: t("monitor.forbidden"),
  nobody: t("monitor.empty"),
  empty: t("monitor.nobody"),
  closed: (period) => t("period.closed", { period: monthName(period) }),
  ahead: (period) => t("period.not_started", { period: monthName(period) }),
  allTitle: t("monitor.all"),
  employee: t("monitor.employee"),
  records: (n) => t("count.records", { n }),
  noPlan: t("my.no_plan"),
  planTip: (plan, pct) => t("monitor.cell_plan", { plan, percent: pct }),
  onTrack: (n) => t("monitor.on_track", { n }),
  withoutPlan: (n) => t("count.without_plan", { n }),
  group: (name) => label("indicator_group", name, name),
};
const GROUPS = [
  { key: "critical", title: t("monitor.critical"), hint: t("monitor.critical_hint"), colour: "red" },
  { key: "important", title: t("monitor.important"), hint: t("monitor.important_hint"), colour: "yellow" },
  { key: "information", title: t("monitor.information"), hint: t("monitor.information_hint"), colour: "green" },
];

function drillLink(cell, period, text) {
  return h("a", {
    class: "fact-link",
    href: link("drill", { indicator: cell.indicator, employee: cell.employee, period }),
    title: TEXT.records(cell.records),
  }, text);
}

function item(cell, period, { withName }) {
  return h("li", { dataset: { employee: cell.employee, indicator: cell.indicator } },
    withName ? h("span", { class: "who" }, cell.employee_name) : null,
    h("span", { class: "what" }, label("indicator", cell.indicator, cell.title)),
    h("span", { class: "numbers" },
      drillLink(cell, period, withUnit(cell.fact, cell.unit, cell.decimals)),
      " / ", withUnit(cell.plan, cell.unit, cell.decimals), " · ", percent(cell.percent), " ", trendMark(cell)));
}

function groupBox(spec, cells, body) {
  return h(
    "section",
    { class: `group group-${spec.key} ${colourClass(spec.colour)}`, dataset: { group: spec.key } },
    h("h2", {}, spec.title, " ", h("span", { class: "count" }, String(cells.length)), h("small", {}, ` ${spec.hint}`)),
    cells.length ? body : h("p", { class: "muted" }, TEXT.empty),
  );
}

/** Critical and Important: every cell, worst first. */
function fullGroup(spec, cells, period) {
  const ordered = [...cells].sort((a, b) => (a.percent ?? 0) - (b.percent ?? 0));
  return groupBox(spec, cells, h("ul", { class: "group-list" }, ordered.map((c) => item(c, period, { withName: true }))));
}

/** For information: a count per employee; each opens to its cells. */
function countedGroup(spec, cells, period) {
  const byEmployee = new Map();
  for (const cell of cells) {
    if (!byEmployee.has(cell.employee)) byEmployee.set(cell.employee, []);
    byEmployee.get(cell.employee).push(cell);
  }
  const people = [...byEmployee.values()].map((own) =>
    h("details", { class: "person", dataset: { employee: own[0].employee } },
      h("summary", { dataset: { count: own.length } },
        h("span", { class: "who" }, own[0].employee_name), " ",
        h("span", { class: "count" }, TEXT.onTrack(own.length))),
      h("ul", { class: "group-list" }, own.map((c) => item(c, period, { withName: false })))));
  return groupBox(spec, cells, h("div", { class: "people" }, people));
}

function matrix(data, catalogue) {
  const titles = new Map();
  const byKey = new Map();
  for (const key of ["critical", "important", "information", "without_plan"]) {
    for (const cell of data[key]) {
      titles.set(cell.indicator, label("indicator", cell.indicator, cell.title));
      byKey.set(`${cell.employee}:${cell.indicator}`, cell);
    }
  }
  const groupOf = new Map(catalogue.map((i) => [i.code, i.group]));
  const indicators = data.indicators.filter((code) => titles.has(code));
  // Indicators side by side by group, in catalogue order within each.
  const groups = [];
  for (const code of indicators) {
    const name = groupOf.get(code) || "";
    let last = groups[groups.length - 1];
    if (!last || last.name !== name) {
      last = groups.find((g) => g.name === name);
      if (!last) groups.push((last = { name, codes: [] }));
    }
    last.codes.push(code);
  }
  const ordered = groups.flatMap((g) => g.codes);
  const firstOfGroup = new Set(groups.map((g) => g.codes[0]));
  const edge = (code) => (firstOfGroup.has(code) ? "group-start" : null);
  return h(
    "div",
    { class: "scroll matrix-scroll" },
    h(
      "table",
      { class: "matrix" },
      h("thead", {},
        h("tr", { class: "groups-row" },
          h("th", { scope: "col", rowspan: 2, class: "corner" }, TEXT.employee),
          groups.map((g) => h("th", { scope: "colgroup", colspan: g.codes.length, class: "group-start" }, TEXT.group(g.name)))),
        h("tr", {}, ordered.map((code) => h("th", { scope: "col", class: edge(code) }, titles.get(code))))),
      h("tbody", {}, data.employees.map((emp) =>
        h("tr", {},
          h("th", { scope: "row" }, emp.name),
          ordered.map((code) => {
            const cell = byKey.get(`${emp.id}:${code}`);
            if (!cell) return h("td", { class: ["colour-none", edge(code)].filter(Boolean).join(" ") }, "");
            return h("td", {
              class: [colourClass(cell.colour), edge(code)].filter(Boolean).join(" "),
              dataset: { employee: emp.id, indicator: code, colour: cell.colour || "none" },
              title: cell.plan === null ? TEXT.noPlan : TEXT.planTip(withUnit(cell.plan, cell.unit, cell.decimals), percent(cell.percent)),
            }, drillLink(cell, data.period, withUnit(cell.fact, cell.unit, cell.decimals)), trendMark(cell));
          })))),
    ),
  );
}

export async function monitorPage({ me, params }) {
  if (!me.can_monitor) return notice("error", TEXT.forbidden);
  const period = isMonth(params.get("period")) ? params.get("period") : me.period;
  const [data, catalogue] = await Promise.all([
    api("/kpi/monitor", { params: { period } }),
    api("/kpi/indicators"),
  ]);
  const picker = periodPicker(period, (month) => go("monitor", { period: month }));
  const [critical, important, information] = GROUPS;
  const body = data.employees.length
    ? [
        h("div", { class: "groups" },
          fullGroup(critical, data.critical, data.period),
          fullGroup(important, data.important, data.period)),
        h("div", { class: "groups groups-info" }, countedGroup(information, data.information, data.period)),
        h("div", { class: "section-head" },
          h("h2", { class: "section-title" }, TEXT.allTitle),
          downloadLinks({ period: data.period })),
        matrix(data, catalogue.items),
        h("p", { class: "hint" }, TEXT.withoutPlan(data.without_plan.length)),
      ]
    : [notice("empty", TEXT.nobody)];
  return h(
    "section",
    { class: "monitor" },
    heading(TEXT.title, picker),
    data.closed ? notice("info", TEXT.closed(data.period)) : null,
    data.started === false ? notice("info", TEXT.ahead(data.period)) : null,
    spanLine(data),
    body,
  );
}

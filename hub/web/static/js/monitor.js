// The heads' indicator monitor: groups by colour and an employees × indicators table.

import { api } from "./api.js";
import { h, notice } from "./dom.js";
import { colourClass, isMonth, percent, withUnit } from "./format.js";
import { go, heading, link, periodPicker } from "./nav.js";
import { trendMark } from "./my.js";

const GROUPS = [
  { key: "critical", title: "Critical", hint: "below 50% of plan", colour: "red" },
  { key: "important", title: "Important", hint: "50–79% of plan", colour: "yellow" },
  { key: "information", title: "For information", hint: "80% of plan and above", colour: "green" },
];

function drillLink(cell, period, text) {
  return h("a", {
    class: "fact-link",
    href: link("drill", { indicator: cell.indicator, employee: cell.employee, period }),
    title: `${cell.records} records`,
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
            h("span", { class: "what" }, c.title),
            h("span", { class: "numbers" },
              drillLink(c, period, withUnit(c.fact, c.unit, c.decimals)),
              " / ", withUnit(c.plan, c.unit, c.decimals), " · ", percent(c.percent), " ", trendMark(c.trend)))))
      : h("p", { class: "muted" }, "Nobody here."),
  );
}

function matrix(data) {
  const titles = new Map();
  const byKey = new Map();
  for (const key of ["critical", "important", "information", "without_plan"]) {
    for (const cell of data[key]) {
      titles.set(cell.indicator, cell.title);
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
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Employee"), indicators.map((code) => h("th", { scope: "col" }, titles.get(code))))),
      h("tbody", {}, data.employees.map((emp) =>
        h("tr", {},
          h("th", { scope: "row" }, emp.name),
          indicators.map((code) => {
            const cell = byKey.get(`${emp.id}:${code}`);
            if (!cell) return h("td", { class: "colour-none" }, "");
            return h("td", {
              class: colourClass(cell.colour),
              dataset: { employee: emp.id, indicator: code, colour: cell.colour || "none" },
              title: cell.plan === null ? "no plan" : `plan ${withUnit(cell.plan, cell.unit, cell.decimals)} · ${percent(cell.percent)}`,
            }, drillLink(cell, data.period, withUnit(cell.fact, cell.unit, cell.decimals)));
          })))),
    ),
  );
}

export async function monitorPage({ me, params }) {
  if (!me.can_monitor) {
    return notice("error", "The monitor is for heads and admins; your token may not see colleagues' numbers.");
  }
  const period = isMonth(params.get("period")) ? params.get("period") : me.period;
  const data = await api("/kpi/monitor", { params: { period } });
  const picker = periodPicker(period, (month) => go("monitor", { period: month }));
  const body = data.employees.length
    ? [
        h("div", { class: "groups" }, GROUPS.map((spec) => group(spec, data[spec.key], data.period))),
        h("h2", { class: "section-title" }, "All subordinates"),
        matrix(data),
        h("p", { class: "hint" }, `${data.without_plan.length} indicator(s) without a plan are shown grey.`),
      ]
    : [notice("empty", "Nobody reports to you, so the monitor is empty.")];
  return h(
    "section",
    { class: "monitor" },
    heading("Indicator monitor", picker),
    data.closed ? notice("info", `${data.period} is closed: these numbers are frozen.`) : null,
    data.started === false ? notice("info", `${data.period} has not started yet: nothing in it is judged.`) : null,
    body,
  );
}

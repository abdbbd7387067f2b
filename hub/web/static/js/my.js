// "My indicators": a card per planned indicator, plus widgets the user added themselves.

import { api } from "./api.js";
import { h, notice } from "./dom.js";
import { COLOUR_LABEL, DIRECTION, TREND, colourClass, isMonth, number, percent, spanText, withUnit } from "./format.js";
import { downloadLinks } from "./export.js";
import { go, heading, link, periodPicker } from "./nav.js";

const TEXT = {
  noArrow: "nothing to compare with",
  clickHint: "Click a number to see the records it was counted from.",
  before: "Before", // the fact of the days the arrow compares with (the span line names them)
};

const WIDGETS_KEY = "touchhub.widgets";

function widgetKey(me) {
  return `${WIDGETS_KEY}.${me.employee_id}`;
}

/** Indicator codes the user added as widgets (kept in this browser). */
export function loadWidgets(me) {
  try {
    const codes = JSON.parse(localStorage.getItem(widgetKey(me)) || "[]");
    return Array.isArray(codes) ? codes.filter((c) => typeof c === "string") : [];
  } catch {
    return [];
  }
}

function saveWidgets(me, codes) {
  localStorage.setItem(widgetKey(me), JSON.stringify([...new Set(codes)]));
}

/** The arrow against the days compared: it points where the fact went (up, down) and is
 * coloured by whether that is better or worse; words for screen readers and tooltips. */
export function trendMark(cell) {
  if (!cell.trend || !cell.direction) return h("span", { class: "trend trend-none", title: TEXT.noArrow }, "");
  const way = DIRECTION[cell.direction];
  const label = `${way.label} (${number(cell.previous, cell.decimals)} → ${number(cell.fact, cell.decimals)}), ${TREND[cell.trend].label}`;
  return h(
    "span",
    { class: `trend trend-${cell.trend}`, dataset: { direction: cell.direction }, title: label, "aria-label": label },
    way.arrow,
  );
}

/** The line saying what was judged and compared, as a paragraph (nothing when empty). */
export function spanLine(answer) {
  const text = spanText(answer.span);
  return text ? h("p", { class: "span-line" }, text) : null;
}

function card(cell, period, { removable, onRemove }) {
  const drill = link("drill", { indicator: cell.indicator, employee: cell.employee, period });
  return h(
    "article",
    {
      class: `card ${colourClass(cell.colour)}`,
      dataset: { indicator: cell.indicator, colour: cell.colour || "none" },
    },
    h(
      "header",
      { class: "card-head" },
      h("h2", { class: "card-title" }, cell.title),
      removable
        ? h("button", { type: "button", class: "icon-button remove", title: "Remove widget", "aria-label": `Remove widget ${cell.title}`, onclick: onRemove }, "×")
        : null,
    ),
    h(
      "div",
      { class: "card-body" },
      h("a", { class: "fact", href: drill, title: `Show the ${cell.records} records behind this number` }, withUnit(cell.fact, cell.unit, cell.decimals)),
      trendMark(cell),
    ),
    h(
      "dl",
      { class: "card-meta" },
      h("div", {}, h("dt", {}, "Plan"), h("dd", { class: "plan" }, cell.plan === null ? "no plan" : withUnit(cell.plan, cell.unit, cell.decimals))),
      h("div", {}, h("dt", {}, "Done"), h("dd", { class: "percent" }, percent(cell.percent))),
      h("div", {}, h("dt", {}, TEXT.before), h("dd", { class: "previous" }, number(cell.previous, cell.decimals))),
    ),
    cell.colour ? h("p", { class: "card-colour" }, COLOUR_LABEL[cell.colour]) : null,
  );
}

export async function myPage({ me, params, rerender }) {
  const period = isMonth(params.get("period")) ? params.get("period") : me.period;
  const picker = periodPicker(period, (month) => go("my", { period: month }));
  if (me.employee_id === null) {
    return h(
      "section",
      {},
      heading("My indicators"),
      notice("empty", "This token belongs to no employee, so there are no indicators of your own. ",
        me.can_monitor ? h("a", { href: link("monitor", { period }) }, "Open the monitor") : null),
    );
  }
  const [table, catalogue] = await Promise.all([
    api("/kpi", { params: { period, employee: me.employee_id } }),
    api("/kpi/indicators"),
  ]);
  const added = loadWidgets(me);
  const shown = table.cells.filter((c) => c.plan !== null || added.includes(c.indicator));
  const shownCodes = new Set(shown.map((c) => c.indicator));
  const remaining = catalogue.items.filter((i) => !shownCodes.has(i.code));

  const select = h(
    "select",
    { class: "add-widget-select", "aria-label": "Indicator to add" },
    h("option", { value: "" }, "Add a widget…"),
    remaining.map((i) => h("option", { value: i.code }, i.title)),
  );
  const addForm = h(
    "form",
    {
      class: "add-widget",
      onsubmit: (event) => {
        event.preventDefault();
        if (!select.value) return;
        saveWidgets(me, [...added, select.value]);
        rerender();
      },
    },
    select,
    h("button", { type: "submit", class: "button" }, "Add"),
  );

  const cards = shown.map((cell) =>
    card(cell, table.period, {
      removable: cell.plan === null,
      onRemove: () => {
        saveWidgets(me, added.filter((c) => c !== cell.indicator));
        rerender();
      },
    }),
  );
  return h(
    "section",
    { class: "my" },
    heading(`My indicators${me.employee_name ? ` · ${me.employee_name}` : ""}`, picker),
    table.closed ? notice("info", `${table.period} is closed: these numbers are frozen.`) : null,
    table.started === false ? notice("info", `${table.period} has not started yet: nothing in it is judged.`) : null,
    spanLine(table),
    cards.length
      ? h("div", { class: "cards" }, cards)
      : notice("empty", `No plans for ${table.period} yet. Add a widget below to follow an indicator without a plan.`),
    remaining.length ? addForm : null,
    h("p", { class: "hint" }, TEXT.clickHint, " ", downloadLinks({ period: table.period, employee: me.employee_id })),
  );
}

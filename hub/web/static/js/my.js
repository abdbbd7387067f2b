// "My indicators": a card per planned indicator, plus widgets the user added themselves.

import { api } from "./api.js";
import { h, notice } from "./dom.js";
import { COLOUR_LABEL, DIRECTION, TREND, colourClass, isMonth, number, percent, spanText, withUnit } from "./format.js";
import { downloadLinks } from "./export.js";
import { go, heading, link, periodPicker } from "./nav.js";
import { label, monthName, t } from "./i18n.js";

const TEXT = {
  noArrow: t("trend.none"),
  clickHint: t("my.click_hint"),
  before: t("my.before"), // the fact of the days the arrow compares with (the span line names them)
};

const WIDGETS_KEY = "touchhub.widgets";
/** What a new user sees before choosing: the counts this product exists for. */
export const DEFAULT_WIDGETS = ["inbound_calls", "outbound_calls", "outgoing_letters", "outgoing_messages", "touches_per_client", "missed_not_called_back"];

function widgetKey(me) {
  return `${WIDGETS_KEY}.${me.employee_id}`;
}

/** Indicator codes the user added as widgets (kept in this browser). */
export function loadWidgets(me) {
  try {
    const saved = localStorage.getItem(widgetKey(me));
    const codes = saved === null ? DEFAULT_WIDGETS : JSON.parse(saved);
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
  const words = `${way.label} (${number(cell.previous, cell.decimals)} → ${number(cell.fact, cell.decimals)}), ${TREND[cell.trend].label}`;
  return h(
    "span",
    { class: `trend trend-${cell.trend}`, dataset: { direction: cell.direction }, title: words, "aria-label": words },
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
      h("h2", { class: "card-title" }, label("indicator", cell.indicator, cell.title)),
      removable
        ? h("button", { type: "button", class: "icon-button remove", title: t("my.remove"), "aria-label": t("my.remove_named", { title: label("indicator", cell.indicator, cell.title) }), onclick: onRemove }, "×")
        : null,
    ),
    h(
      "div",
      { class: "card-body" },
      h("a", { class: "fact", href: drill, title: t("my.records", { n: cell.records }) }, withUnit(cell.fact, cell.unit, cell.decimals)),
      trendMark(cell),
    ),
    h(
      "dl",
      { class: "card-meta" },
      h("div", {}, h("dt", {}, t("my.plan")), h("dd", { class: "plan" }, cell.plan === null ? t("my.no_plan") : withUnit(cell.plan, cell.unit, cell.decimals))),
      h("div", {}, h("dt", {}, t("my.done")), h("dd", { class: "percent" }, percent(cell.percent))),
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
      heading(t("my.title")),
      notice("empty", t("my.no_employee"),
        me.can_monitor ? h("a", { href: link("monitor", { period }) }, t("my.open_monitor")) : null),
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
    { class: "add-widget-select", "aria-label": t("my.add_label") },
    h("option", { value: "" }, t("my.add_choose")),
    remaining.map((i) => h("option", { value: i.code }, label("indicator", i.code, i.title))),
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
    h("button", { type: "submit", class: "button" }, t("my.add")),
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
    heading(`${t("my.title")}${me.employee_name ? ` · ${me.employee_name}` : ""}`, picker),
    table.closed ? notice("info", t("period.closed", { period: monthName(table.period) })) : null,
    table.started === false ? notice("info", t("period.not_started", { period: monthName(table.period) })) : null,
    spanLine(table),
    cards.length
      ? h("div", { class: "cards" }, cards)
      : notice("empty", t("my.no_plans", { period: monthName(table.period) })),
    remaining.length ? addForm : null,
    h("p", { class: "hint" }, TEXT.clickHint, " ", downloadLinks({ period: table.period, employee: me.employee_id })),
  );
}

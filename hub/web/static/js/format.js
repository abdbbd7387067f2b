// Numbers, periods, colours and arrows shown the same way on every page.

import { dateTime as localDateTime, duration as localDuration, has, locale, number as localNumber, t } from "./i18n.js";

export const COLOUR_LABEL = { red: t("colour.red"), yellow: t("colour.yellow"), green: t("colour.green") };
// The arrow points where the fact went (direction); its colour says whether that is good.
export const DIRECTION = {
  up: { arrow: "▲", label: t("direction_word.up") },
  down: { arrow: "▼", label: t("direction_word.down") },
  flat: { arrow: "=", label: t("direction_word.flat") },
};
export const TREND = {
  better: { label: t("trend.better") },
  worse: { label: t("trend.worse") },
  same: { label: t("trend.same") },
};
// What a table judged and compared with (the API's `span`), in one line.
export const SPAN_TEXT = {
  partial: (s) => t("span.partial", {
    first: day(s.first_day), last: day(s.last_day), worked: s.working_days, total: s.working_days_total,
    previous_first: day(s.previous_first_day), previous_last: day(s.previous_last_day),
  }),
  whole: (s) => t("span.whole", { previous_first: day(s.previous_first_day), previous_last: day(s.previous_last_day) }),
};
export const CHANNEL_LABEL = {
  call: t("channel.call"),
  email: t("channel.email"),
  sms: t("channel.sms"),
  messenger: t("channel.messenger"),
  meeting: t("channel.meeting"),
  task: t("channel.task"),
  note: t("channel.note"),
};
// Glyphs every common system font has (no emoji font is assumed).
export const CHANNEL_ICON = {
  call: "☎",
  email: "✉",
  sms: "✆",
  messenger: "❝",
  meeting: "⚑",
  task: "✓",
  note: "✎",
};

/** A local day (YYYY-MM-DD) as "1 Dec 2026". */
export function day(iso) {
  const [year, month, date] = (iso || "").split("-").map(Number);
  if (!year || !month || !date) return iso || "—";
  return new Date(Date.UTC(year, month - 1, date)).toLocaleDateString(locale === "en" ? "en-GB" : locale, {
    day: "numeric",
    month: "short",
    year: "numeric",
    timeZone: "UTC",
  });
}

/** The one line saying what a KPI answer judged and what its arrows compare with. */
export function spanText(span) {
  if (!span || !span.started) return "";
  return span.partial ? SPAN_TEXT.partial(span) : SPAN_TEXT.whole(span);
}

/** A number with at most `decimals` decimals; "—" for none. */
export function number(value, decimals = 0) {
  return localNumber(value, decimals);
}

/** A fact with its unit (pieces are shown bare). */
export function withUnit(value, unit, decimals = 0) {
  const text = number(value, decimals);
  if (value === null || value === undefined || !unit || unit === "pcs") return text;
  return unit === "%" ? `${text}%` : `${text} ${has(`unit.${unit}`) ? t(`unit.${unit}`, { n: value }) : unit}`;
}

export function percent(value) {
  return value === null || value === undefined ? "—" : `${Math.round(value)}%`;
}

/** The CSS class of a colour (or of no plan). */
export function colourClass(colour) {
  return colour ? `colour-${colour}` : "colour-none";
}

/** The current month as YYYY-MM in the browser's clock (the API's default is the company's). */
export function thisMonth() {
  const now = new Date();
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
}

/** YYYY-MM moved by `delta` months. */
export function shiftMonth(month, delta) {
  const [year, mon] = month.split("-").map(Number);
  const index = year * 12 + (mon - 1) + delta;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, "0")}`;
}

export function isMonth(text) {
  return /^\d{4}-(0[1-9]|1[0-2])$/.test(text || "");
}

/** A timestamp in the viewer's local time, compact. */
export function dateTime(iso) {
  return localDateTime(iso);
}

/** Seconds for people: "30 мин" / "30 min" (Intl's units). */
export function duration(seconds) {
  return localDuration(seconds);
}

// Numbers, periods, colours and arrows shown the same way on every page.

export const COLOUR_LABEL = { red: "below 50%", yellow: "50–79%", green: "80% and above" };
// The arrow points where the fact went (direction); its colour says whether that is good.
export const DIRECTION = {
  up: { arrow: "▲", label: "went up" },
  down: { arrow: "▼", label: "went down" },
  flat: { arrow: "=", label: "did not change" },
};
export const TREND = {
  better: { label: "better than the days compared" },
  worse: { label: "worse than the days compared" },
  same: { label: "same as the days compared" },
};
// What a table judged and compared with (the API's `span`), in one line.
export const SPAN_TEXT = {
  partial: (s) =>
    `Running period: ${day(s.first_day)}–${day(s.last_day)} judged against the plan for ${s.working_days} of ${s.working_days_total} working days; arrows compare with ${day(s.previous_first_day)}–${day(s.previous_last_day)}.`,
  whole: (s) => `Arrows compare with ${day(s.previous_first_day)}–${day(s.previous_last_day)}.`,
};
export const CHANNEL_LABEL = {
  call: "Call",
  email: "Letter",
  sms: "SMS",
  messenger: "Messenger",
  meeting: "Meeting",
  task: "Task",
  note: "Note",
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
  return new Date(Date.UTC(year, month - 1, date)).toLocaleDateString("en-GB", {
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
  if (value === null || value === undefined) return "—";
  const digits = Number.isInteger(value) ? 0 : Math.max(decimals, 1);
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** A fact with its unit (pieces are shown bare). */
export function withUnit(value, unit, decimals = 0) {
  const text = number(value, decimals);
  if (value === null || value === undefined || !unit || unit === "pcs") return text;
  return unit === "%" ? `${text}%` : `${text} ${unit}`;
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
  if (!iso) return "—";
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return iso;
  return when.toLocaleString("en-GB", {
    year: "numeric",
    month: "short",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** Seconds as m:ss or h:mm:ss. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const total = Math.round(seconds);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
}

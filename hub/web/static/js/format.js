// Numbers, periods, colours and arrows shown the same way on every page.

export const COLOUR_LABEL = { red: "below 50%", yellow: "50–79%", green: "80% and above" };
export const TREND = {
  better: { arrow: "▲", label: "better than last period" },
  worse: { arrow: "▼", label: "worse than last period" },
  same: { arrow: "=", label: "same as last period" },
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

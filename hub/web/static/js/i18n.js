// The page's words and formats: the server's catalogue (GET /i18n/{locale}.json, the same
// one the CLI and exports use) and the browser's Intl for plurals, numbers and dates.
// The user's choice of language is kept in this browser; without one the store's default.

const LOCALE_KEY = "touchhub.locale";

function chosen() {
  try {
    return localStorage.getItem(LOCALE_KEY) || "";
  } catch {
    return "";
  }
}

async function load(wanted) {
  try {
    const response = await fetch(`/i18n/${encodeURIComponent(wanted || "default")}.json`, {
      headers: { Accept: "application/json" },
      signal: AbortSignal.timeout(15000),
    });
    if (response.ok) return await response.json();
  } catch {
    /* the words fall back to their keys; the API call that follows reports the failure */
  }
  return { locale: "en", default: "en", locales: ["en", "ru"], messages: {} };
}

const catalogue = await load(chosen());
const messages = catalogue.messages || {};

/** The language the page speaks: "ru" or "en". */
export const locale = catalogue.locale;
/** The languages a user may switch to. */
export const locales = catalogue.locales;
document.documentElement.lang = locale;

const plurals = new Intl.PluralRules(locale);

/** Switch the language for this browser and redraw the page in it. */
export function setLocale(next) {
  try {
    localStorage.setItem(LOCALE_KEY, next);
  } catch {
    /* storage disabled: the choice lasts this page only */
  }
  location.reload();
}

export function has(key) {
  return Object.hasOwn(messages, key);
}

/** The message `key` with {name} placeholders filled; a plural message by `values.n`. */
export function t(key, values = {}) {
  let text = messages[key];
  if (text === undefined) text = key;
  if (typeof text === "object") text = text[plurals.select(Number(values.n) || 0)] || text.other;
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.hasOwn(values, name) ? (name === "n" ? number(values.n) : String(values[name])) : whole);
}

/** The name of a code (status, channel, indicator, ...) or `fallback` (else the code). */
export function label(prefix, code, fallback) {
  if (code === null || code === undefined || code === "") return "";
  const key = `${prefix}.${code}`;
  return has(key) ? t(key) : fallback ?? code;
}

/** A number in the page's language: 12 345,6 / 12,345.6; "—" for none. */
export function number(value, decimals = 0) {
  if (value === null || value === undefined) return "—";
  const digits = Number.isInteger(value) ? 0 : Math.max(decimals, 1);
  return new Intl.NumberFormat(locale, { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(value);
}

/** A timestamp in the viewer's local time, compact. */
export function dateTime(iso) {
  if (!iso) return "—";
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return iso;
  return new Intl.DateTimeFormat(locale, {
    year: "numeric", month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit",
  }).format(when);
}

/** "2026-12" as «декабрь 2026 г.» / "December 2026". */
export function monthName(key) {
  const found = /^(\d{4})-(\d{2})$/.exec(key || "");
  if (!found) return key || "";
  const text = new Intl.DateTimeFormat(locale, { month: "long", year: "numeric" })
    .format(new Date(Number(found[1]), Number(found[2]) - 1, 1));
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function unit(value, name) {
  return new Intl.NumberFormat(locale, { style: "unit", unit: name, unitDisplay: "short" }).format(value);
}

/** Seconds for people: "30 мин" / "30 min", "1 ч 5 мин", "45 с". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const total = Math.round(seconds);
  if (total < 60) return unit(total, "second");
  const minutes = Math.floor(total / 60);
  const hours = Math.floor(minutes / 60);
  const parts = [];
  if (hours) parts.push(unit(hours, "hour"));
  if (minutes % 60 || !hours) parts.push(unit(minutes % 60, "minute"));
  return parts.join(" ");
}

// Hash routes (#/page/arg?key=value) and the small widgets several pages share.

import { h, notice } from "./dom.js";
import { isMonth, shiftMonth } from "./format.js";
import { t } from "./i18n.js";

/** The current route: page name, path arguments and query parameters. */
export function currentRoute() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, search] = raw.split("?", 2);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] || "my", args: parts.slice(1), params: new URLSearchParams(search || "") };
}

/** The hash of a page: link("drill", {indicator: "x"}) → "#/drill?indicator=x". */
export function link(page, params = {}, ...args) {
  const path = [page, ...args.map((a) => encodeURIComponent(String(a)))].join("/");
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return `#/${path}${text ? `?${text}` : ""}`;
}

export function go(page, params = {}, ...args) {
  location.hash = link(page, params, ...args);
}

/** Month picker with previous/next buttons; calls onChange(YYYY-MM). */
export function periodPicker(month, onChange) {
  const input = h("input", {
    type: "month",
    class: "month-input",
    value: month,
    "aria-label": t("period.month"),
    required: true,
    onchange: () => {
      if (isMonth(input.value)) onChange(input.value);
    },
  });
  return h(
    "div",
    { class: "period-picker" },
    h("button", { type: "button", class: "icon-button", title: t("period.previous"), "aria-label": t("period.previous"), onclick: () => onChange(shiftMonth(month, -1)) }, "‹"),
    input,
    h("button", { type: "button", class: "icon-button", title: t("period.next"), "aria-label": t("period.next"), onclick: () => onChange(shiftMonth(month, 1)) }, "›"),
  );
}

const ERROR_TITLE = {
  0: t("error.title_0"),
  400: t("error.title_400"),
  401: t("error.title_401"),
  403: t("error.title_403"),
  404: t("error.title_404"),
  409: t("error.title_409"),
  422: t("error.title_422"),
};

/** The error box every failed call ends in: the API's message, and the field it names. */
export function errorBox(error, retry) {
  const status = error && error.status ? ` (HTTP ${error.status})` : "";
  const title = ERROR_TITLE[error && error.status] || t("error.title_other");
  const message = (error && error.message) || String(error);
  const field = error && error.field && !message.startsWith(`${error.field}:`) ? error.field : null;
  return notice(
    "error",
    h("strong", {}, title, status, ": "),
    h("span", { class: "error-message" }, message),
    field ? h("span", { class: "error-field" }, t("error.field", { field })) : null,
    retry ? h("button", { type: "button", class: "button small", onclick: retry }, t("error.retry")) : null,
  );
}

/** A page heading with optional tools on the right. */
export function heading(title, ...tools) {
  return h("div", { class: "page-head" }, h("h1", {}, title), h("div", { class: "page-tools" }, ...tools));
}

// Log in by pasting an API token; it is kept in this browser's localStorage only.

import { h, notice } from "./dom.js";
import { t } from "./i18n.js";

/** A head of the demo data (`touchhub serve` on an empty store loads it). */
export const DEMO_HEAD = "Анна Иванова";

export function loginPage({ message, onToken }) {
  const input = h("input", {
    type: "password",
    id: "token",
    name: "token",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    placeholder: "th_…",
  });
  const form = h("form", {
    class: "login-form",
    onsubmit: (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (token) onToken(token);
    },
  },
  h("label", { for: "token", class: "field-label" }, t("login.token")),
  input,
  h("button", { type: "submit", class: "button primary" }, t("login.submit")));
  return h(
    "section",
    { class: "login" },
    h("h1", {}, t("login.title")),
    message ? notice("error", message) : null,
    h("p", {}, t("login.paste")),
    h("pre", { class: "command" }, `touchhub token create --role head --employee '${DEMO_HEAD}'`),
    form,
    h("p", { class: "hint" }, t("login.kept")),
  );
}

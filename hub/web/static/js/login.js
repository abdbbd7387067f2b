// Log in by pasting an API token; it is kept in this browser's localStorage only.

import { h, notice } from "./dom.js";

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
  h("label", { for: "token", class: "field-label" }, "API token"),
  input,
  h("button", { type: "submit", class: "button primary" }, "Log in"));
  return h(
    "section",
    { class: "login" },
    h("h1", {}, "Log in to touchhub"),
    message ? notice("error", message) : null,
    h("p", {}, "Paste the token your administrator gave you. To make one:"),
    h("pre", { class: "command" }, "touchhub token create --role head --employee 'Helen Head'"),
    form,
    h("p", { class: "hint" }, "The token stays in this browser and is sent only to this server."),
  );
}

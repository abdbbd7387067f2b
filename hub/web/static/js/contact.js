// A contact's timeline: every touch across channels, newest first, with "load more".

import { api } from "./api.js";
import { append, h, notice, replace } from "./dom.js";
import { CHANNEL_ICON, CHANNEL_LABEL, dateTime, duration } from "./format.js";
import { label, t } from "./i18n.js";
import { errorBox, heading, link } from "./nav.js";

const PAGE_SIZE = 20;

function entry(item) {
  const time = item.talk_s ? duration(item.talk_s) : item.duration_s ? duration(item.duration_s) : "";
  const note = item.preview && item.preview !== item.subject ? item.preview : null;
  return h(
    "li",
    { class: `timeline-item channel-${item.channel}`, dataset: { id: item.id, channel: item.channel, status: item.status } },
    h("span", { class: "timeline-icon", "aria-hidden": "true" }, CHANNEL_ICON[item.channel] || "•"),
    h("div", { class: "timeline-body" },
      h("div", { class: "timeline-line" },
        h("strong", {}, CHANNEL_LABEL[item.channel] || item.channel),
        ` · ${label("direction", item.direction)} · ${label("status", item.status)}`,
        time ? h("span", { class: "timeline-duration" }, ` · ${time}`) : "",
        item.status === "planned" && item.due_at ? ` · ${t("contact.due", { when: dateTime(item.due_at) })}` : ""),
      item.subject ? h("div", { class: "timeline-about" }, item.subject) : null,
      note ? h("div", { class: "timeline-note" }, h("span", { class: "muted" }, `${t("contact.note")}: `), note) : null,
      item.result ? h("div", { class: "timeline-result" }, h("span", { class: "muted" }, `${t("contact.result")}: `), item.result) : null,
      h("time", { class: "timeline-time", datetime: item.occurred_at }, dateTime(item.occurred_at))),
  );
}

/** "← Back" to the page the user came from (the drill-down, usually), else My indicators. */
function backLink() {
  return h("a", {
    class: "back",
    href: link("my"),
    onclick: (event) => {
      if (history.length > 1) {
        event.preventDefault();
        history.back();
      }
    },
  }, t("app.back"));
}

export async function contactPage({ args }) {
  const id = args[0];
  if (!/^\d+$/.test(id || "")) return h("section", { class: "contact" }, backLink(), notice("error", t("contact.none")));
  const [contact, first] = await Promise.all([
    api(`/contacts/${id}`),
    api(`/contacts/${id}/timeline`, { params: { limit: PAGE_SIZE } }),
  ]);
  const list = h("ol", { class: "timeline" });
  const status = h("div", { class: "timeline-status" });
  let cursor = first.next_cursor;
  const more = h("button", {
    type: "button",
    class: "button load-more",
    onclick: async () => {
      more.disabled = true;
      more.textContent = t("app.loading");
      try {
        const page = await api(`/contacts/${id}/timeline`, { params: { limit: PAGE_SIZE, cursor } });
        append(list, page.items.map(entry));
        cursor = page.next_cursor;
        replace(status);
      } catch (error) {
        replace(status, errorBox(error));
      } finally {
        more.disabled = false;
        more.textContent = t("contact.more");
        more.hidden = !cursor;
      }
    },
  }, t("contact.more"));
  more.hidden = !cursor;
  append(list, first.items.map(entry));
  const identities = (contact.identities || []).map((i) =>
    h("li", {}, h("span", { class: "muted" }, `${label("identity", i.kind)}: `), i.value));
  const merged = contact.merged_from;
  return h(
    "section",
    { class: "contact", dataset: { contact: contact.id } },
    backLink(),
    heading(contact.name),
    merged
      ? notice("info", h("span", { class: "merged-from", dataset: { from: merged.id } },
          t("contact.merged", { id: merged.id, name: merged.name, into: contact.name, into_id: contact.id })))
      : null,
    h("p", { class: "contact-facts" },
      [contact.organization, contact.position, contact.city, contact.is_lead ? t("contact.lead") : null].filter(Boolean).join(" · ") || t("contact.no_details")),
    identities.length ? h("ul", { class: "identities" }, identities) : null,
    h("h2", { class: "section-title" }, t("contact.timeline")),
    first.items.length ? list : notice("empty", t("contact.empty")),
    status,
    more,
  );
}

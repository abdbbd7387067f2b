// A contact's timeline: every touch across channels, newest first, with "load more".

import { api } from "./api.js";
import { append, h, notice, replace } from "./dom.js";
import { CHANNEL_ICON, CHANNEL_LABEL, dateTime, duration } from "./format.js";
import { errorBox, heading } from "./nav.js";

const PAGE_SIZE = 20;

function entry(item) {
  const about = item.subject || item.preview || item.result || "";
  const time = item.talk_s ? duration(item.talk_s) : item.duration_s ? duration(item.duration_s) : "";
  return h(
    "li",
    { class: `timeline-item channel-${item.channel}`, dataset: { id: item.id, channel: item.channel } },
    h("span", { class: "timeline-icon", "aria-hidden": "true" }, CHANNEL_ICON[item.channel] || "•"),
    h("div", { class: "timeline-body" },
      h("div", { class: "timeline-line" },
        h("strong", {}, CHANNEL_LABEL[item.channel] || item.channel),
        ` · ${item.direction === "in" ? "incoming" : "outgoing"} · ${item.status}`,
        time ? ` · ${time}` : ""),
      about ? h("div", { class: "timeline-about" }, about) : null,
      h("time", { class: "timeline-time", datetime: item.occurred_at }, dateTime(item.occurred_at))),
  );
}

export async function contactPage({ args }) {
  const id = args[0];
  if (!/^\d+$/.test(id || "")) return notice("error", "No such contact.");
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
      more.textContent = "Loading…";
      try {
        const page = await api(`/contacts/${id}/timeline`, { params: { limit: PAGE_SIZE, cursor } });
        append(list, page.items.map(entry));
        cursor = page.next_cursor;
        replace(status);
      } catch (error) {
        replace(status, errorBox(error));
      } finally {
        more.disabled = false;
        more.textContent = "Load more";
        more.hidden = !cursor;
      }
    },
  }, "Load more");
  more.hidden = !cursor;
  append(list, first.items.map(entry));
  const identities = (contact.identities || []).map((i) => h("li", {}, h("span", { class: "muted" }, `${i.kind}: `), i.value));
  return h(
    "section",
    { class: "contact", dataset: { contact: contact.id } },
    heading(contact.name),
    h("p", { class: "contact-facts" },
      [contact.organization, contact.position, contact.city, contact.is_lead ? "lead" : null].filter(Boolean).join(" · ") || "No details yet."),
    identities.length ? h("ul", { class: "identities" }, identities) : null,
    h("h2", { class: "section-title" }, "Timeline"),
    first.items.length ? list : notice("empty", "No touches with this contact that you may see."),
    status,
    more,
  );
}

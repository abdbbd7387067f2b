// Dialogs: clients' messenger chats with unread counts, one chat's thread, and a reply box.
// #/dialogs lists them; #/dialogs/ID opens one beside the list (alone on a phone).

import { api } from "./api.js";
import { append, h, notice, replace } from "./dom.js";
import { dateTime } from "./format.js";
import { errorBox, heading, link } from "./nav.js";
import { label, t } from "./i18n.js";

/** Every string the page shows, in one place for translation. */
export const TEXT = {
  title: t("dialogs.title"),
  mine: t("dialogs.mine"),
  unanswered: t("dialogs.unanswered"),
  anyMessenger: t("dialogs.any_messenger"),
  messengers: { telegram: t("messenger.telegram"), whatsapp: t("messenger.whatsapp"), vk: t("messenger.vk"), viber: t("messenger.viber") },
  none: t("dialogs.none"),
  pick: t("dialogs.pick"),
  back: t("dialogs.back"),
  unreadLabel: (n) => t("dialogs.unread", { n }),
  waiting: t("dialogs.waiting"),
  owner: (name) => t("dialogs.owner", { name }),
  noOwner: t("dialogs.no_owner"),
  timeline: t("dialogs.timeline"),
  older: t("dialogs.older"),
  loading: t("app.loading"),
  empty: t("dialogs.empty"),
  replyLabel: t("dialogs.reply_label"),
  replyPlaceholder: t("dialogs.reply_placeholder"),
  send: t("dialogs.send"),
  sending: t("dialogs.sending"),
  sent: t("dialogs.sent"),
  you: t("dialogs.you"),
  them: t("dialogs.them"),
  moreDialogs: t("dialogs.more"),
};

const PAGE_SIZE = 30;
const THREAD_SIZE = 30;
const PLATFORMS = ["telegram", "whatsapp", "vk", "viber"];

function filtersOf(params) {
  return {
    mine: params.get("mine") === "1",
    unanswered: params.get("unanswered") === "1",
    channel: PLATFORMS.includes(params.get("channel")) ? params.get("channel") : "",
  };
}

function hashParams(filters) {
  return { mine: filters.mine ? 1 : "", unanswered: filters.unanswered ? 1 : "", channel: filters.channel };
}

function apiParams(filters, extra = {}) {
  return { mine: filters.mine ? "true" : "", unanswered: filters.unanswered ? "true" : "", channel: filters.channel, ...extra };
}

function who(dialog) {
  return dialog.contact_name || dialog.counterpart;
}

function toolbar(filters) {
  const go = (changes) => {
    location.hash = link("dialogs", hashParams({ ...filters, ...changes }));
  };
  const check = (key, label) =>
    h("label", { class: "check" },
      h("input", { type: "checkbox", checked: filters[key], dataset: { filter: key }, onchange: (e) => go({ [key]: e.target.checked }) }),
      ` ${label}`);
  return h(
    "div",
    { class: "dialog-filters" },
    check("mine", TEXT.mine),
    check("unanswered", TEXT.unanswered),
    h("select", { "aria-label": TEXT.anyMessenger, dataset: { filter: "channel" }, onchange: (e) => go({ channel: e.target.value }) },
      h("option", { value: "" }, TEXT.anyMessenger),
      PLATFORMS.map((p) => h("option", { value: p, selected: filters.channel === p }, TEXT.messengers[p]))),
  );
}

function dialogItem(dialog, filters, openId) {
  const open = dialog.id === openId;
  return h(
    "li",
    {
      class: `dialog-item${open ? " open" : ""}${dialog.unread ? " has-unread" : ""}${dialog.unanswered ? " waiting" : ""}`,
      dataset: { dialog: dialog.id },
      title: dialog.unanswered ? TEXT.waiting : null,
    },
    h("a", { href: link("dialogs", hashParams(filters), dialog.id), "aria-current": open ? "page" : null },
      h("span", { class: "dialog-who" }, who(dialog)),
      dialog.unread
        ? h("span", { class: "unread", title: TEXT.unreadLabel(dialog.unread), "aria-label": TEXT.unreadLabel(dialog.unread) }, String(dialog.unread))
        : null,
      h("span", { class: "dialog-where muted small" }, `${TEXT.messengers[dialog.platform] || dialog.platform} · ${dialog.account}`),
      h("span", { class: "dialog-last" }, `${dialog.last_direction === "out" ? "→ " : ""}${dialog.last_preview || ""}`),
      h("time", { class: "dialog-time muted small", datetime: dialog.last_at }, dateTime(dialog.last_at))),
  );
}

function dialogList(first, filters, openId) {
  const list = h("ul", { class: "dialog-list" }, first.items.map((d) => dialogItem(d, filters, openId)));
  const status = h("div");
  let cursor = first.next_cursor;
  const more = h("button", {
    type: "button",
    class: "button small load-more",
    hidden: !cursor,
    onclick: async () => {
      more.disabled = true;
      try {
        const page = await api("/dialogs", { params: apiParams(filters, { limit: PAGE_SIZE, cursor }) });
        append(list, page.items.map((d) => dialogItem(d, filters, openId)));
        cursor = page.next_cursor;
        replace(status);
      } catch (error) {
        replace(status, errorBox(error));
      } finally {
        more.disabled = false;
        more.hidden = !cursor;
      }
    },
  }, TEXT.moreDialogs);
  return h("div", { class: "dialog-list-pane" },
    first.items.length ? list : notice("empty", TEXT.none), status, more);
}

function bubble(message) {
  const out = message.direction === "out";
  return h(
    "li",
    { class: `bubble ${out ? "out" : "in"}`, dataset: { id: message.id, direction: message.direction } },
    h("div", { class: "bubble-text" }, message.preview || message.subject || ""),
    h("div", { class: "bubble-meta muted small" },
      `${out ? TEXT.you : TEXT.them} · `,
      h("time", { datetime: message.occurred_at }, dateTime(message.occurred_at)),
      out ? ` · ${label("status", message.status)}` : ""),
  );
}

function replyBox(dialog, rerender) {
  const text = h("textarea", { id: "reply-text", name: "text", rows: 3, placeholder: TEXT.replyPlaceholder, required: true });
  const status = h("div", { class: "reply-status", "aria-live": "polite" });
  const send = h("button", { type: "submit", class: "button primary" }, TEXT.send);
  return h(
    "form",
    {
      class: "reply-form",
      onsubmit: async (event) => {
        event.preventDefault();
        send.disabled = true;
        send.textContent = TEXT.sending;
        replace(status);
        try {
          await api(`/dialogs/${dialog.id}/messages`, { method: "POST", body: { text: text.value } });
          text.value = "";
          replace(status, notice("ok", TEXT.sent));
          rerender();
        } catch (error) {
          replace(status, errorBox(error));
        } finally {
          send.disabled = false;
          send.textContent = TEXT.send;
        }
      },
    },
    h("label", { for: "reply-text", class: "visually-hidden" }, TEXT.replyLabel),
    text,
    h("div", { class: "reply-actions" }, send),
    status,
  );
}

function threadPane(dialog, first, filters, rerender) {
  const list = h("ol", { class: "thread" });
  let cursor = first.next_cursor;
  const status = h("div");
  const older = h("button", {
    type: "button",
    class: "button small load-older",
    hidden: !cursor,
    onclick: async () => {
      older.disabled = true;
      try {
        const page = await api(`/dialogs/${dialog.id}`, { params: { limit: THREAD_SIZE, cursor } });
        list.prepend(...page.messages.slice().reverse().map(bubble));
        cursor = page.next_cursor;
        replace(status);
      } catch (error) {
        replace(status, errorBox(error));
      } finally {
        older.disabled = false;
        older.hidden = !cursor;
      }
    },
  }, TEXT.older);
  append(list, first.messages.slice().reverse().map(bubble));
  return h(
    "section",
    { class: "thread-pane", dataset: { dialog: dialog.id } },
    h("a", { class: "back thread-back", href: link("dialogs", hashParams(filters)) }, TEXT.back),
    h("header", { class: "thread-head" },
      h("h2", {}, who(dialog)),
      h("p", { class: "muted small" },
        `${TEXT.messengers[dialog.platform] || dialog.platform} · ${dialog.account} · `,
        dialog.owner_name ? TEXT.owner(dialog.owner_name) : TEXT.noOwner,
        dialog.unanswered ? h("span", { class: "waiting" }, ` · ${TEXT.waiting}`) : null),
      dialog.contact_id ? h("a", { class: "small", href: link("contact", {}, dialog.contact_id) }, TEXT.timeline) : null),
    older,
    status,
    first.messages.length ? list : notice("empty", TEXT.empty),
    replyBox(dialog, rerender),
  );
}

export async function dialogsPage({ args, params, rerender }) {
  const filters = filtersOf(params);
  const openId = /^\d+$/.test(args[0] || "") ? Number(args[0]) : null;
  const [first, thread] = await Promise.all([
    api("/dialogs", { params: apiParams(filters, { limit: PAGE_SIZE }) }),
    openId === null ? null : api(`/dialogs/${openId}`, { params: { limit: THREAD_SIZE } }),
  ]);
  let dialog = thread ? thread.dialog : null;
  if (dialog && dialog.unread > 0) {
    // opening a dialog reads it
    const read = await api(`/dialogs/${dialog.id}/read`, { method: "POST" });
    first.items = first.items.map((d) => (d.id === read.id ? read : d));
    dialog = read;
  }
  return h(
    "section",
    { class: `dialogs${dialog ? " has-open" : ""}` },
    heading(TEXT.title, toolbar(filters)),
    h("div", { class: "dialogs-layout" },
      dialogList(first, filters, openId),
      dialog ? threadPane(dialog, thread, filters, rerender) : h("div", { class: "thread-pane placeholder" }, notice("info", TEXT.pick))),
  );
}

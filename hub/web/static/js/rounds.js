// Call rounds [обзвоны]: an employee's own calls to make (script, click-to-call, result)
// and the progress of every round by employee (a head's group, a marketer's or admin's all).

import { api } from "./api.js";
import { h, notice, replace } from "./dom.js";
import { errorBox, heading, link } from "./nav.js";
import { dateTime, label, t } from "./i18n.js";

/** Every string the page shows, in one place for translation. */
export const TEXT = {
  title: t("rounds.title"),
  mine: t("rounds.mine"),
  progress: t("rounds.progress"),
  none: t("rounds.none"),
  noRounds: t("rounds.no_rounds"),
  due: (when) => t("rounds.due", { when }),
  attempts: (n) => t("rounds.attempts_made", { n }),
  script: t("rounds.script"),
  call: t("rounds.call"),
  calling: t("rounds.calling"),
  resultLabel: t("rounds.result_label"),
  resultPlaceholder: t("rounds.result_placeholder"),
  done: t("rounds.done"),
  notReached: t("rounds.not_reached"),
  saved: t("rounds.saved"),
  noNumber: t("rounds.no_number"),
  total: t("rounds.total_row"),
};
const COLUMNS = ["employee", "done", "open", "attempts", "not_reached", "total"];
// Roles with calls of their own to make.
const CALLER_ROLES = ["admin", "head", "employee"];

function callCard(item, rerender) {
  const status = h("div", { class: "round-status", "aria-live": "polite" });
  const resultId = `round-result-${item.id}`;
  const result = h("textarea", { id: resultId, rows: 2, placeholder: TEXT.resultPlaceholder, maxlength: 2000 });
  const busy = (on) => {
    for (const button of card.querySelectorAll("button")) button.disabled = on;
  };
  const close = async (state) => {
    if (!result.value.trim()) {
      result.focus();
      return;
    }
    busy(true);
    replace(status);
    try {
      await api(`/call-rounds/items/${item.id}/close`, { method: "POST", body: { state, result: result.value } });
      replace(status, notice("ok", TEXT.saved));
      rerender();
    } catch (error) {
      replace(status, errorBox(error));
      busy(false);
    }
  };
  const dial = async () => {
    busy(true);
    replace(status);
    try {
      // by number: a call given to an employee does not widen who may read the contact
      await api("/calls", { method: "POST", body: { employee: item.extension, number: item.number } });
      replace(status, notice("info", TEXT.calling));
    } catch (error) {
      replace(status, errorBox(error));
    } finally {
      busy(false);
    }
  };
  const overdue = new Date(item.due_at) < new Date();
  const card = h(
    "li",
    { class: `round-call${overdue ? " overdue" : ""}`, dataset: { item: item.id, contact: item.contact_id } },
    h("header", { class: "round-call-head" },
      h("a", { class: "round-who", href: link("contact", {}, item.contact_id) }, item.contact_name || item.number),
      h("span", { class: "round-number" }, item.number || TEXT.noNumber),
      h("button", { type: "button", class: "button primary call-button", disabled: !item.extension || !item.number, onclick: dial }, TEXT.call)),
    h("p", { class: "muted small" },
      `${item.campaign_name} · `,
      h("time", { datetime: item.due_at }, TEXT.due(dateTime(item.due_at))),
      item.attempts ? ` · ${TEXT.attempts(item.attempts)}` : ""),
    h("details", { class: "round-script", open: true },
      h("summary", {}, TEXT.script),
      h("p", { class: "script-text" }, item.script)),
    h("label", { for: resultId, class: "small" }, TEXT.resultLabel),
    result,
    h("div", { class: "round-actions" },
      h("button", { type: "button", class: "button", dataset: { close: "done" }, onclick: () => close("done") }, TEXT.done),
      h("button", { type: "button", class: "button", dataset: { close: "not_reached" }, onclick: () => close("not_reached") }, TEXT.notReached)),
    status,
  );
  return card;
}

function progressTable(round) {
  const rows = round.progress.map((p) => ({ ...p, employee: p.employee_name || `#${p.employee_id}` }));
  if (rows.length > 1) rows.push({ ...round.totals, employee: TEXT.total, isTotal: true });
  return h(
    "section",
    { class: "round-progress", dataset: { round: round.id } },
    h("h3", {}, `${round.name} `, h("span", { class: "muted small" }, label("round_campaign_state", round.state))),
    h("div", { class: "table-wrap" },
      h("table", { class: "data round-table" },
        h("thead", {}, h("tr", {}, COLUMNS.map((c) => h("th", { scope: "col", class: c === "employee" ? null : "num" }, t(`round_col.${c}`))))),
        h("tbody", {}, rows.map((r) =>
          h("tr", { class: r.isTotal ? "total" : null, dataset: { employee: r.employee_id ?? "" } },
            COLUMNS.map((c) => (c === "employee" ? h("th", { scope: "row" }, r.employee) : h("td", { class: "num", dataset: { col: c } }, String(r[c]))))))))),
  );
}

export async function roundsPage({ me, rerender }) {
  const ownCalls = CALLER_ROLES.includes(me.role) && me.employee_id !== null && me.employee_id !== undefined;
  const seesOthers = me.role !== "employee";
  const [mine, rounds] = await Promise.all([
    ownCalls ? api("/call-rounds/items", { params: { mine: "true", state: "open" } }) : null,
    seesOthers ? api("/call-rounds") : null,
  ]);
  return h(
    "section",
    { class: "rounds" },
    heading(TEXT.title),
    mine
      ? h("section", { class: "round-mine" },
        h("h2", {}, TEXT.mine),
        mine.items.length ? h("ul", { class: "round-calls" }, mine.items.map((i) => callCard(i, rerender))) : notice("empty", TEXT.none))
      : null,
    rounds
      ? h("section", { class: "round-overview" },
        h("h2", {}, TEXT.progress),
        rounds.items.length ? rounds.items.map(progressTable) : notice("empty", TEXT.noRounds))
      : null,
  );
}

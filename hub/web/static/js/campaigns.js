// Campaigns: the marketer's page. #/campaigns lists them with state and progress;
// #/campaigns/new builds one (segment rows with their live size and sample, a template
// previewed on a chosen contact, the schedule); #/campaigns/ID follows one live and shows
// its figures as numbers and bars. The segment's fields and operators are read from the
// API's own document (the language's JSON Schema), so the page offers exactly the whitelist.

import { api } from "./api.js";
import { h, notice, replace } from "./dom.js";
import { dateTime, number } from "./format.js";
import { errorBox, go, heading, link } from "./nav.js";
import { label, t } from "./i18n.js";

/** Every string the page shows, in one place for translation. */
export const TEXT = {
  title: t("campaigns.title"),
  create: t("campaigns.create"),
  none: t("campaigns.none"),
  name: t("campaigns.name"),
  state: t("campaigns.state"),
  channel: t("campaigns.channel"),
  progress: t("campaigns.progress"),
  created: t("campaigns.created"),
  segment: t("campaigns.segment"),
  match: t("campaigns.match"),
  matchAll: t("campaigns.match_all"),
  matchAny: t("campaigns.match_any"),
  addRow: t("campaigns.add_row"),
  removeRow: t("campaigns.remove_row"),
  field: t("campaigns.field"),
  op: t("campaigns.op"),
  value: t("campaigns.value"),
  customKey: t("campaigns.custom_key"),
  yes: t("campaigns.yes"),
  no: t("campaigns.no"),
  listHint: t("campaigns.list_hint"),
  employee: t("campaigns.employee"),
  from: t("campaigns.from"),
  to: t("campaigns.to"),
  size: (n) => t("campaigns.size", { n }),
  sample: t("campaigns.sample"),
  counting: t("campaigns.counting"),
  template: t("campaigns.template"),
  templateName: t("campaigns.template_name"),
  subject: t("campaigns.subject"),
  html: t("campaigns.html"),
  smsText: t("campaigns.sms_text"),
  previewOn: t("campaigns.preview_on"),
  previewNone: t("campaigns.preview_none"),
  previewOk: t("campaigns.preview_ok"),
  problem: (part, line) => (line ? t("campaigns.problem_line", { part, line }) : t("campaigns.problem", { part })),
  parts: { subject: t("campaigns.part_subject"), html: t("campaigns.part_html"), text: t("campaigns.part_text") },
  smsParts: (encoding, n, left) => t("campaigns.sms_parts", { encoding, n, left }),
  schedule: t("campaigns.schedule"),
  schedules: { now: t("campaigns.schedule_now"), at: t("campaigns.schedule_at"), local_hour: t("campaigns.schedule_local_hour") },
  sendAt: t("campaigns.send_at"),
  localHour: t("campaigns.local_hour"),
  sender: t("campaigns.sender"),
  throttle: t("campaigns.throttle"),
  save: t("campaigns.save"),
  saveStart: t("campaigns.save_start"),
  saving: t("campaigns.saving"),
  actions: { start: t("campaigns.start"), pause: t("campaigns.pause"), resume: t("campaigns.resume"), cancel: t("campaigns.cancel") },
  figures: t("campaigns.figures"),
  chart: t("campaigns.chart"),
  back: t("campaigns.back"),
  live: t("campaigns.live"),
  of: (done, total) => t("campaigns.of", { done, total }),
};

// Figures in the order the marketer reads them; the chart draws the outcomes.
const FIGURES = ["total", "sent", "delivered", "bounced", "failed", "unsubscribed", "replied", "pending", "deferred", "unknown", "skipped"];
const CHARTED = ["sent", "delivered", "replied", "bounced", "failed", "unsubscribed", "skipped", "unknown"];
const OPEN = ["pending", "deferred", "sending"];
const POLL_MS = 1000;
const PREVIEW_DELAY_MS = 350;

let grammarCache = null;

/** The whitelist from the API's document: [{field|pattern, ops: [{op, value}]}]. */
async function grammar() {
  if (grammarCache) return grammarCache;
  const response = await fetch("/api/v1/openapi.json", { headers: { Accept: "application/json" } });
  const doc = await response.json();
  const fields = new Map();
  for (const branch of doc.components.schemas.SegmentCondition.anyOf) {
    const props = branch.properties;
    const names = props.field.enum || ["custom."];
    for (const name of names) {
      if (!fields.has(name)) fields.set(name, []);
      for (const op of props.op.enum) fields.get(name).push({ op, value: props.value });
    }
  }
  grammarCache = fields;
  return fields;
}

function fieldName(name) {
  if (name === "custom.") return t("segment_field.custom");
  return label("segment_field", name);
}

function kindOf(schema) {
  if (schema.anyOf) return "moment";
  if (schema.type === "array") return schema.items.type === "integer" ? "ids" : "texts";
  return schema.type; // string, integer, boolean, object (touched_by)
}

function isoDay(value) {
  return /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : null;
}

/** One condition row: field, operator and a value input fitting the operator. */
function conditionRow(fields, onChange, onRemove, initial = {}) {
  const row = h("div", { class: "seg-row" });
  const fieldSelect = h("select", { class: "seg-field", "aria-label": TEXT.field },
    [...fields.keys()].map((name) => h("option", { value: name, selected: name === initial.field }, fieldName(name))));
  const key = h("input", { class: "seg-key", type: "text", "aria-label": TEXT.customKey, placeholder: TEXT.customKey, hidden: true, oninput: onChange });
  const opSelect = h("select", { class: "seg-op", "aria-label": TEXT.op });
  const valueBox = h("span", { class: "seg-value" });
  let read = () => undefined;

  function drawValue() {
    const spec = fields.get(fieldSelect.value).find((o) => o.op === opSelect.value);
    const kind = kindOf(spec.value);
    const input = (attrs) => h("input", { class: "seg-input", "aria-label": TEXT.value, oninput: onChange, onchange: onChange, ...attrs });
    if (kind === "boolean") {
      const select = h("select", { class: "seg-input", "aria-label": TEXT.value, onchange: onChange },
        h("option", { value: "true" }, TEXT.yes), h("option", { value: "false" }, TEXT.no));
      replace(valueBox, select);
      read = () => select.value === "true";
    } else if (kind === "object") {
      const who = input({ type: "number", min: 1, placeholder: TEXT.employee, "aria-label": TEXT.employee });
      const from = input({ type: "date", "aria-label": TEXT.from });
      const to = input({ type: "date", "aria-label": TEXT.to });
      replace(valueBox, who, from, to);
      read = () => ({ employee: Number(who.value), from: isoDay(from.value), to: isoDay(to.value) });
    } else if (kind === "moment") {
      const day = input({ type: "date" });
      replace(valueBox, day);
      read = () => isoDay(day.value);
    } else if (kind === "integer") {
      const n = input({ type: "number", min: spec.value.minimum ?? 0, value: initial.value ?? "" });
      replace(valueBox, n);
      read = () => (n.value === "" ? null : Number(n.value));
    } else if (kind === "ids" || kind === "texts") {
      const list = input({ type: "text", placeholder: TEXT.listHint });
      replace(valueBox, list);
      read = () => {
        const items = list.value.split(",").map((s) => s.trim()).filter(Boolean);
        return kind === "ids" ? items.map(Number) : items;
      };
    } else {
      const text = input({ type: "text", value: initial.value ?? "" });
      replace(valueBox, text);
      read = () => text.value;
    }
  }

  function drawOps() {
    const ops = fields.get(fieldSelect.value);
    replace(opSelect, ops.map((o) => h("option", { value: o.op, selected: o.op === initial.op }, label("segment_op", o.op))));
    key.hidden = fieldSelect.value !== "custom.";
    drawValue();
  }

  fieldSelect.addEventListener("change", () => { initial = {}; drawOps(); onChange(); });
  opSelect.addEventListener("change", () => { drawValue(); onChange(); });
  drawOps();
  row.append(fieldSelect, key, opSelect, valueBox,
    h("button", { type: "button", class: "icon-button seg-remove", title: TEXT.removeRow, "aria-label": TEXT.removeRow, onclick: () => { row.remove(); onRemove(); } }, "×"));
  row.condition = () => {
    const field = fieldSelect.value === "custom." ? `custom.${key.value.trim()}` : fieldSelect.value;
    const value = read();
    return value === undefined ? { field, op: opSelect.value } : { field, op: opSelect.value, value };
  };
  return row;
}

/** The segment builder: rows joined by all/any, its live size and a sample to preview on. */
function segmentBuilder(fields, onSample) {
  const rows = h("div", { class: "seg-rows" });
  const match = h("select", { class: "seg-match", "aria-label": TEXT.match },
    h("option", { value: "all" }, TEXT.matchAll), h("option", { value: "any" }, TEXT.matchAny));
  const size = h("div", { class: "seg-size", "aria-live": "polite" });
  const sample = h("ul", { class: "seg-sample" });
  let timer = null;
  let asked = 0;

  const definition = () => ({ [match.value]: [...rows.children].map((row) => row.condition()) });
  async function count() {
    const mine = ++asked;
    size.dataset.state = "loading";
    replace(size, TEXT.counting);
    try {
      const found = await api("/segments/preview", { method: "POST", body: { definition: definition(), sample: 5 } });
      if (mine !== asked) return;
      replace(size, h("strong", { class: "seg-count", dataset: { size: found.size } }, TEXT.size(found.size)));
      replace(sample, found.sample.map((p) =>
        h("li", { dataset: { contact: p.id } }, p.name, p.city || p.organisation ? h("span", { class: "muted small" }, ` · ${[p.organisation, p.city].filter(Boolean).join(", ")}`) : null)));
      size.dataset.state = "ready";
      onSample(found.sample);
    } catch (error) {
      if (mine !== asked) return;
      replace(size, errorBox(error));
      replace(sample);
      size.dataset.state = "error";
    }
  }
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(count, PREVIEW_DELAY_MS);
  };
  const add = (initial) => rows.append(conditionRow(fields, changed, changed, initial));
  match.addEventListener("change", changed);
  add({ field: "city", op: "eq" });
  const view = h("section", { class: "panel seg-builder" },
    h("h2", {}, TEXT.segment),
    h("label", { class: "inline" }, `${TEXT.match} `, match),
    rows,
    h("button", { type: "button", class: "button small seg-add", onclick: () => { add(); changed(); } }, TEXT.addRow),
    size,
    h("div", { class: "muted small" }, TEXT.sample),
    sample);
  view.definition = definition;
  count();
  return view;
}

/** The template editor with its preview on a chosen contact (errors with their line). */
function templateEditor() {
  const channel = h("select", { id: "tpl-channel", "aria-label": TEXT.channel },
    ["email", "sms"].map((c) => h("option", { value: c }, label("channel", c))));
  const name = h("input", { id: "tpl-name", type: "text", required: true });
  const subject = h("input", { id: "tpl-subject", type: "text" });
  const html = h("textarea", { id: "tpl-html", rows: 6 });
  const text = h("textarea", { id: "tpl-text", rows: 4 });
  const contact = h("select", { id: "tpl-contact", "aria-label": TEXT.previewOn });
  const out = h("div", { class: "tpl-preview", "aria-live": "polite" });
  const emailParts = h("div", {}, field(TEXT.subject, subject, "tpl-subject"), field(TEXT.html, html, "tpl-html"));
  const smsParts = h("div", { hidden: true }, field(TEXT.smsText, text, "tpl-text"));
  let timer = null;
  let asked = 0;

  const parts = () => (channel.value === "sms" ? { text: text.value } : { subject: subject.value, html: html.value });
  async function preview() {
    const mine = ++asked;
    if (!contact.value) {
      replace(out, notice("empty", TEXT.previewNone));
      return;
    }
    out.dataset.state = "loading";
    try {
      const shown = await api("/templates/preview", { method: "POST", body: { channel: channel.value, contact_id: Number(contact.value), ...parts() } });
      if (mine !== asked) return;
      if (!shown.ok) {
        replace(out, h("ul", { class: "tpl-errors", role: "alert" }, shown.errors.map((e) =>
          h("li", { dataset: { part: e.part, line: e.line ?? "" } }, h("strong", {}, TEXT.problem(TEXT.parts[e.part] || e.part, e.line)), " ", e.message))));
      } else if (shown.sms) {
        replace(out, h("div", { class: "tpl-sms" }, h("p", { class: "tpl-rendered" }, shown.text),
          h("p", { class: "muted small tpl-sms-parts" }, TEXT.smsParts(label("sms_encoding", shown.sms.encoding), shown.sms.parts, shown.sms.left_in_last_part))));
      } else {
        const frame = h("iframe", { class: "tpl-frame", sandbox: "", title: TEXT.previewOk });
        frame.srcdoc = shown.html;
        replace(out, h("div", { class: "tpl-email" }, h("p", { class: "tpl-subject" }, h("strong", {}, `${TEXT.subject}: `), shown.subject), frame));
      }
      out.dataset.state = shown.ok ? "ok" : "problems";
    } catch (error) {
      if (mine !== asked) return;
      replace(out, errorBox(error));
      out.dataset.state = "error";
    }
  }
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(preview, PREVIEW_DELAY_MS);
  };
  for (const node of [subject, html, text]) node.addEventListener("input", changed);
  contact.addEventListener("change", changed);
  channel.addEventListener("change", () => {
    emailParts.hidden = channel.value === "sms";
    smsParts.hidden = channel.value !== "sms";
    changed();
  });
  const view = h("section", { class: "panel tpl-editor" },
    h("h2", {}, TEXT.template),
    h("div", { class: "form-row" }, field(TEXT.channel, channel, "tpl-channel"), field(TEXT.templateName, name, "tpl-name")),
    emailParts, smsParts,
    field(TEXT.previewOn, contact, "tpl-contact"),
    out);
  view.contacts = (people) => {
    const keep = contact.value;
    replace(contact, people.map((p) => h("option", { value: p.id, selected: String(p.id) === keep }, p.name)));
    changed();
  };
  view.body = () => ({ name: name.value, channel: channel.value, ...parts() });
  view.channel = () => channel.value;
  return view;
}

function field(title, input, id) {
  return h("label", { class: "field", for: id }, h("span", { class: "field-label" }, title), input);
}

/** The campaign's own settings: name, sender, schedule and throttle. */
function campaignForm() {
  const name = h("input", { id: "camp-name", type: "text", required: true });
  const sender = h("input", { id: "camp-sender", type: "text", required: true });
  const schedule = h("select", { id: "camp-schedule" },
    Object.entries(TEXT.schedules).map(([value, title]) => h("option", { value }, title)));
  const at = h("input", { id: "camp-at", type: "datetime-local" });
  const hour = h("input", { id: "camp-hour", type: "number", min: 0, max: 23, value: 10 });
  const throttle = h("input", { id: "camp-throttle", type: "number", min: 0, step: "any" });
  const atField = field(TEXT.sendAt, at, "camp-at");
  const hourField = field(TEXT.localHour, hour, "camp-hour");
  const sync = () => {
    atField.hidden = schedule.value !== "at";
    hourField.hidden = schedule.value !== "local_hour";
  };
  schedule.addEventListener("change", sync);
  sync();
  const view = h("section", { class: "panel camp-form" },
    h("h2", {}, TEXT.schedule),
    h("div", { class: "form-row" }, field(TEXT.name, name, "camp-name"), field(TEXT.sender, sender, "camp-sender")),
    h("div", { class: "form-row" }, field(TEXT.schedule, schedule, "camp-schedule"), atField, hourField, field(TEXT.throttle, throttle, "camp-throttle")));
  view.body = () => {
    const body = { name: name.value, sender: sender.value.trim(), schedule: schedule.value };
    if (schedule.value === "at" && at.value) body.send_at = new Date(at.value).toISOString().replace(/\.\d{3}Z$/, "Z");
    if (schedule.value === "local_hour") body.local_hour = Number(hour.value);
    if (throttle.value) body.throttle_per_s = Number(throttle.value);
    return body;
  };
  return view;
}

async function newCampaign() {
  const fields = await grammar();
  const editor = templateEditor();
  const builder = segmentBuilder(fields, (people) => editor.contacts(people));
  const form = campaignForm();
  const status = h("div", { class: "camp-status", "aria-live": "polite" });
  const submit = async (start) => {
    replace(status, notice("info", TEXT.saving));
    try {
      const template = await api("/templates", { method: "POST", body: editor.body() });
      const created = await api("/campaigns", {
        method: "POST",
        body: { ...form.body(), channel: editor.channel(), template_id: template.id, segment: builder.definition() },
      });
      if (start) await api(`/campaigns/${created.id}/start`, { method: "POST" });
      go("campaigns", {}, created.id);
    } catch (error) {
      replace(status, errorBox(error));
    }
  };
  return h("div", { class: "campaigns new-campaign" },
    heading(TEXT.create, h("a", { class: "button small", href: link("campaigns") }, TEXT.back)),
    h("div", { class: "builder-grid" }, builder, editor),
    form,
    h("div", { class: "form-actions" },
      h("button", { type: "button", class: "button", id: "camp-save", onclick: () => submit(false) }, TEXT.save),
      h("button", { type: "button", class: "button primary", id: "camp-save-start", onclick: () => submit(true) }, TEXT.saveStart)),
    status);
}

/** A bar's width in percent, set through the style object (the page's CSP allows no style attributes). */
function sized(node, percent) {
  node.style.width = `${percent}%`;
  return node;
}

function done(c) {
  return c.total - OPEN.reduce((sum, s) => sum + (c.counts[s] || 0), 0);
}

function progressBar(c) {
  const finished = done(c);
  const share = c.total ? Math.round((finished / c.total) * 100) : 0;
  return h("div", { class: "progress", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": c.total, "aria-valuenow": finished, "aria-label": TEXT.progress },
    sized(h("div", { class: "progress-fill" }), share),
    h("span", { class: "progress-text" }, TEXT.of(number(finished), number(c.total))));
}

function senderName(key) {
  return key.includes(":") ? key.slice(key.indexOf(":") + 1) : key;
}

async function listPage() {
  const list = await api("/campaigns");
  const rows = list.items.map((c) => h("tr", { dataset: { campaign: c.id, state: c.state } },
    h("td", {}, h("a", { href: link("campaigns", {}, c.id) }, c.name)),
    h("td", {}, label("channel", c.channel)),
    h("td", {}, h("span", { class: `badge state-${c.state}` }, label("campaign_state", c.state))),
    h("td", { class: "progress-cell" }, progressBar(c)),
    h("td", { class: "muted small" }, dateTime(c.created_at))));
  return h("div", { class: "campaigns" },
    heading(TEXT.title, h("a", { class: "button primary", id: "camp-new", href: link("campaigns", {}, "new") }, TEXT.create)),
    rows.length
      ? h("div", { class: "table-wrap" }, h("table", { class: "table campaign-table" },
        h("thead", {}, h("tr", {}, [TEXT.name, TEXT.channel, TEXT.state, TEXT.progress, TEXT.created].map((x) => h("th", {}, x)))),
        h("tbody", {}, rows)))
      : notice("empty", TEXT.none));
}

function chart(stats) {
  const top = Math.max(1, ...CHARTED.map((k) => stats[k]));
  return h("div", { class: "stat-chart", role: "img", "aria-label": TEXT.chart },
    CHARTED.map((k) => h("div", { class: "stat-bar", dataset: { figure: k } },
      h("span", { class: "stat-bar-label" }, label("campaign_stat", k)),
      h("span", { class: "stat-bar-track" }, sized(h("span", { class: `stat-bar-fill fill-${k}` }), (stats[k] / top) * 100)),
      h("span", { class: "stat-bar-value" }, number(stats[k])))));
}

function figures(stats) {
  return h("dl", { class: "stat-figures" },
    FIGURES.map((k) => h("div", { class: "stat", dataset: { figure: k, value: stats[k] } },
      h("dt", {}, label("campaign_stat", k)), h("dd", {}, number(stats[k])))));
}

const ACTIONS = { draft: ["start", "cancel"], running: ["pause", "cancel"], paused: ["resume", "cancel"] };

async function detailPage(id, rerender) {
  const [campaign, stats] = await Promise.all([api(`/campaigns/${id}`), api(`/campaigns/${id}/stats`)]);
  const body = h("div", { class: "campaign-body" });
  const status = h("div", { "aria-live": "polite" });
  const view = h("div", { class: "campaigns campaign-detail", dataset: { campaign: id } },
    heading(campaign.name, h("a", { class: "button small", href: link("campaigns") }, TEXT.back)), status, body);

  function draw(c, s) {
    view.dataset.state = c.state;
    const actions = (ACTIONS[c.state] || []).map((action) =>
      h("button", {
        type: "button",
        class: `button${action === "start" || action === "resume" ? " primary" : ""}`,
        dataset: { action },
        onclick: async () => {
          try {
            await api(`/campaigns/${id}/${action}`, { method: "POST" });
            replace(status);
            await refresh();
          } catch (error) {
            replace(status, errorBox(error));
          }
        },
      }, TEXT.actions[action]));
    replace(body,
      h("div", { class: "campaign-meta" },
        h("span", { class: `badge state-${c.state}`, id: "camp-state" }, label("campaign_state", c.state)),
        h("span", { class: "muted" }, `${label("channel", c.channel)} · ${senderName(c.sender)} · ${TEXT.schedules[c.schedule] || ""}`),
        OPEN.some((k) => c.counts[k]) && c.state === "running" ? h("span", { class: "live-dot" }, TEXT.live) : null),
      progressBar(c),
      h("div", { class: "form-actions" }, actions),
      h("h2", {}, TEXT.figures),
      figures(s),
      chart(s));
  }

  async function refresh() {
    const [c, s] = await Promise.all([api(`/campaigns/${id}`), api(`/campaigns/${id}/stats`)]);
    draw(c, s);
    return c;
  }

  draw(campaign, stats);
  const here = location.hash;
  const poll = async () => {
    if (location.hash !== here || !view.isConnected) return;
    try {
      const c = await refresh();
      if (["draft", "running", "paused"].includes(c.state) || OPEN.some((k) => c.counts[k])) setTimeout(poll, POLL_MS);
    } catch (error) {
      replace(status, errorBox(error, rerender));
    }
  };
  setTimeout(poll, POLL_MS);
  return view;
}

export async function campaignsPage({ args, rerender }) {
  if (args[0] === "new") return newCampaign();
  if (args[0]) return detailPage(Number(args[0]), rerender);
  return listPage();
}

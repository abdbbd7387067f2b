// Plan setting for heads and admins: employees, indicator, month, value or per-day norm.

import { ApiError, api } from "./api.js";
import { h, notice, replace } from "./dom.js";
import { colourClass, isMonth, percent, withUnit } from "./format.js";
import { errorBox, heading } from "./nav.js";
import { label, monthName, t } from "./i18n.js";

const PLAN_SO_FAR = (plan) => t("plans.so_far", { plan });

function field(label, control, hint) {
  return h("label", { class: "field" }, h("span", { class: "field-label" }, label), control, hint ? h("small", { class: "field-hint" }, hint) : null);
}

export async function plansPage({ me, params }) {
  if (!me.can_plan) return notice("error", t("plans.heads_only"));
  if (!me.plannable.length) return notice("empty", t("plans.nobody"));
  const catalogue = await api("/kpi/indicators");
  const byCode = new Map(catalogue.items.map((i) => [i.code, i]));
  const wanted = params.get("indicator");

  const people = me.plannable.map((p) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "employee", value: String(p.id), dataset: { name: p.name } }), ` ${p.name}`));
  const allBox = h("input", {
    type: "checkbox",
    class: "select-all",
    onchange: () => people.forEach((label) => { label.querySelector("input").checked = allBox.checked; }),
  });
  const employees = h("fieldset", { class: "field employees", dataset: { field: "employee" } },
    h("legend", { class: "field-label" }, t("plans.employees")),
    h("label", { class: "check all" }, allBox, t("plans.everyone")),
    h("div", { class: "checks" }, people));
  const indicator = h("select", { name: "indicator", dataset: { field: "indicator" } },
    catalogue.items.map((i) => h("option", { value: i.code, selected: i.code === wanted }, label("indicator", i.code, i.title))));
  const month = h("input", { type: "month", name: "month", dataset: { field: "month" }, value: isMonth(params.get("month")) ? params.get("month") : me.period });
  const value = h("input", { type: "number", name: "value", dataset: { field: "value" }, min: "0", step: "any", inputmode: "decimal", placeholder: t("plans.example") });
  const perDay = h("input", { type: "checkbox", name: "per_day", dataset: { field: "per_day" } });
  const perDayLabel = h("label", { class: "check per-day" }, perDay, t("plans.per_day"));
  const result = h("div", { class: "plan-result", "aria-live": "polite" });
  const current = h("div", { class: "current-plans" });
  const submit = h("button", { type: "submit", class: "button primary" }, t("plans.submit"));

  const syncPerDay = () => {
    const info = byCode.get(indicator.value);
    perDay.disabled = !(info && info.additive);
    if (perDay.disabled) perDay.checked = false;
  };

  // The month's plan as set; in a running month also the part of it judged so far.
  function planText(c) {
    const whole = c.period_plan ?? c.plan;
    if (whole === null) return "—";
    const text = withUnit(whole, c.unit, c.decimals);
    if (c.plan === null || c.plan === whole) return text;
    return `${text} (${PLAN_SO_FAR(withUnit(c.plan, c.unit, c.decimals))})`;
  }

  async function showCurrent() {
    if (!isMonth(month.value)) {
      replace(current);
      return;
    }
    try {
      const table = await api("/kpi", { params: { period: month.value, indicator: indicator.value } });
      const planned = new Set(me.plannable.map((p) => p.id));
      const rows = table.cells.filter((c) => planned.has(c.employee));
      replace(current,
        h("h2", { class: "section-title" }, `${label("indicator", indicator.value, byCode.get(indicator.value)?.title)} · ${monthName(table.period)}`),
        h("div", { class: "scroll" }, h("table", { class: "records plans-table" },
          h("thead", {}, h("tr", {}, ["employee", "plan", "fact", "done"].map((k) => h("th", { scope: "col" }, t(`plans.${k}`))))),
          h("tbody", {}, rows.map((c) => h("tr", { dataset: { employee: c.employee } },
            h("td", {}, c.employee_name),
            h("td", { class: "plan" }, planText(c)),
            h("td", {}, withUnit(c.fact, c.unit, c.decimals)),
            h("td", { class: colourClass(c.colour) }, percent(c.percent))))))));
    } catch (error) {
      replace(current, errorBox(error));
    }
  }

  function markInvalid(name) {
    for (const node of form.querySelectorAll("[data-field]")) {
      const bad = name !== null && (node.dataset.field === name || (name.startsWith("employee") && node.dataset.field === "employee"));
      node.classList.toggle("invalid", bad);
      if (bad) node.setAttribute("aria-invalid", "true");
      else node.removeAttribute("aria-invalid");
    }
  }

  const form = h("form", {
    class: "plan-form",
    novalidate: true,
    onsubmit: async (event) => {
      event.preventDefault();
      markInvalid(null);
      const chosen = people.map((l) => l.querySelector("input")).filter((i) => i.checked).map((i) => Number(i.value));
      if (!chosen.length) {
        markInvalid("employee");
        replace(result, errorBox(new ApiError(0, "invalid", t("plans.choose"), "employee")));
        return;
      }
      const body = {
        indicator: indicator.value,
        month: month.value,
        value: value.value === "" ? null : Number(value.value),
        employees: chosen,
        per_day: perDay.checked,
      };
      submit.disabled = true;
      replace(result, notice("info", t("plans.saving")));
      try {
        const answer = await api("/kpi/plans", { method: "POST", body });
        const names = new Map(me.plannable.map((p) => [p.id, p.name]));
        replace(result, notice("ok",
          h("strong", {}, t("plans.set_for", { n: answer.items.length })),
          answer.items.map((c) => `${names.get(c.employee) || c.employee} ${c.value}${c.per_day ? t("plans.per_day_short") : ""}${c.previous === null ? "" : t("plans.was", { value: c.previous })}`).join("; ")));
        await showCurrent();
      } catch (error) {
        markInvalid(error.field || null);
        replace(result, errorBox(error));
      } finally {
        submit.disabled = false;
      }
    },
  },
  employees,
  h("div", { class: "field-row" },
    field(t("plans.indicator"), indicator),
    field(t("plans.month"), month),
    field(t("plans.value"), value)),
  perDayLabel,
  h("div", { class: "form-actions" }, submit),
  result);

  indicator.addEventListener("change", () => { syncPerDay(); showCurrent(); });
  month.addEventListener("change", showCurrent);
  syncPerDay();
  await showCurrent();
  return h("section", { class: "plans" }, heading(t("plans.title")), form, current);
}

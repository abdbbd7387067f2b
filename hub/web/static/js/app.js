// The dashboard's entry point: session, navigation and rendering the page the hash names.

import { ApiError, api, clearToken, getToken, setToken } from "./api.js";
import { h, replace } from "./dom.js";
import { campaignsPage } from "./campaigns.js";
import { contactPage } from "./contact.js";
import { dialogsPage } from "./dialogs.js";
import { drillPage } from "./drill.js";
import { loginPage } from "./login.js";
import { monitorPage } from "./monitor.js";
import { myPage } from "./my.js";
import { currentRoute, errorBox, link } from "./nav.js";
import { plansPage } from "./plans.js";
import { roundsPage } from "./rounds.js";
import { label, locale, locales, setLocale, t } from "./i18n.js";

const PAGES = { my: myPage, monitor: monitorPage, drill: drillPage, contact: contactPage, plans: plansPage, dialogs: dialogsPage, campaigns: campaignsPage, rounds: roundsPage };
// Roles that work with messenger dialogs (as with activities: not marketers).
const DIALOG_ROLES = ["admin", "head", "employee"];
// Roles that run campaigns (the API's one rule: marketers and admins).
const CAMPAIGN_ROLES = ["admin", "marketer"];

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");
const logout = document.getElementById("logout");
const lang = document.getElementById("lang");

// The page's fixed words, and the language switch (remembered in this browser).
for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
for (const node of document.querySelectorAll("[data-i18n-label]")) node.setAttribute("aria-label", t(node.dataset.i18nLabel));
document.title = t("app.title");
replace(lang, locales.map((code) => h("option", { value: code, selected: code === locale }, code === "ru" ? "Русский" : "English")));
lang.addEventListener("change", () => setLocale(lang.value));

let me = null;
let renderCount = 0;

function setState(page, state) {
  main.dataset.page = page;
  main.dataset.state = state;
  main.setAttribute("aria-busy", state === "loading" ? "true" : "false");
}

function showNav(page) {
  const items = me.role === "marketer" ? [] : [["my", t("nav.my")]];
  if (me.can_monitor) items.push(["monitor", t("nav.monitor")]);
  if (me.can_plan) items.push(["plans", t("nav.plans")]);
  if (DIALOG_ROLES.includes(me.role)) items.push(["dialogs", t("nav.dialogs")]);
  if (CAMPAIGN_ROLES.includes(me.role)) items.push(["campaigns", t("nav.campaigns")]);
  items.push(["rounds", t("nav.rounds")]);
  replace(nav, items.map(([key, title]) =>
    h("a", { href: link(key), class: key === page ? "active" : null, "aria-current": key === page ? "page" : null, dataset: { nav: key } }, title)));
  replace(who, me.employee_name || me.name, h("span", { class: "role", dataset: { role: me.role } }, label("role", me.role)));
  logout.hidden = false;
}

function showLogin(message = "") {
  me = null;
  replace(nav);
  replace(who);
  logout.hidden = true;
  setState("login", "ready");
  replace(main, loginPage({
    message,
    onToken: (token) => {
      setToken(token);
      render();
    },
  }));
  main.querySelector("input")?.focus();
}

/** The caller: KPI readers from /kpi/me; a token without KPI that may run campaigns is a marketer's. */
async function whoAmI() {
  try {
    return await api("/kpi/me");
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 403) throw error;
    try {
      await api("/campaigns", { params: { state: "finished" } });
    } catch {
      throw error;
    }
    return { role: "marketer", name: "", employee_name: null, can_monitor: false, can_plan: false, can_close: false, plannable: [] };
  }
}

async function render() {
  const mine = ++renderCount;
  const route = currentRoute();
  if (!getToken()) {
    showLogin();
    return;
  }
  setState(route.page, "loading");
  try {
    if (!me) me = await whoAmI();
    if (mine !== renderCount) return;
    // A marketer has no KPI of their own: their first page is the campaigns.
    if (me.role === "marketer" && route.page === "my") route.page = "campaigns";
    setState(route.page, "loading");
    showNav(route.page);
    const page = PAGES[route.page];
    if (!page) throw new ApiError(404, "not_found", t("app.no_page", { page: route.page }));
    const view = await page({ me, args: route.args, params: route.params, rerender: render });
    if (mine !== renderCount) return;
    replace(main, view);
    setState(route.page, "ready");
  } catch (error) {
    if (mine !== renderCount) return;
    if (error instanceof ApiError && error.status === 401) {
      clearToken();
      showLogin(t("app.logged_out", { message: error.message }));
      return;
    }
    if (!me && error instanceof ApiError && error.status === 403) {
      // A token with no KPI (e.g. a marketer's): say why and offer another login.
      clearToken();
      showLogin(error.message || String(error));
      return;
    }
    replace(main, errorBox(error, render));
    setState(route.page, "error");
  }
}

logout.addEventListener("click", () => {
  clearToken();
  location.hash = "#/my";
  showLogin();
});
window.addEventListener("hashchange", render);
window.addEventListener("unhandledrejection", (event) => {
  replace(main, errorBox(event.reason || new Error(t("app.unexpected"))));
  setState(currentRoute().page, "error");
});
render();

// Talking to the REST API with the user's bearer token; every failure becomes an ApiError.

import { locale, t } from "./i18n.js";

const TOKEN_KEY = "touchhub.token";
const TIMEOUT_MS = 15000;

/** A failed call: HTTP status (0 when the server was not reached), code, message, field. */
export class ApiError extends Error {
  constructor(status, code, message, field = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

export function setToken(token) {
  localStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  try {
    localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage may be disabled; nothing to clear then */
  }
}

/** Query string from an object, leaving out null, undefined and "" values. */
export function query(params = {}) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** Call the API: GET by default, `body` sent as JSON. Resolves to the decoded answer. */
export async function api(path, { method = "GET", params = {}, body } = {}) {
  // Error messages come in the language the user reads the page in.
  const headers = { Accept: "application/json", "Accept-Language": locale };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, signal: AbortSignal.timeout(TIMEOUT_MS) };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api/v1${path}${query(params)}`, init);
  } catch (error) {
    const why = error && error.name === "TimeoutError" ? t("net.timeout") : t("net.failed");
    throw new ApiError(0, "network", t("net.unreachable", { why }));
  }
  let data = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const error = data && data.error ? data.error : {};
    throw new ApiError(
      response.status,
      error.code || "http_error",
      error.message || t("net.http", { status: response.status, text: response.statusText }),
      error.field || null,
    );
  }
  return data;
}
